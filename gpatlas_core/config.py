"""Settings as dataclasses, with the named presets of the paper and the demo."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

Device = Literal["auto", "cpu", "cuda"]
PresetName = Literal["studio", "quick", "paper-simulated", "paper-yeast"]
GenotypeInit = Literal["random", "lasso"]
Tier = Literal["phenotype", "genotype"]
"""The two training tiers: ``phenotype`` (Q and P, the autoencoder) and ``genotype`` (GQ, trained
through the frozen P); also which encoder an ablation goes through."""


@dataclass
class ModelConfig:
    """Network sizes (docs/method.md section 2). ``None`` hidden size = no hidden layer."""

    latent: int = 32
    e_hidden: int | None = 32
    d_hidden: int = 32
    ge_hidden: int | None = 32
    bn_momentum: float = 0.8
    leaky_slope: float = 0.01
    groups: str | None = None
    """Knowledge-informed (BINN-style) genotype encoder: how markers are grouped (genes,
    pathways, windows), ``windows:<size>`` (e.g. ``windows:50kb``, from the marker map) or
    the path of a ``marker,group`` CSV. GQ's first layer is then block-sparse: each marker's
    allele columns feed only its group's ``group_units`` units, which the next dense layer
    mixes. None = the dense encoder of the paper."""
    group_units: int = 4
    """Units per group in the grouped first layer (with ``groups``)."""


@dataclass
class TrainConfig:
    """How both tiers are trained (docs/method.md section 2, reference defaults)."""

    epochs_phenotype: int = 250
    epochs_genotype: int = 250
    batch_size: int = 16
    lr: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    sd_noise: float = 0.8
    """Phenotype corruption: T + sqrt(sd_noise) * N(0, 1)."""
    gen_noise: float = 0.8
    """Reference genotype-noise parameter; each bit flips with prob. q(1-q), q=(1-gen_noise)/2."""
    flip_probability: float | None = None
    """Per-bit genotype flip probability; None = the reference mapping q(1-q) from gen_noise."""
    l1: float = 0.8
    l2: float = 0.01
    weight_decay: float = 0.0
    """Decoupled (AdamW) weight decay on the genotype encoder GQ in tier 2 (0 = the reference's
    plain Adam)."""
    test_fraction: float = 0.2
    validation_fraction: float = 0.0
    """Share of the training split held out for early stopping (0 = none, the reference)."""
    early_stopping_patience: int = 0
    """Epochs without validation improvement before stopping (0 = off)."""
    phenotype_patience: int | None = None
    """Tier 1's patience, if not ``early_stopping_patience`` (0 = tier 1 runs all its epochs;
    with a validation part its best epoch is still the one kept)."""
    mask_missing: bool = True
    """Mask missing phenotypes out of losses and metrics (False = reference zero-fill)."""
    standardize: bool = False
    """Per-trait standardisation for training; predictions and metrics stay on the original scale."""
    average_genotype_from: int | None = None
    """Tier 2: average the genotype encoder's weights over the ends of the epochs after this
    one (stochastic weight averaging), then re-estimate its BatchNorm statistics. None = off
    (the reference keeps the last epoch's weights)."""
    recalibrate_bn: bool = False
    """After each tier, re-estimate BatchNorm running statistics over the whole training set
    (False = the reference: running statistics from momentum 0.8, ~the last batch)."""
    genotype_init: GenotypeInit = "random"
    """How tier 2 starts. ``random``: the reference (a freshly initialised GQ, trained with
    genotype noise). ``lasso``: a sparse warm start: per-trait LASSO on the training
    individuals (penalty by 5-fold CV) gives a linear map from genotypes to every trait; GQ
    starts as the phenotype encoder Q applied to those predictions (its first layer is Q's
    first layer times the LASSO coefficients, the rest a copy of Q), so P(GQ(x)) starts at
    P(Q(LASSO(x))). Tier 2 then fine-tunes GQ through the frozen decoder with BatchNorm
    statistics held fixed, only on the markers some trait's LASSO selected, and keeps the
    epoch (0 = the warm start itself) with the lowest validation loss when there is a
    validation part. Needs ``ge_hidden == e_hidden``."""
    interaction_loci: int = 0
    """With ``genotype_init="lasso"``: per trait, the loci with the largest LASSO coefficients
    (at most this many) whose pairwise allele products enter a second LASSO on the additive
    fit's out-of-fold residuals; the products it selects become interaction terms of GQ's first
    layer (docs/method.md section 2). 0 = additive warm start only."""
    lasso_multitrait: float = 0.0
    """With ``genotype_init="lasso"``: > 0 refits the warm start's LASSO with per-marker
    penalty factors shared across traits (a marker's penalty divided by ``(1 + c)^gamma``,
    normalised to mean 1, where ``c`` counts the traits whose first LASSO selected it or a
    marker within ``lasso_multitrait_window`` markers of it), so markers that matter for other
    traits, or sit next to ones that do, enter more easily. This is ``gamma``; 0 = one LASSO
    per trait on its own. The LASSO baseline stays the plain per-trait LASSO."""
    lasso_multitrait_window: int = 5
    """Markers on each side (genome order) counted with a marker by ``lasso_multitrait``."""
    lasso_multitrait_weight: float = 1.0
    """With ``lasso_multitrait``: the warm start's LASSO is ``weight`` times the multi-trait
    refit plus ``1 - weight`` times the plain per-trait fit (coefficients, intercepts and
    out-of-fold predictions alike; both use the same CV folds). 1 = the refit alone; 0.5 keeps
    every marker the trait's own LASSO chose next to those the refit adds."""
    genotype_lr: float | None = None
    """Tier-2 learning rate (None = ``lr``)."""
    variational: bool = False
    """A variational phenotype tier (docs/method.md section 2, "Variational tier"): Q outputs a
    mean and a log-variance, tier 1 decodes a reparameterised draw and adds ``beta`` times the
    KL divergence to N(0, I); GQ gets a log-variance head fitted in tier 2 by
    KL(Q's distribution || GQ's), and evaluation adds 90% prediction intervals. Predictions
    use the means. False = the reference's deterministic autoencoder."""
    beta: float = 0.03
    """Variational runs: weight of tier 1's KL term against the squared error summed over an
    individual's traits (both divided by the number of traits, like the masked MSE)."""
    seed: int = 47
    device: Device = "auto"


@dataclass
class GPAtlasConfig:
    """Everything that defines a run."""

    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    preset: str = "custom"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> GPAtlasConfig:
        tr = dict(d.get("train", {}))
        if "betas" in tr:
            tr["betas"] = tuple(tr["betas"])
        known_m = {f.name for f in dataclasses.fields(ModelConfig)}
        known_t = {f.name for f in dataclasses.fields(TrainConfig)}
        return cls(
            model=ModelConfig(**{k: v for k, v in d.get("model", {}).items() if k in known_m}),
            train=TrainConfig(**{k: v for k, v in tr.items() if k in known_t}),
            preset=d.get("preset", "custom"),
        )


_STUDIO_MODEL = ModelConfig(latent=64, e_hidden=128, d_hidden=128, ge_hidden=128, bn_momentum=0.05)
_STUDIO_TRAIN = TrainConfig(
    epochs_phenotype=100,
    epochs_genotype=10,
    sd_noise=0.1,
    flip_probability=0.0,
    l1=0.0,
    l2=0.0,
    standardize=True,
    recalibrate_bn=True,
    genotype_init="lasso",
    interaction_loci=40,
    lasso_multitrait=0.5,
    lasso_multitrait_weight=0.5,
    genotype_lr=3e-5,
    validation_fraction=0.1,
    early_stopping_patience=3,
    phenotype_patience=0,
)
"""The ``studio`` settings: the paper's two tiers (frozen decoder), tier 2 warm-started from a
per-trait LASSO blended with its multi-trait refit and fine-tuned (bench/RESULTS.md,
"Accuracy")."""


def preset(name: PresetName, **train_overrides) -> GPAtlasConfig:
    """A named preset; keyword arguments override TrainConfig fields.

    - ``paper-simulated``: docs/method.md section 2, simulated column.
    - ``paper-yeast``: yeast column (e/d hidden 64, ge_hidden 2048).
    - ``studio`` (the default in the app and the CLI): the same two tiers with a frozen decoder.
      Tier 1: latent 64, e/d hidden 128, standardised traits, phenotype noise 0.1, BatchNorm
      statistics re-estimated over the training set, 100 epochs. Tier 2: GQ (hidden 128)
      warm-started through Q (``genotype_init="lasso"``) from the mean of a per-trait LASSO
      and its multi-trait-penalised refit (``lasso_multitrait=0.5``,
      ``lasso_multitrait_weight=0.5``) with pairwise interaction terms among each trait's 40
      strongest LASSO loci (``interaction_loci``), then up to 10 epochs of fine-tuning at
      learning rate 3e-5 on the LASSO-selected markers, the best epoch chosen on a validation
      tenth of the non-test individuals (patience 3). The refit alone (weight 1) is a little
      more accurate on yeast in CV but finds fewer known QTL (bench/RESULTS.md).
    - ``quick``: ``studio`` with 40 tier-1 epochs and up to 3 tier-2 epochs, for the demo.
    """
    if name == "paper-simulated":
        model = ModelConfig(latent=32, e_hidden=32, d_hidden=32, ge_hidden=32)
        train = TrainConfig()
    elif name == "paper-yeast":
        model = ModelConfig(latent=32, e_hidden=64, d_hidden=64, ge_hidden=2048)
        train = TrainConfig()
    elif name == "studio":
        model = _STUDIO_MODEL
        train = dataclasses.replace(_STUDIO_TRAIN)
    elif name == "quick":
        model = _STUDIO_MODEL
        train = dataclasses.replace(_STUDIO_TRAIN, epochs_phenotype=40, epochs_genotype=3)
    else:
        raise ValueError(f"unknown preset {name!r}; choose {', '.join(PRESET_DESCRIPTIONS)}")
    model = dataclasses.replace(model)
    train = dataclasses.replace(train, **train_overrides)
    return GPAtlasConfig(model=model, train=train, preset=name)


PRESET_DESCRIPTIONS: dict[str, str] = {
    "studio": "Studio (default): tier 2 from sparse multi-trait LASSO + pairwise interactions, "
    "fine-tuned",
    "quick": "Quick: studio with fewer epochs (for a first look)",
    "paper-simulated": "Paper, simulated data: small network, 250 + 250 epochs",
    "paper-yeast": "Paper, real data: yeast architecture, 250 + 250 epochs (long: hours on CPU)",
}
"""The one list of presets, the default first, each with the line the app and the CLI show."""

PRESETS: tuple[str, ...] = tuple(PRESET_DESCRIPTIONS)
"""Preset names, the app's default first."""


def config_fields() -> dict[str, str]:
    """Every settable field name, mapped to the part it belongs to (``model`` or ``train``)."""
    out = {f.name: "model" for f in dataclasses.fields(ModelConfig)}
    out.update({f.name: "train" for f in dataclasses.fields(TrainConfig)})
    return out


def _coerce(name: str, value, hint) -> object:
    """``value`` (from JSON) as field ``name`` with type hint ``hint``, or a DataError."""
    import types
    import typing

    from .io import DataError

    args = set(typing.get_args(hint)) if isinstance(hint, types.UnionType) else {hint}
    if value is None:
        if type(None) in args:
            return None
        raise DataError(f"{name}: a value is needed, not null")
    if bool in args:
        if isinstance(value, bool):
            return value
        raise DataError(f"{name}: expected true or false, got {value!r}")
    if isinstance(value, bool):
        raise DataError(f"{name}: expected a number, got {value!r}")
    if float in args and isinstance(value, int | float):
        return float(value)
    if int in args and isinstance(value, int | float) and float(value).is_integer():
        return int(value)
    literal = [a for a in args if typing.get_origin(a) is Literal]
    if literal:
        choices = typing.get_args(literal[0])
        if value in choices:
            return value
        raise DataError(f"{name}: choose one of {', '.join(map(str, choices))}, not {value!r}")
    if typing.get_origin(hint) is tuple and isinstance(value, list | tuple):
        return tuple(float(v) for v in value)
    if str in args and isinstance(value, str):
        return value
    raise DataError(f"{name}: {value!r} is not a valid value")


def with_overrides(config: GPAtlasConfig, overrides: dict) -> GPAtlasConfig:
    """A copy of ``config`` with fields of its model or training part set by name (the names of
    :func:`config_fields`, e.g. ``{"latent": 32, "sd_noise": 0.3}``); unknown names are refused
    with a message listing the valid ones."""
    from .io import DataError

    fields = config_fields()
    unknown = [k for k in overrides if k not in fields]
    if unknown:
        raise DataError(
            f"unknown setting(s) {', '.join(map(repr, unknown))}; settings are: "
            + ", ".join(sorted(fields))
        )
    import typing

    model, train = dataclasses.replace(config.model), dataclasses.replace(config.train)
    hints = {
        "model": typing.get_type_hints(ModelConfig),
        "train": typing.get_type_hints(TrainConfig),
    }
    for key, value in overrides.items():
        part = model if fields[key] == "model" else train
        setattr(part, key, _coerce(key, value, hints[fields[key]][key]))
    return GPAtlasConfig(model=model, train=train, preset=config.preset)


def with_groups(
    config: GPAtlasConfig, spec: str, *, units: int | None = None
) -> tuple[GPAtlasConfig, str | None]:
    """A copy of ``config`` with the grouped (BINN-style) genotype encoder on ``spec``
    (``windows:50kb``, a ``marker,group`` CSV) and ``units`` per group (None: keep
    ``group_units``). The grouped first layer trains from a random start, so a LASSO warm
    start (with its interaction terms and fine-tuning learning rate) is switched off; the
    second value says so (None when nothing else changed). The app and the CLI both call this."""
    model = dataclasses.replace(config.model, groups=spec)
    if units is not None:
        model.group_units = int(units)
    train = dataclasses.replace(config.train)
    note = None
    if train.genotype_init != "random":
        train.genotype_init, train.interaction_loci, train.genotype_lr = "random", 0, None
        train.lasso_multitrait = 0.0
        note = (
            "groups: the grouped encoder trains from a random start, so the LASSO warm start "
            f"of {config.preset!r} is off (genotype_init random, interaction_loci 0, tier-2 "
            f"learning rate {train.lr:g}); {train.epochs_genotype} tier-2 epochs"
        )
    return GPAtlasConfig(model=model, train=train, preset=config.preset), note


def config_from_json(text: str, *, name: str = "config.json") -> GPAtlasConfig:
    """A config from JSON text: a run's ``config.json``, ``tune``'s ``best_config.json``
    (``{"config": {...}, ...}``) or a bare ``{"model": ..., "train": ..., "preset": ...}``.
    Unknown fields are refused (a typo must not silently fall back to a default)."""
    import json

    from .io import DataError

    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{name}: not valid JSON ({err})") from None
    if isinstance(data, dict) and isinstance(data.get("config"), dict):
        data = data["config"]
    if not isinstance(data, dict) or not ({"model", "train"} & set(data)):
        raise DataError(f"{name}: expected a config with 'model' and 'train' parts")
    base = GPAtlasConfig(preset=str(data.get("preset", "custom")))
    flat: dict = {}
    for part in ("model", "train"):
        values = data.get(part, {})
        if not isinstance(values, dict):
            raise DataError(f"{name}: '{part}' must be an object")
        known = config_fields()
        wrong = [k for k in values if known.get(k) != part]
        if wrong:
            raise DataError(f"{name}: unknown {part} setting(s) {', '.join(map(repr, wrong))}")
        flat.update(values)
    try:
        return with_overrides(base, flat)
    except DataError as err:
        raise DataError(f"{name}: {err}") from None
