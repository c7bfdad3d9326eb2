"""Gradient attributions through Captum, next to exact ablation (docs/method.md section 4).

Exact feature ablation (``_ablation.py``) scores column c of individual k by how much the
individual's reconstruction loss ``f_k(x) = sum_i w_ki (P(E(x))_i - t_ki)^2`` changes when
``x_kc`` is set to 0. The methods here attribute the same per-individual loss to the input
columns with Captum's own classes, so each gives an (individuals x columns) matrix of the
same meaning and sign convention (``f(x) - f(baseline)`` is split over the columns):

- ``integrated-gradients``: :class:`captum.attr.IntegratedGradients`, zero baseline; the
  attributions of an individual add up to ``f(x) - f(0)`` (completeness, up to the
  quadrature error of ``n_steps``).
- ``deeplift``: :class:`captum.attr.DeepLift` (rescale rule), zero baseline. Captum applies
  its rule to the network's LeakyReLU modules; the squared error on top is a plain tensor
  operation and is differentiated as it is, so the sum is close to, not exactly,
  ``f(x) - f(0)``.
- ``gradient-shap``: :class:`captum.attr.GradientShap` (expected gradients), baselines drawn
  around 0 from the caller's generator.

The result is an :class:`~gpatlas_core.tl.ImportanceResult` made by the same code as
ablation's (:func:`~gpatlas_core.tl._ablation.importance_result`), so the Manhattan plot,
locus tables, significance and VIDA take any method. :func:`attribution_agreement` compares
methods: seconds, Spearman correlation of allele importance with ablation's and, with
simulation truth, the causal-allele ROC AUC.
"""

from __future__ import annotations

import copy
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import torch
from torch import nn

from .._device import resolve_device
from ..config import Tier
from ..io import DataError, Dataset
from ._ablation import (
    ImportanceResult,
    Individuals,
    Target,
    _resolve_seed,
    compute_importance,
    importance_inputs,
    importance_result,
)
from ._ablation_kernel import AblationCancelled, _as_tensor, loss_weights

if TYPE_CHECKING:
    from ..io import Truth
    from ..run import Run

__all__ = [
    "ATTRIBUTION_METHODS",
    "METHODS",
    "METHOD_LABELS",
    "AttributionConfig",
    "LossForward",
    "attribution_agreement",
    "attribution_matrix",
    "check_method",
    "compute_attributions",
    "gradient_shap_baselines",
    "spearman_agreement",
]

Method = Literal["ablation", "integrated-gradients", "deeplift", "gradient-shap"]
METHODS: tuple[str, ...] = ("ablation", "integrated-gradients", "deeplift", "gradient-shap")
"""Every importance method, exact ablation first (the default)."""
ATTRIBUTION_METHODS: tuple[str, ...] = METHODS[1:]
"""The gradient attributions (Captum)."""
METHOD_LABELS: dict[str, str] = {
    "ablation": "Ablation (exact)",
    "integrated-gradients": "Integrated gradients",
    "deeplift": "DeepLIFT",
    "gradient-shap": "GradientSHAP",
}
_DESCRIPTIONS = {
    "integrated-gradients": "integrated gradients of the per-individual loss, zero baseline "
    "(Captum IntegratedGradients)",
    "deeplift": "DeepLIFT rescale rule on the per-individual loss, zero baseline (Captum DeepLift)",
    "gradient-shap": "expected gradients of the per-individual loss, baselines drawn around 0 "
    "(Captum GradientShap)",
}


def check_method(method: str) -> str:
    """``method`` if it names an importance method, else a :class:`DataError` listing them."""
    if method not in METHODS:
        raise DataError(f"unknown importance method {method!r}; choose one of {', '.join(METHODS)}")
    return method


@dataclass
class AttributionConfig:
    """Settings of the gradient attributions.

    Attributes
    ----------
    n_steps
        Integrated gradients: points along the path from the baseline (Gauss-Legendre).
    n_samples
        GradientSHAP: random points (baseline, position on the path) per individual.
    n_baselines, baseline_sd
        GradientSHAP: baselines drawn as ``baseline_sd * N(0, 1)`` per column, around the
        zero baseline of the other methods.
    batch_size
        Individuals per Captum call (None: as many as fit about 64 MB of inputs, at most 16).
    """

    n_steps: int = 50
    n_samples: int = 25
    n_baselines: int = 16
    baseline_sd: float = 0.1
    batch_size: int | None = None

    def check(self) -> AttributionConfig:
        for name in ("n_steps", "n_samples", "n_baselines"):
            if int(getattr(self, name)) < 1:
                raise DataError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.baseline_sd >= 0:
            raise DataError(f"baseline_sd must be 0 or more, got {self.baseline_sd}")
        if self.batch_size is not None and int(self.batch_size) < 1:
            raise DataError(f"batch_size must be at least 1, got {self.batch_size}")
        return self


class LossForward(nn.Module):
    """The per-individual loss that every importance method explains.

    ``forward(x, t, w)`` returns ``sum_i w_ki (P(E(x_k))_i - t_ki)^2``, shape (n,): with
    :func:`~gpatlas_core.tl._ablation_kernel.loss_weights` this is the individual's MSE over
    its observed traits (or over all traits), the function exact ablation differences.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, x: torch.Tensor, t: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        r = self.decoder(self.encoder(x)) - t
        return (r * r * w).sum(dim=1)


def _loss_module(
    encoder: nn.Module, decoder: nn.Module, device: torch.device, dtype: torch.dtype
) -> LossForward:
    """A private copy in eval mode: Captum's hooks (DeepLift) and a device or dtype change
    never touch the run's own networks, which other pages may be using."""
    net = LossForward(copy.deepcopy(encoder), copy.deepcopy(decoder)).to(device, dtype).eval()
    for param in net.parameters():
        param.requires_grad_(False)
    return net


def gradient_shap_baselines(
    p: int, *, n: int, sd: float, rng: np.random.Generator, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """GradientSHAP's baseline distribution: ``n`` rows of ``sd * N(0, 1)``, from ``rng``."""
    return torch.from_numpy(rng.standard_normal((n, p)) * sd).to(dtype)


_GLOBAL_RNG = threading.Lock()


@contextmanager
def _numpy_global_seeded(seed: int) -> Iterator[None]:
    """Captum 0.9's GradientShap draws its baseline indices and path positions from numpy's
    global generator (``np.random.choice``, ``np.random.uniform``). Seed it from the caller's
    generator for the call, one call at a time, and put its state back, so the result is
    decided by the generator passed in and other code's global stream is left as it was."""
    with _GLOBAL_RNG:
        saved = np.random.get_state()  # noqa: NPY002 (Captum's own draws, see above)
        np.random.set_state(np.random.RandomState(seed).get_state())  # noqa: NPY002
        try:
            yield
        finally:
            np.random.set_state(saved)  # noqa: NPY002


def _block_size(p: int, rows_per_individual: int, itemsize: int, budget: int = 64 << 20) -> int:
    return int(max(1, min(16, budget // max(1, p * rows_per_individual * itemsize))))


def attribution_matrix(
    encoder: nn.Module,
    decoder: nn.Module,
    x: torch.Tensor | np.ndarray,
    t: torch.Tensor | np.ndarray,
    *,
    method: str,
    mask: torch.Tensor | np.ndarray | None = None,
    config: AttributionConfig | None = None,
    rng: np.random.Generator | int | None = None,
    device: str | torch.device = "auto",
    dtype: torch.dtype = torch.float32,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Per-individual attributions of the reconstruction loss to the input columns (Captum).

    Parameters
    ----------
    encoder, decoder
        GQ (or Q) and P; copied, in eval mode, so the networks passed are not changed.
    x, t
        Inputs (n, p) and targets (n, m) on the model's scale.
    method
        ``integrated-gradients``, ``deeplift`` or ``gradient-shap``.
    mask
        (n, m) bool, True where a phenotype was observed (the loss runs over those); None =
        the plain MSE over all traits (``t`` must then be finite).
    config
        :class:`AttributionConfig` (None: the defaults).
    rng
        GradientSHAP's baselines and random draws: a ``numpy.random.Generator`` or int seed.
    device, dtype
        Where and in which precision the network runs.
    on_progress, should_stop
        ``on_progress(done, n)`` after each block of individuals; ``should_stop()`` polled
        between blocks (True raises :class:`~gpatlas_core.tl.AblationCancelled`).

    Returns
    -------
    numpy.ndarray
        (n, p) float32; zero-baseline methods give exactly 0 where ``x`` is 0.
    """
    if method not in ATTRIBUTION_METHODS:
        check_method(method)
        raise ValueError("exact ablation is tl.ablation_matrix; pass a gradient method here")
    from captum.attr import DeepLift, GradientShap, IntegratedGradients

    cfg = (config or AttributionConfig()).check()
    dev = resolve_device(device)
    xs = _as_tensor(x, dtype)
    if xs.ndim != 2:
        raise ValueError(f"x must be (n, p); got {tuple(xs.shape)}")
    if not torch.isfinite(xs).all():
        raise ValueError("x contains NaN or infinite values; fill missing inputs first")
    n, p = xs.shape
    t64 = _as_tensor(t, torch.float64)
    if t64.ndim != 2 or t64.shape[0] != n:
        raise ValueError(f"t must be ({n}, m); got {tuple(t64.shape)}")
    keep, w = loss_weights(t64, mask)
    t0 = torch.where(keep, torch.nan_to_num(t64), 0.0).to(dtype)  # w is 0 where not observed
    w = w.to(dtype)
    net = _loss_module(encoder, decoder, dev, dtype)

    rows = {"integrated-gradients": cfg.n_steps, "deeplift": 2, "gradient-shap": cfg.n_samples}
    itemsize = torch.empty((), dtype=dtype).element_size()
    block = int(cfg.batch_size or _block_size(p, rows[method], itemsize))
    if method == "integrated-gradients":
        algo = IntegratedGradients(net)
    elif method == "deeplift":
        algo = DeepLift(net)
    else:
        algo = GradientShap(net)
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        baselines = gradient_shap_baselines(
            p, n=cfg.n_baselines, sd=cfg.baseline_sd, rng=gen, dtype=dtype
        ).to(dev)
        global_seed = int(gen.integers(2**32))

    def attribute(xb: torch.Tensor, tb: torch.Tensor, wb: torch.Tensor) -> torch.Tensor:
        args = (tb, wb)
        if method == "integrated-gradients":
            return algo.attribute(
                xb,
                baselines=torch.zeros_like(xb),
                additional_forward_args=args,
                n_steps=cfg.n_steps,
                internal_batch_size=xb.shape[0] * cfg.n_steps,
            )
        if method == "deeplift":
            with warnings.catch_warnings():  # Captum says it sets (and removes) its hooks
                warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
                return algo.attribute(
                    xb, baselines=torch.zeros_like(xb), additional_forward_args=args
                )
        return algo.attribute(
            xb, baselines=baselines, n_samples=cfg.n_samples, stdevs=0.0,
            additional_forward_args=args,
        )  # fmt: skip

    out = np.zeros((n, p), dtype=np.float32)
    ctx = _numpy_global_seeded(global_seed) if method == "gradient-shap" else _no_context()
    with ctx:
        for b0 in range(0, n, block):
            if should_stop is not None and should_stop():
                raise AblationCancelled("attribution stopped")
            sl = slice(b0, min(n, b0 + block))
            xb = xs[sl].to(dev).requires_grad_()
            attr = attribute(xb, t0[sl].to(dev), w[sl].to(dev))
            out[sl] = attr.detach().to("cpu", torch.float32).numpy()
            if on_progress is not None:
                on_progress(sl.stop, n)
    return out


@contextmanager
def _no_context() -> Iterator[None]:
    yield


def spearman_agreement(result: ImportanceResult, reference: ImportanceResult) -> float:
    """Spearman correlation of two results' allele importance (NaN when either is constant).

    The two must score the same columns (same markers and alleles, in the same order).
    """
    from scipy.stats import spearmanr

    a, b = result.alleles, reference.alleles
    same = (
        len(a) == len(b)
        and (a["marker"].astype(str).to_numpy() == b["marker"].astype(str).to_numpy()).all()
    )
    if not same:
        raise DataError(
            f"the two importance results score different columns ({len(a):,} and {len(b):,}); "
            "compare results of the same run and tier"
        )
    x = a["importance"].to_numpy(dtype=np.float64)
    y = b["importance"].to_numpy(dtype=np.float64)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def attribution_agreement(
    results: dict[str, ImportanceResult],
    *,
    reference: ImportanceResult | None = None,
    truth: Truth | None = None,
) -> pd.DataFrame:
    """One row per method: ``method`` (label), ``seconds``, ``spearman_vs_ablation`` (of allele
    importance; NaN without a reference) and, with simulation truth, ``causal_auc`` (ROC AUC
    of allele importance, causal vs non-causal alleles)."""
    from ._causal import causal_allele_roc

    rows = []
    for name, res in results.items():
        rho = np.nan if reference is None else spearman_agreement(res, reference)
        row = {
            "method": METHOD_LABELS.get(name, name),
            "seconds": float(res.params.get("seconds", np.nan)),
            "spearman_vs_ablation": rho,
        }
        if truth is not None:
            row["causal_auc"] = causal_allele_roc(res.alleles, truth).auc
        rows.append(row)
    return pd.DataFrame(rows)


def compute_attributions(
    run: Run,
    dataset: Dataset,
    *,
    method: str,
    tier: Tier = "genotype",
    individuals: Individuals = "test",
    target: Target = "observed",
    config: AttributionConfig | None = None,
    n_bootstrap: int = 200,
    level: float = 0.95,
    rng: np.random.Generator | int | None = None,
    reference: ImportanceResult | None = None,
    device: str | torch.device = "auto",
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ImportanceResult:
    """Importance of a trained run on its test individuals (``individuals="all"``: every
    individual of its split, see :func:`~gpatlas_core.tl.compute_importance`) by ``method``.

    ``ablation`` is :func:`~gpatlas_core.tl.compute_importance`; the gradient methods are
    :func:`attribution_matrix` on the same inputs, targets and mask, turned into the same
    tables. ``rng`` (Generator or int seed; None draws one) seeds the bootstrap and
    GradientSHAP's draws; the seed is recorded in ``params["seed"]``. With ``reference`` (an
    ablation result of the same run and tier), ``params["spearman_vs_ablation"]`` records the
    Spearman correlation of the allele importance with it.
    """
    check_method(method)
    seed = _resolve_seed(rng)
    if method == "ablation":
        res = compute_importance(
            run, dataset, tier=tier, individuals=individuals, target=target,
            n_bootstrap=n_bootstrap, level=level, rng=seed, device=device,
            on_progress=on_progress, should_stop=should_stop,
        )  # fmt: skip
    else:
        cfg = (config or AttributionConfig()).check()
        inp = importance_inputs(run, dataset, tier=tier, individuals=individuals, target=target)
        dev = resolve_device(device)
        t0 = time.perf_counter()
        matrix = attribution_matrix(
            inp.encoder, run.p, inp.x, inp.t, method=method, mask=inp.mask, config=cfg,
            rng=np.random.default_rng([seed, 1]), device=dev, on_progress=on_progress,
            should_stop=should_stop,
        )  # fmt: skip
        seconds = time.perf_counter() - t0
        settings = {"n_steps": cfg.n_steps} if method == "integrated-gradients" else {}
        if method == "gradient-shap":
            settings = {k: v for k, v in asdict(cfg).items() if k != "n_steps"}
            settings.pop("batch_size")
        res = importance_result(
            matrix, run, dataset, inp, n_bootstrap=n_bootstrap, level=level, seed=seed,
            params={
                "attribution": method, "method": _DESCRIPTIONS[method], "settings": settings,
                "device": str(dev), "seconds": round(seconds, 3),
            },
        )  # fmt: skip
    if reference is not None and method != "ablation":
        res.params["spearman_vs_ablation"] = spearman_agreement(res, reference)
    return res
