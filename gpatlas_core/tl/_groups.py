"""Group-level readouts of a grouped (BINN-style) genotype encoder, or of any run given marker
groups:

- :func:`group_ablation_matrix` / :func:`group_importance`: ablate all allele columns of a
  group together (baseline 0) with the loss-based measure of allele ablation
  (docs/method.md section 4): ``attr[k, g] = f(x_k) - f(x_k with group g's columns = 0)``,
  importance = mean over individuals of ``attr^2``.
- :func:`latent_sensitivity`: how strongly each predicted trait responds to each group's units
  of the grouped first layer: the gradient of the prediction with respect to the group's unit
  activations, its norm over the group's units, averaged over individuals (a trait x group
  table).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..io import DataError, Dataset, MarkerGroups
from ..module import GroupedLinear
from ._ablation_kernel import _act, _as_tensor, _fold

if TYPE_CHECKING:
    from ..run import Run

__all__ = [
    "GROUPS_FILE",
    "SENSITIVITY_FILE",
    "group_ablation_matrix",
    "group_importance",
    "latent_sensitivity",
]

GROUPS_FILE = "importance_groups.csv"
SENSITIVITY_FILE = "latent_sensitivity.csv"


def group_ablation_matrix(
    encoder: nn.Module,
    decoder: nn.Module,
    x: torch.Tensor | np.ndarray,
    t: torch.Tensor | np.ndarray,
    col_group: np.ndarray,
    *,
    mask: torch.Tensor | np.ndarray | None = None,
    max_rows: int = 65_536,
    on_progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Per-individual signed importance of column groups, ``(n, n_groups)`` float64.

    ``attr[k, g] = f(x_k) - f(x_k with every column c of group g (col_group[c] == g) = 0)``,
    ``f`` the individual's MSE (over observed traits with ``mask``), in eval mode (BatchNorm
    running statistics), as :func:`~gpatlas_core.tl.ablation_matrix` for one column. Only the
    first layer's pre-activation changes, by ``x[:, g] W[:, g]^T`` (and the pair terms that
    touch the group), so every group costs its own columns plus one pass of the later layers.
    """
    layers = _fold(encoder) + _fold(decoder)
    x64 = _as_tensor(x, torch.float64)
    t64 = _as_tensor(t, torch.float64)
    col_group = np.asarray(col_group, dtype=np.int64)
    n, p = x64.shape
    if col_group.shape != (p,):
        raise ValueError(f"col_group must have one group per input column ({p})")
    first = layers[0]
    keep = torch.isfinite(t64) if mask is None else _as_tensor(mask, torch.bool)
    if mask is None:
        w = torch.full(t64.shape, 1.0 / t64.shape[1], dtype=torch.float64)
    else:
        w = torch.where(keep, 1.0 / keep.sum(1, keepdim=True).clamp(min=1).double(), 0.0)

    def rest(a0: torch.Tensor) -> torch.Tensor:
        h = _act(a0, first.slope)
        for layer in layers[1:]:
            h = _act(h @ layer.weight.T + layer.bias, layer.slope)
        return h

    def pair_term(h: torch.Tensor) -> torch.Tensor:
        return (h[:, first.pairs[:, 0]] * h[:, first.pairs[:, 1]]) @ first.pair_weight.T

    a0 = x64 @ first.weight.T + first.bias
    if first.pairs is not None:
        a0 = a0 + pair_term(x64)
    y = rest(a0)
    t_fill = torch.where(keep, torch.nan_to_num(t64), y)

    def loss(out: torch.Tensor) -> torch.Tensor:
        return (((out - t_fill) ** 2) * w).sum(1)

    f_base = loss(y)
    n_groups = int(col_group.max()) + 1 if p else 0
    order = np.argsort(col_group, kind="stable")
    bounds = np.searchsorted(col_group[order], np.arange(n_groups + 1))
    out = np.zeros((n, n_groups))
    per = max(1, max_rows // max(n, 1))
    for g0 in range(0, n_groups, per):
        gs = range(g0, min(n_groups, g0 + per))
        moved = []
        for g in gs:
            cols = torch.from_numpy(order[bounds[g] : bounds[g + 1]])
            a = a0 - x64[:, cols] @ first.weight[:, cols].T
            if first.pairs is not None:
                x_abl = x64.clone()
                x_abl[:, cols] = 0.0
                a = a + pair_term(x_abl) - pair_term(x64)
            moved.append(a)
        y_abl = rest(torch.cat(moved)).reshape(len(gs), n, -1)
        f_abl = torch.stack([loss(y_abl[i]) for i in range(len(gs))], dim=1)
        out[:, g0 : g0 + len(gs)] = (f_base[:, None] - f_abl).numpy()
        if on_progress is not None:
            on_progress(g0 + len(gs), n_groups)
    return out


def group_importance(
    run: Run,
    dataset: Dataset,
    groups: MarkerGroups | None = None,
    *,
    on_progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Group ablation importance of a run on its test individuals: one row per group,
    ``group, n_markers, n_columns, chromosome, start, end, importance`` (mean over test
    individuals of the squared signed importance), sorted as the groups are numbered.
    ``groups``: default the grouped encoder's own; any run may be given groups."""
    groups = groups if groups is not None else run.marker_groups()
    if groups is None:
        raise DataError("this run has a dense encoder: give marker groups (e.g. windows:50kb)")
    if groups.group.shape != (dataset.n_loci,):
        raise DataError(f"groups for {groups.group.shape[0]} markers; data has {dataset.n_loci}")
    rows = run.test_rows(dataset)
    if len(rows) == 0:
        raise DataError(f"dataset {dataset.name!r} has none of this run's test individuals")
    x, t, mask = run.model_inputs(dataset, rows)
    masked = bool(run.config.train.mask_missing)
    attr = group_ablation_matrix(
        run.gq,
        run.p,
        x,
        t,
        groups.column_groups(dataset),
        mask=mask if masked else None,
        on_progress=on_progress,
    )
    counts = np.bincount(groups.group, minlength=groups.n_groups)
    cols = np.bincount(groups.column_groups(dataset), minlength=groups.n_groups)
    mk = dataset.markers
    pos = mk["position"].to_numpy(dtype=np.int64)
    df = pd.DataFrame({"g": groups.group, "chromosome": mk["chromosome"].astype(str), "pos": pos})
    agg = df.groupby("g").agg(
        chromosome=("chromosome", lambda s: s.iloc[0] if s.nunique() == 1 else "several"),
        start=("pos", "min"),
        end=("pos", "max"),
    )
    agg = agg.reindex(range(groups.n_groups))
    return pd.DataFrame(
        {
            "group": [str(s) for s in groups.names],
            "n_markers": counts[: groups.n_groups],
            "n_columns": cols[: groups.n_groups],
            "chromosome": agg["chromosome"].to_numpy(),
            "start": agg["start"].to_numpy(),
            "end": agg["end"].to_numpy(),
            "importance": (attr**2).mean(0) if len(attr) else np.zeros(groups.n_groups),
        }
    )


def latent_sensitivity(
    run: Run, dataset: Dataset, *, rows: np.ndarray | None = None
) -> pd.DataFrame:
    """Trait x group sensitivity of a grouped run: ``S[i, g] = mean_k ||d y_ki / d a_kg||``,
    ``a_kg`` the activations of group g's units (after BatchNorm and LeakyReLU, eval mode) for
    individual k and ``y_ki`` the predicted trait i on the model's scale (standardised when the
    run standardises), the norm over the group's units. Rows: traits; columns: groups.
    ``rows``: the individuals (default: the test individuals)."""
    if not run.grouped:
        raise DataError("latent sensitivity needs a grouped encoder (train with groups)")
    rows = run.test_rows(dataset) if rows is None else np.asarray(rows)
    if len(rows) == 0:
        raise DataError(f"dataset {dataset.name!r} has none of this run's test individuals")
    x, _, _ = run.model_inputs(dataset, rows)
    first: GroupedLinear = run.gq[0]
    head, tail = run.gq[:3], run.gq[3:]
    for net in (run.gq, run.p):
        net.eval()
    with torch.no_grad():
        a = head(x)
    a = a.detach().requires_grad_(True)
    y = run.p(tail(a))  # (n, m)
    n_groups, k = first.n_groups, first.units
    out = np.zeros((y.shape[1], n_groups))
    for i in range(y.shape[1]):
        (grad,) = torch.autograd.grad(y[:, i].sum(), a, retain_graph=i + 1 < y.shape[1])
        # rows are independent in eval mode: row k's gradient is d y_ki / d a_k
        norms = grad.reshape(len(rows), n_groups, k).norm(dim=2)
        out[i] = norms.mean(0).numpy()
    names = run.group_names or [f"group{g}" for g in range(n_groups)]
    return pd.DataFrame(out, index=pd.Index(list(run.traits), name="trait"), columns=names)
