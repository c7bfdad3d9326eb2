"""A trained G-P Atlas model with everything needed to reuse it: the :class:`Run` object and its
folder (``config.json``, ``split.csv``, ``losses.csv``, ``weights.safetensors``,
``predictions.csv``, ``metrics.json``, ``allele_columns.csv``; plus ``checkpoint.safetensors`` /
``checkpoint.json`` while a stopped run can still be resumed).

Loading reads only safetensors, JSON and CSV: nothing is unpickled.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from .config import GPAtlasConfig
from .io import DataError, Dataset
from .module import GroupedLinear, build_networks, encode_distribution, n_groups_in, n_pairs_in

LOSS_COLUMNS = [
    "tier",
    "epoch",
    "train_loss",
    "test_loss",
    "validation_loss",
    "reg_loss",
    "seconds",
]
_EVAL_CHUNK = 512


@dataclass
class Scaler:
    """Per-trait standardisation: model scale = (original - mean) / std."""

    mean: np.ndarray
    std: np.ndarray

    def transform(self, t: np.ndarray) -> np.ndarray:
        return ((t - self.mean) / self.std).astype(np.float32)

    def inverse(self, t: np.ndarray) -> np.ndarray:
        return (t * self.std + self.mean).astype(np.float32)


def library_versions() -> dict[str, str]:
    import safetensors
    import sklearn

    from . import __version__

    return {
        "gpatlas_core": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "safetensors": safetensors.__version__,
    }


def empty_networks(
    n_traits: int,
    n_allele_columns: int,
    config: GPAtlasConfig,
    device: torch.device | str = "cpu",
    *,
    n_pairs: int = 0,
    n_groups: int = 0,
) -> tuple[nn.Sequential, nn.Sequential, nn.Sequential]:
    """(Q, P, GQ) with uninitialised storage on ``device`` (built on the meta device, so nothing
    draws from torch's global generator); BatchNorm layers are reset to their defaults.
    ``n_pairs``: GQ's first layer has that many interaction pairs (:class:`PairLinear`);
    ``n_groups``: it is a :class:`GroupedLinear` with that many groups."""
    with torch.device("meta"):
        nets = build_networks(
            n_traits, n_allele_columns, config.model, n_pairs=n_pairs, n_groups=n_groups
        )
    out = []
    for net in nets:
        net = net.to_empty(device=device)
        for mod in net.modules():
            if isinstance(mod, nn.BatchNorm1d):
                mod.reset_parameters()
        out.append(net)
    return out[0], out[1], out[2]


@dataclass
class Run:
    """A trained (or stopped) model, its split, scaler, history and evaluation.

    ``q``, ``p``, ``gq`` are on the CPU in eval mode. ``fill`` is the model-scale value fed to
    the phenotype encoder for a missing phenotype (the training mean when masking, the scaled
    zero of the reference's zero-fill otherwise). ``checkpoint`` holds the optimiser and
    generator state of a stopped run, for ``train(..., resume=run)``. Variational runs
    (``config.train.variational``) also hold the log-variance heads ``q_logvar`` and
    ``gq_logvar`` (:func:`~gpatlas_core.module.logvar_head`) and, once evaluated,
    ``residual_sd``: the decoder's residual standard deviation per trait on the model scale
    (training individuals, observed cells), used by the prediction intervals.
    """

    config: GPAtlasConfig
    q: nn.Sequential
    p: nn.Sequential
    gq: nn.Sequential
    split: pd.DataFrame
    traits: list[str]
    allele_columns: pd.DataFrame
    fill: np.ndarray
    scaler: Scaler | None = None
    losses: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=LOSS_COLUMNS))
    metrics: dict = field(default_factory=dict)
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)
    dataset_fingerprint: str = ""
    dataset_name: str = ""
    dataset_source: str = ""
    status: str = "finished"
    info: dict = field(default_factory=dict)
    checkpoint: dict | None = field(default=None, repr=False)
    q_logvar: nn.Linear | None = None
    gq_logvar: nn.Linear | None = None
    residual_sd: np.ndarray | None = None

    @property
    def variational(self) -> bool:
        """Whether the run has a variational tier (log-variance heads)."""
        return self.gq_logvar is not None

    def networks(self) -> dict[str, nn.Module]:
        """Every network of the run by its name in ``weights.safetensors``."""
        nets: dict[str, nn.Module] = {"q": self.q, "p": self.p, "gq": self.gq}
        if self.q_logvar is not None:
            nets["q_logvar"] = self.q_logvar
        if self.gq_logvar is not None:
            nets["gq_logvar"] = self.gq_logvar
        return nets

    # ------------------------------------------------------------------ groups
    @property
    def grouped(self) -> bool:
        """Whether GQ's first layer is a grouped (BINN-style) :class:`GroupedLinear`."""
        return isinstance(self.gq[0], GroupedLinear)

    @property
    def group_names(self) -> list[str]:
        """Names of the first layer's groups (empty for a dense encoder)."""
        return [str(g) for g in self.info.get("groups", {}).get("names", [])]

    def marker_groups(self):
        """The grouped encoder's :class:`~gpatlas_core.io.MarkerGroups` (None when dense)."""
        from .io import MarkerGroups

        if not self.grouped:
            return None
        col_group = self.gq[0].col_group.cpu().numpy()
        locus = self.allele_columns["locus"].to_numpy()
        group = np.zeros(int(locus.max()) + 1 if len(locus) else 0, dtype=np.int64)
        group[locus] = col_group
        names = self.group_names or [f"group{i}" for i in range(self.gq[0].n_groups)]
        spec = str(self.info.get("groups", {}).get("spec", self.config.model.groups or ""))
        return MarkerGroups(names=names, group=group, spec=spec)

    # ------------------------------------------------------------------ inputs
    def _set_labels(self, dataset: Dataset) -> np.ndarray:
        """Each dataset row's set in the run's split (NaN: not in it)."""
        sets = self.split.set_index("sample")["set"]
        return sets.reindex(pd.Index(np.asarray(dataset.samples).astype(str))).to_numpy()

    def _rows_of(self, dataset: Dataset, which: str) -> np.ndarray:
        return np.flatnonzero(self._set_labels(dataset) == which)

    def test_rows(self, dataset: Dataset) -> np.ndarray:
        """Row indices (dataset order) of the run's test individuals."""
        return self._rows_of(dataset, "test")

    def split_rows(self, dataset: Dataset) -> np.ndarray:
        """Row indices (dataset order) of every individual in the run's split: training,
        validation and test."""
        return np.flatnonzero(pd.notna(self._set_labels(dataset)))

    def train_rows(self, dataset: Dataset) -> np.ndarray:
        """Row indices (dataset order) of the individuals the networks were fitted on."""
        return self._rows_of(dataset, "train")

    def check_dataset(self, dataset: Dataset) -> None:
        """Raise :class:`DataError` unless ``dataset`` has this run's traits and allele columns."""
        if list(dataset.traits) != list(self.traits):
            raise DataError(
                f"dataset {dataset.name!r} has traits {list(dataset.traits)[:5]}...; "
                f"this run was trained on {self.traits[:5]}..."
            )
        cols = dataset.allele_columns
        if (
            len(cols) != len(self.allele_columns)
            or not (
                cols["marker"].astype(str).to_numpy()
                == self.allele_columns["marker"].astype(str).to_numpy()
            ).all()
        ):
            raise DataError(
                f"dataset {dataset.name!r} has {len(cols)} allele columns; this run expects "
                f"{len(self.allele_columns)} with the same markers in the same order"
            )

    def scale(self, t: np.ndarray) -> np.ndarray:
        """Original -> model scale, missing cells filled with ``fill``."""
        t = np.asarray(t, dtype=np.float32)
        if self.scaler is not None:
            t = self.scaler.transform(t)
        return np.where(np.isnan(t), self.fill[None, :], t).astype(np.float32)

    def unscale(self, t: np.ndarray) -> np.ndarray:
        """Model -> original scale."""
        return self.scaler.inverse(t) if self.scaler is not None else np.asarray(t, np.float32)

    def model_inputs(
        self, dataset: Dataset, rows: np.ndarray | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(x, t, mask)`` for ``rows`` (default: all): one-hot genotypes (float32), phenotypes on
        the model's scale with missing cells filled, and the observed-cell mask (bool).

        ``x`` holds one float32 per individual and allele column; to predict many individuals
        use :meth:`predict_dataset`, which makes the one-hot rows block by block."""
        t, mask = self.phenotype_inputs(dataset, rows)
        x = torch.from_numpy(dataset.onehot(rows))
        return x, t, mask

    def phenotype_inputs(
        self, dataset: Dataset, rows: np.ndarray | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(t, mask)`` of :meth:`model_inputs`, without the genotypes."""
        self.check_dataset(dataset)
        ph = dataset.phenotypes if rows is None else dataset.phenotypes[rows]
        return torch.from_numpy(self.scale(ph)), torch.from_numpy(~np.isnan(ph))

    @torch.no_grad()
    def _over_dataset(self, nets: list[nn.Module], dataset: Dataset, rows, width: int):
        """``nets`` applied in turn to the one-hot genotypes of ``rows`` (default: all), made
        per block of ``_EVAL_CHUNK`` individuals (the blocks :meth:`_apply` uses, so the
        numbers are the same as from a whole one-hot matrix), never for all at once."""
        self.check_dataset(dataset)
        row_idx = np.arange(dataset.n_samples) if rows is None else np.asarray(rows)
        for net in nets:
            net.eval()
        outs = []
        for _pos, x in dataset.onehot_blocks(row_idx, block=_EVAL_CHUNK):
            out = torch.from_numpy(x)
            for net in nets:
                out = net(out)
            outs.append(out.numpy())
        if not outs:
            return np.zeros((0, width), dtype=np.float32)
        return np.concatenate(outs)

    def predict_dataset(self, dataset: Dataset, rows: np.ndarray | None = None) -> np.ndarray:
        """P(GQ(x)) on the original scale for ``rows`` (default: all) of ``dataset``, (n, m),
        the one-hot genotypes made block by block."""
        return self.unscale(self._over_dataset([self.gq, self.p], dataset, rows, len(self.traits)))

    @torch.no_grad()
    def latent_distribution_dataset(
        self, dataset: Dataset, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Variational runs: GQ's latent mean and log-variance (each (n, latent)) for ``rows``
        (default: all) of ``dataset``, the one-hot genotypes made block by block."""
        if self.gq_logvar is None:
            raise DataError("this run has no variational tier (train it with variational=True)")
        self.check_dataset(dataset)
        row_idx = np.arange(dataset.n_samples) if rows is None else np.asarray(rows)
        self.gq.eval()
        mus, lvs = [], []
        for _pos, x in dataset.onehot_blocks(row_idx, block=_EVAL_CHUNK):
            mu, lv = encode_distribution(self.gq, self.gq_logvar, torch.from_numpy(x))
            mus.append(mu.numpy())
            lvs.append(lv.numpy())
        if not mus:
            empty = np.zeros((0, self.config.model.latent), dtype=np.float32)
            return empty, empty.copy()
        return np.concatenate(mus), np.concatenate(lvs)

    def latent_dataset(self, dataset: Dataset, rows: np.ndarray | None = None) -> np.ndarray:
        """GQ(x): latent coordinates (n, latent) for ``rows`` (default: all) of ``dataset``,
        the one-hot genotypes made block by block."""
        return self._over_dataset([self.gq], dataset, rows, self.config.model.latent)

    # ------------------------------------------------------------ predictions
    @torch.no_grad()
    def _apply(self, net: nn.Sequential, x: torch.Tensor | np.ndarray) -> np.ndarray:
        x = torch.as_tensor(x, dtype=torch.float32)
        net.eval()
        outs = [net(x[i : i + _EVAL_CHUNK]) for i in range(0, x.shape[0], _EVAL_CHUNK)]
        if not outs:
            return np.zeros((0, net[-1].out_features if hasattr(net[-1], "out_features") else 0))
        return torch.cat(outs).numpy()

    def latent_from_genotypes(self, x: torch.Tensor | np.ndarray) -> np.ndarray:
        """GQ(x): latent coordinates (n, latent) from one-hot genotypes."""
        return self._apply(self.gq, x)

    def latent_from_phenotypes(self, t: torch.Tensor | np.ndarray) -> np.ndarray:
        """Q(t): latent coordinates from model-scale phenotypes (see :meth:`model_inputs`)."""
        return self._apply(self.q, t)

    def predict_from_genotypes(self, x: torch.Tensor | np.ndarray) -> np.ndarray:
        """P(GQ(x)) on the original phenotype scale, (n, m)."""
        return self.unscale(self._apply(self.p, self.latent_from_genotypes(x)))

    def predict_from_phenotypes(self, t: torch.Tensor | np.ndarray) -> np.ndarray:
        """P(Q(t)) on the original scale; ``t`` on the model scale (see :meth:`model_inputs`)."""
        return self.unscale(self._apply(self.p, self.latent_from_phenotypes(t)))

    def test_predictions(
        self, dataset: Dataset, trait: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
        """One trait on the test individuals: observed values, G-P Atlas's predictions, ridge's
        (None when the run has no ridge fit) and the sample ids; from :attr:`predictions` after
        :meth:`evaluate`, else predicted here."""
        pr = self.predictions
        if len(pr) and "genotype_to_phenotype" in pr:
            part = pr[(pr["set"] == "test") & (pr["trait"] == trait)]
            base = part["ridge"].to_numpy() if "ridge" in part else None
            return (
                part["observed"].to_numpy(),
                part["genotype_to_phenotype"].to_numpy(),
                base,
                part["sample"].to_numpy(),
            )
        rows = self.test_rows(dataset)
        j = list(dataset.traits).index(trait)
        pred = self.predict_dataset(dataset, rows)[:, j]
        return dataset.phenotypes[rows, j], pred, None, dataset.samples[rows]

    def test_intervals(self, trait: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Lower and upper ends of the 90% prediction intervals of one trait on the test
        individuals (the order of :meth:`test_predictions`), or None without intervals."""
        pr = self.predictions
        if not len(pr) or "lower_90" not in pr:
            return None
        part = pr[(pr["set"] == "test") & (pr["trait"] == trait)]
        return part["lower_90"].to_numpy(), part["upper_90"].to_numpy()

    # -------------------------------------------------------------- evaluation
    def evaluate(self, dataset: Dataset, *, baselines: bool = True, lasso_fit=None) -> dict:
        """Predict every sample with both tiers (and the linear baselines: ridge, LASSO and the
        known-QTL model), fill ``predictions`` and ``metrics`` (test individuals, observed
        cells), and return ``metrics``. ``lasso_fit`` reuses a LASSO fitted on this run's
        training individuals (the model's own marker screen)."""
        from .tl._baselines import lasso_baseline, qtl_linear_baseline, ridge_baseline
        from .tl._metrics import prediction_metrics

        t, _ = self.phenotype_inputs(dataset)
        preds = {
            "genotype_to_phenotype": self.predict_dataset(dataset),
            "phenotype_to_phenotype": self.predict_from_phenotypes(t),
        }
        params: dict = {}
        train, test = self.train_rows(dataset), self.test_rows(dataset)
        if baselines and train.size >= 3:
            ridge = ridge_baseline(dataset, train)
            preds["ridge"], params["ridge"] = ridge.predictions, ridge.params
            lasso = lasso_baseline(dataset, train, fit=lasso_fit)
            preds["lasso"], params["lasso"] = lasso.predictions, lasso.params
            qtl = qtl_linear_baseline(dataset, train)
            if qtl is not None:
                preds["qtl_linear"], params["qtl_linear"] = qtl.predictions, qtl.params
        obs = dataset.phenotypes
        samples = np.asarray(dataset.samples).astype(str)
        metrics: dict = {}
        for name, pred in preds.items():
            metrics[name] = prediction_metrics(
                obs[test], pred[test], traits=self.traits, samples=samples[test]
            )
            if name in params:
                metrics[name]["params"] = params[name]
        intervals = {}
        if self.variational:
            from .tl._intervals import interval_coverage, prediction_intervals, residual_sd

            if self.residual_sd is None:
                self.residual_sd = residual_sd(self, dataset)
            lower, upper = prediction_intervals(self, dataset, seed=self.config.train.seed)
            intervals = {"lower_90": lower, "upper_90": upper}
            metrics["genotype_to_phenotype"].update(
                interval_coverage(obs[test], lower[test], upper[test], traits=self.traits)
            )
        self.metrics = metrics
        sets = self.split.set_index("sample")["set"].reindex(samples).to_numpy()
        n, m = obs.shape
        self.predictions = pd.DataFrame(
            {
                "sample": np.repeat(samples, m),
                "set": np.repeat(sets, m),
                "trait": np.tile(np.asarray(self.traits, dtype=object), n),
                "observed": obs.reshape(-1),
                **{k: v.reshape(-1) for k, v in preds.items()},
                **{k: v.reshape(-1) for k, v in intervals.items()},
            }
        )
        return metrics

    # ------------------------------------------------------------------ saving
    def state_tensors(self) -> dict[str, torch.Tensor]:
        out = {}
        for name, net in self.networks().items():
            for k, v in net.state_dict().items():
                out[f"{name}.{k}"] = v.detach().cpu().contiguous()
        if self.residual_sd is not None:
            out["residual_sd"] = torch.from_numpy(
                np.ascontiguousarray(self.residual_sd, dtype=np.float32)
            )
        out["fill"] = torch.from_numpy(np.ascontiguousarray(self.fill, dtype=np.float32))
        if self.scaler is not None:
            out["scaler.mean"] = torch.from_numpy(self.scaler.mean.astype(np.float32))
            out["scaler.std"] = torch.from_numpy(self.scaler.std.astype(np.float32))
        return out

    def save(self, path: str | Path, *, weights: bool = True) -> Path:
        """Write the run folder (created if needed); returns its path."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        meta = {
            "config": self.config.to_dict(),
            "seed": self.config.train.seed,
            "status": self.status,
            "versions": library_versions(),
            "dataset": {
                "fingerprint": self.dataset_fingerprint,
                "name": self.dataset_name,
                "source": self.dataset_source,
            },
            "n_traits": len(self.traits),
            "n_allele_columns": len(self.allele_columns),
            "traits": list(self.traits),
            "allele_columns_file": "allele_columns.csv",
            "info": self.info,
        }
        (path / "config.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        self.allele_columns.to_csv(path / "allele_columns.csv", index=False)
        self.split.to_csv(path / "split.csv", index=False)
        self.losses.to_csv(path / "losses.csv", index=False)
        if weights:
            save_file(self.state_tensors(), str(path / "weights.safetensors"))
        if len(self.predictions):
            self.predictions.to_csv(path / "predictions.csv", index=False)
        if self.metrics:
            (path / "metrics.json").write_text(json.dumps(self.metrics, indent=1), "utf-8")
        ck_t, ck_j = path / "checkpoint.safetensors", path / "checkpoint.json"
        if self.checkpoint is not None:
            tensors = {
                k: v.detach().cpu().contiguous() for k, v in self.checkpoint["tensors"].items()
            }
            save_file(tensors, str(ck_t))
            ck_j.write_text(json.dumps(self.checkpoint["meta"], indent=1), encoding="utf-8")
        else:
            ck_t.unlink(missing_ok=True)
            ck_j.unlink(missing_ok=True)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Run:
        """Read a run folder written by :meth:`save` (safetensors, JSON and CSV only)."""
        path = Path(path)
        try:
            meta = json.loads((path / "config.json").read_text(encoding="utf-8"))
            tensors = load_file(str(path / "weights.safetensors"))
            split = pd.read_csv(path / "split.csv", dtype={"sample": str, "set": str})
            allele_columns = pd.read_csv(
                path / "allele_columns.csv", dtype={"marker": str, "allele": str}
            )
        except FileNotFoundError as err:
            raise DataError(
                f"{path} is not a run folder: missing {Path(err.filename).name}"
            ) from err
        except (ValueError, KeyError) as err:
            raise DataError(f"{path}: unreadable run folder ({err})") from err
        config = GPAtlasConfig.from_dict(meta["config"])
        q, p, gq = empty_networks(
            meta["n_traits"],
            meta["n_allele_columns"],
            config,
            n_pairs=n_pairs_in(tensors, "gq."),
            n_groups=n_groups_in(tensors, "gq.")[0],
        )
        heads = {}
        for name in ("q_logvar", "gq_logvar"):
            if f"{name}.weight" in tensors:
                w = tensors[f"{name}.weight"]
                with torch.device("meta"):  # no draw from torch's global generator
                    head = nn.Linear(int(w.shape[1]), int(w.shape[0]))
                heads[name] = head.to_empty(device="cpu")
        for name, net in (("q", q), ("p", p), ("gq", gq), *heads.items()):
            sd = {k[len(name) + 1 :]: v for k, v in tensors.items() if k.startswith(name + ".")}
            net.load_state_dict(sd)
            net.eval()
        scaler = None
        if "scaler.mean" in tensors:
            scaler = Scaler(tensors["scaler.mean"].numpy(), tensors["scaler.std"].numpy())
        losses = pd.read_csv(path / "losses.csv")
        predictions = pd.DataFrame()
        if (path / "predictions.csv").exists():
            predictions = pd.read_csv(
                path / "predictions.csv", dtype={"sample": str, "set": str, "trait": str}
            )
        metrics = {}
        if (path / "metrics.json").exists():
            metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
        checkpoint = None
        if (path / "checkpoint.json").exists():
            checkpoint = {
                "meta": json.loads((path / "checkpoint.json").read_text(encoding="utf-8")),
                "tensors": load_file(str(path / "checkpoint.safetensors")),
            }
        ds_meta = meta.get("dataset", {})
        return cls(
            config=config,
            q=q,
            p=p,
            gq=gq,
            split=split,
            traits=[str(t) for t in meta["traits"]],
            allele_columns=allele_columns,
            fill=tensors["fill"].numpy(),
            scaler=scaler,
            losses=losses,
            metrics=metrics,
            predictions=predictions,
            dataset_fingerprint=ds_meta.get("fingerprint", ""),
            dataset_name=ds_meta.get("name", ""),
            dataset_source=ds_meta.get("source", ""),
            status=meta.get("status", "finished"),
            info=meta.get("info", {}),
            checkpoint=checkpoint,
            q_logvar=heads.get("q_logvar"),
            gq_logvar=heads.get("gq_logvar"),
            residual_sd=tensors["residual_sd"].numpy() if "residual_sd" in tensors else None,
        )
