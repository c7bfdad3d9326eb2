"""VIDA, variable importance distribution analysis (docs/method.md section 5), as matrix operations.

The reference loops over pairs, individuals and partners in Python (hours beyond a few
thousand columns). Here every stage is array work with the same numbers:

- pair statistics over each pair's common support come from masked matrix products
  (``N``, ``S_x``, ``S_y``, ``S_xy``, ``S_xx``, ``S_yy``), row block by row block;
- pairs whose one-pass variance is small relative to its sum of squares (a side constant or
  nearly so over the common support) are recomputed two-pass from the values, so "constant,
  rho taken as 0" is decided exactly and no cancellation reaches rho;
- partners are a stable top-k of each row of similarities;
- step 5 is needed only for individuals that are extreme for the column (step 6 averages over
  those alone), and runs per individual over all its columns at once: one sort of the
  individual's |z| row, then partner / non-partner sets as masks over it.

Readings of the rules where their words leave room (the oracle ``tests/vida_oracle.py`` reads
them the same way):

- ``k = max(1, ceil(pct * len / 100))`` and ``floor(0.1 * count) = count // 10`` are evaluated
  in exact arithmetic (``0.15 * 20`` is 3, not 3.0000000000000004);
- similarities are ranked after rounding to 12 decimals, ties then in candidate order, so float
  noise in the last bits cannot reorder pairs that are tied mathematically;
- candidate order is the order of the columns in the matrix (a candidate set is a set);
- entropy clumpiness uses ``min(10, len // 2)`` bins of ``np.histogram`` over |v| and is 0 when
  that is a single bin; "adaptive" uses the population excess kurtosis of |v|;
- z = 0 on a non-zero entry (a value equal to its column mean) counts as "no measured
  importance", like a zero entry, since the rules read z.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..io import DataError
from ._vida_candidates import resolve_candidates
from ._vida_clumpiness import (
    ClumpinessMethod,
    Setting,
    _check_method,
    _set_metrics,
)

SIM_DECIMALS = 12

STATUS_OK = "ok"
STATUS_FEW_NONZERO = "too few non-zero entries"
STATUS_NO_SPREAD = "no spread in non-zero entries"
STATUS_FEW_PARTNERS = "fewer than 3 partners"
STATUS_FEW_EXTREME = "fewer than 3 extreme individuals"
STATUS_FEW_METRICS = "fewer than 3 extreme individuals with metrics"

COLUMNS = [
    "marker",
    "allele",
    "n_extreme_samples",
    "avg_extreme_ratio_diff",
    "avg_clumpiness_diff",
    "vida_score",
    "status",
]


# ---------------------------------------------------------------------------- rule 1
def _zscores(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """z over the non-zero entries of each column; failing columns stay 0 (rule 1).

    Per column on purpose: mean and std use numpy's own reductions on the non-zero entries,
    the reference's arithmetic, so a value equal to its column mean gives exactly 0 in both.
    """
    n, c = values.shape
    z = np.zeros((n, c))
    why = np.full(c, "", dtype=object)
    nnz = (values != 0).sum(axis=0)
    for j in range(c):
        if nnz[j] < 4:
            why[j] = STATUS_FEW_NONZERO
            continue
        v = values[:, j]
        nz = v != 0
        vals = v[nz]
        sd = vals.std()
        if not sd > 0:
            why[j] = STATUS_NO_SPREAD
            continue
        z[nz, j] = (vals - vals.mean()) / sd
    return z, why


# ---------------------------------------------------------------------------- rules 2-3
@dataclass
class _Partners:
    pad: np.ndarray  # (c, w) int64 partner positions, padded with c
    count: np.ndarray  # (c,) number of partners
    n_scored: np.ndarray  # (c,) scored pairs per column
    n_constant: int = 0  # scored pairs with rho undefined (constant side), taken as 0


@dataclass
class _Prepared:
    z: np.ndarray
    why: np.ndarray


# Pairs whose one-pass variance is this small relative to the sum of squares are recomputed
# two-pass from the values themselves (exact constancy test, no cancellation).
_RECHECK = 1e-4


def _auto_block(n: int, c: int) -> int:
    # ~12 (block x c) float64 temporaries in flight; keep them near 256 MB.
    return int(max(1, min(c, (256 * 2**20) // max(1, 12 * 8 * c))))


def _compute_partners(
    z: np.ndarray, thresholds: Sequence[float], block_size: int | None
) -> dict[float, _Partners]:
    """Similarities of all candidate pairs (rule 2) and each column's partners (rule 3)."""
    n, c = z.shape
    nzb = z != 0
    nz = nzb.astype(np.float64)
    nz32 = nzb.astype(np.float32)  # counts are exact in float32 (n < 2^24)
    z2 = z * z
    absz = np.abs(z)
    ext = {t: (absz > t).astype(np.float32) for t in thresholds}
    n_ext = {t: e.sum(axis=0, dtype=np.float64) for t, e in ext.items()}
    right = np.concatenate([z, z2], axis=1)
    block = max(1, int(block_size or _auto_block(n, c)))
    pads: dict[float, list[np.ndarray]] = {t: [] for t in thresholds}
    counts: list[np.ndarray] = []
    n_constant = 0
    for b0 in range(0, c, block):
        sl = slice(b0, min(c, b0 + block))
        bsz = sl.stop - sl.start
        cnt = (nz32[:, sl].T @ nz32).astype(np.float64)
        sx_sxx = np.concatenate([z[:, sl], z2[:, sl]], axis=1).T @ nz
        sx, sxx = sx_sxx[:bsz], sx_sxx[bsz:]
        if bsz == c:  # one block: the y-side sums are the transposes
            sy, syy = sx.T, sxx.T
        else:
            sy_syy = nz[:, sl].T @ right
            sy, syy = sy_syy[:, :c], sy_syy[:, c:]
        sxy = z[:, sl].T @ z
        scored = cnt >= 4
        scored[np.arange(bsz), np.arange(sl.start, sl.stop)] = False
        safe_n = np.where(scored, cnt, 1.0)
        vx = sxx - sx * sx / safe_n
        vy = syy - sy * sy / safe_n
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = (sxy - sx * sy / safe_n) / np.sqrt(vx * vy)
        rho = np.where(scored, np.clip(rho, -1.0, 1.0), 0.0)
        recheck = scored & ((vx <= _RECHECK * sxx) | (vy <= _RECHECK * syy))
        if recheck.any():
            rows, cols = np.nonzero(recheck)
            r_exact, const = _exact_rho(z, rows + sl.start, cols)
            rho[rows, cols] = r_exact
            n_constant += int(const.sum())
        counts.append(scored.sum(axis=1))
        n_part = np.where(counts[-1] > 0, np.maximum(1, counts[-1] // 10), 0)
        for t in thresholds:
            co = (ext[t][:, sl].T @ ext[t]).astype(np.float64)
            denom = n_ext[t][sl][:, None] * n_ext[t][None, :] / n
            phi = np.where(denom > 0, co / np.where(denom > 0, denom, 1.0), 0.0)
            sim = np.round((np.abs(rho) + phi) / 2, SIM_DECIMALS)
            sim[~scored] = -1.0
            pads[t].append(_top_partners(sim, n_part, c))
    n_scored = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
    n_part = np.where(n_scored > 0, np.maximum(1, n_scored // 10), 0)
    width = int(n_part.max()) if c else 0
    out = {}
    for t in thresholds:
        pad = np.full((c, width), c, dtype=np.int64)
        r0 = 0
        for part in pads[t]:
            pad[r0 : r0 + part.shape[0], : part.shape[1]] = part[:, :width]
            r0 += part.shape[0]
        out[t] = _Partners(pad=pad, count=n_part, n_scored=n_scored, n_constant=n_constant)
    return out


def _top_partners(sim: np.ndarray, n_part: np.ndarray, c: int) -> np.ndarray:
    """The ``n_part[j]`` highest similarities of each row; ties go to the earlier candidate.

    Partners are a set (step 5 only asks membership), so no full sort is needed: everything
    above the ``n_part``-th largest value, then the first equal ones in candidate order.
    Returns partner positions per row (ascending), padded with ``c``.
    """
    b = sim.shape[0]
    width = int(n_part.max()) if b else 0
    pad = np.full((b, width), c, dtype=np.int64)
    has = n_part > 0
    if not has.any():
        return pad
    desc = -np.sort(-sim, axis=1)
    cut = desc[np.arange(b), np.maximum(n_part - 1, 0)]
    greater = sim > cut[:, None]
    equal = sim == cut[:, None]
    need = n_part - greater.sum(axis=1)
    take = greater | (equal & (np.cumsum(equal, axis=1) <= need[:, None]))
    take[~has] = False
    rows, cols = np.nonzero(take)
    starts = np.concatenate([[0], np.cumsum(take.sum(axis=1))[:-1]])
    pad[rows, np.arange(rows.size) - starts[rows]] = cols
    return pad


def _exact_rho(z: np.ndarray, j1: np.ndarray, j2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-pass Pearson r over the common support of each pair (0 when a side is constant)."""
    rho = np.empty(j1.size)
    const = np.empty(j1.size, dtype=bool)
    step = max(1, 2**22 // max(1, z.shape[0]))
    for s in range(0, j1.size, step):
        a, b = j1[s : s + step], j2[s : s + step]
        x, y = z[:, a].T, z[:, b].T
        valid = (x != 0) & (y != 0)
        big = np.where(valid, x, -np.inf).max(axis=1), np.where(valid, y, -np.inf).max(axis=1)
        small = np.where(valid, x, np.inf).min(axis=1), np.where(valid, y, np.inf).min(axis=1)
        k = (big[0] == small[0]) | (big[1] == small[1])
        cnt = valid.sum(axis=1)
        xm = np.where(valid, x - (np.where(valid, x, 0).sum(axis=1) / cnt)[:, None], 0.0)
        ym = np.where(valid, y - (np.where(valid, y, 0).sum(axis=1) / cnt)[:, None], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (xm * ym).sum(axis=1) / np.sqrt((xm * xm).sum(axis=1) * (ym * ym).sum(axis=1))
        rho[s : s + step] = np.where(k, 0.0, np.clip(r, -1.0, 1.0))
        const[s : s + step] = k
    return rho, const


# ---------------------------------------------------------------------------- rules 5-6
def _column_scores(
    z: np.ndarray,
    partners: _Partners,
    thr: float,
    settings: Sequence[Setting],
    max_elements: int = 2**21,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Step 5 for every (extreme individual, active column), summed per column (step 6).

    Returns ``(n_extreme, n_with_metrics, sum_ratio_diff, sum_clump_diff)``, the last of
    shape (n_settings, c).
    """
    n, c = z.shape
    absz = np.abs(z)
    extreme = absz > thr
    n_extreme = extreme.sum(axis=0)
    active = partners.count >= 3
    absz_pad = np.concatenate([absz, np.zeros((n, 1))], axis=1)
    sum_ratio = np.zeros(c)
    sum_clump = np.zeros((len(settings), c))
    n_metrics = np.zeros(c, dtype=np.int64)
    for i in range(n):
        todo = np.flatnonzero(extreme[i] & active)
        if todo.size == 0:
            continue
        # The individual's non-zero |z|, sorted once; sets are masks over it.
        order = np.argsort(-absz[i])[: int((absz[i] > 0).sum())]
        row = absz[i][order]
        chunk = max(1, max_elements // max(1, row.size, partners.pad.shape[1]))
        for s0 in range(0, todo.size, chunk):
            cols = todo[s0 : s0 + chunk]
            r = cols.size
            rr = np.arange(r)
            part = partners.pad[cols]  # (r, w), padded with c (a zero column)
            # Partner sets: gather |z|, sort each row descending (zeros and padding last).
            pvals = -np.sort(-absz_pad[i][part], axis=1)
            p_size, p_ratio, p_clump = _set_metrics(pvals, pvals > 0, thr, settings)
            # Non-partner sets: the sorted row with the column itself and its partners masked.
            excl = np.zeros((r, c + 1), dtype=bool)
            excl[rr[:, None], part] = True
            excl[rr, cols] = True
            keep = ~excl[:, order]
            q_size, q_ratio, q_clump = _set_metrics(
                np.broadcast_to(row, (r, row.size)), keep, thr, settings
            )
            good = (p_size >= 3) & (q_size >= 3)
            if not good.any():
                continue
            g = cols[good]
            n_metrics[g] += 1
            sum_ratio[g] += (p_ratio - q_ratio)[good]
            for k in range(len(settings)):
                sum_clump[k, g] += (p_clump[k] - q_clump[k])[good]
    return n_extreme, n_metrics, sum_ratio, sum_clump


# ---------------------------------------------------------------------------- public
def _prepare(matrix: np.ndarray, cand: np.ndarray) -> _Prepared:
    values = np.asarray(matrix)[:, cand].astype(np.float64)
    if not np.isfinite(values).all():
        raise DataError("importance matrix has non-finite values in the candidate columns")
    z, why = _zscores(values)
    return _Prepared(z=z, why=why)


def _check_inputs(matrix: np.ndarray, allele_columns: pd.DataFrame) -> np.ndarray:
    m = np.asarray(matrix)
    if m.ndim != 2:
        raise DataError(f"importance matrix must be 2-D (individuals x columns), got {m.shape}")
    if m.shape[1] != len(allele_columns):
        raise DataError(
            f"importance matrix has {m.shape[1]} columns but the allele-column table has "
            f"{len(allele_columns)} rows"
        )
    return m


def _check_params(z_threshold: float, percentile: float, method: str) -> None:
    _check_method(method)
    if not (math.isfinite(z_threshold) and z_threshold >= 0):
        raise DataError(f"z_threshold must be a non-negative number, got {z_threshold}")
    if not (0 < percentile <= 100):
        raise DataError(f"clumpiness_percentile must be in (0, 100], got {percentile}")


def _assemble(
    allele_columns: pd.DataFrame,
    cand: np.ndarray,
    why: np.ndarray,
    partners: _Partners,
    n_extreme: np.ndarray,
    n_metrics: np.ndarray,
    sum_ratio: np.ndarray,
    sum_clump: np.ndarray,
) -> pd.DataFrame:
    status = np.where(why != "", why, STATUS_OK).astype(object)
    rest = status == STATUS_OK
    status[rest & (partners.count < 3)] = STATUS_FEW_PARTNERS
    rest = status == STATUS_OK
    status[rest & (n_extreme < 3)] = STATUS_FEW_EXTREME
    rest = status == STATUS_OK
    status[rest & (n_metrics < 3)] = STATUS_FEW_METRICS
    ok = status == STATUS_OK
    denom = np.where(ok, n_metrics, 1)
    avg_ratio = np.where(ok, sum_ratio / denom, np.nan)
    avg_clump = np.where(ok, sum_clump / denom, np.nan)
    return pd.DataFrame(
        {
            "marker": allele_columns["marker"].to_numpy()[cand],
            "allele": allele_columns["allele"].to_numpy()[cand],
            "n_extreme_samples": n_extreme.astype(np.int64),
            "avg_extreme_ratio_diff": avg_ratio,
            "avg_clumpiness_diff": avg_clump,
            "vida_score": avg_ratio * avg_clump,
            "status": status.astype(str),
        },
        columns=COLUMNS,
    )


VIDA_INPUT: dict[str, str] = {"individuals": "all", "target": "prediction"}
"""The importance settings (:func:`~gpatlas_core.tl.compute_importance`) VIDA separated
interacting from non-interacting causal alleles best with, together with the ``adaptive``
clumpiness method (:data:`VIDA_INPUT_METHOD`): on three paper-size simulations ROC AUC 0.675,
0.682 and 0.732 (the last on a draw held out from the choice) against 0.585, 0.500 and 0.605
for the reference input (test individuals, observed phenotypes, concentration 5%);
bench/RESULTS.md, "VIDA's input"."""
VIDA_INPUT_METHOD = "adaptive"


def is_vida_input(params: dict) -> bool:
    """Whether importance ``params`` are :data:`VIDA_INPUT`'s (older results: test / observed)."""
    from ._ablation import DEFAULT_INPUT

    return all(params.get(k, DEFAULT_INPUT[k]) == v for k, v in VIDA_INPUT.items())


def vida(
    matrix: np.ndarray,
    allele_columns: pd.DataFrame,
    *,
    candidates,
    z_threshold: float = 2.0,
    clumpiness_percentile: float = 5.0,
    method: ClumpinessMethod = "concentration",
    block_size: int | None = None,
) -> pd.DataFrame:
    """Score candidate allele columns for involvement in gene-gene interactions.

    Implements the reference rules of docs/method.md section 5 with matrix operations; equal to
    the plain-loop reading in ``tests/vida_oracle.py``.

    Parameters
    ----------
    matrix
        Signed per-individual importance, shape (n individuals, p allele columns).
    allele_columns
        ``marker, allele, locus`` per matrix column (``Dataset.allele_columns``).
    candidates
        The columns to analyse, as accepted by :func:`resolve_candidates`: column indices, a
        boolean mask, marker names (all their alleles), ``(marker, allele)`` pairs or a
        DataFrame with ``marker`` (and optional ``allele``). Candidate order is column order.
    z_threshold
        |z| above which an entry is extreme.
    clumpiness_percentile
        Top share (percent) for the ``"concentration"`` method.
    method
        ``"concentration"``, ``"gini"``, ``"entropy"`` or ``"adaptive"``.
    block_size
        Candidate rows per block of the pair stage (memory ~ 16 * 8 * block * candidates
        bytes); default keeps it near 256 MB.

    Returns
    -------
    pandas.DataFrame
        One row per candidate column, in column order: ``marker, allele, n_extreme_samples,
        avg_extreme_ratio_diff, avg_clumpiness_diff, vida_score, status``. Columns the rules
        skip keep their row with NaN scores and ``status`` saying why. ``attrs["vida"]`` holds
        the parameters, candidate column indices and pair counts (scored pairs, pairs whose
        rho was undefined because one side is constant over the common support, taken as 0).
    """
    m = _check_inputs(matrix, allele_columns)
    _check_params(z_threshold, clumpiness_percentile, method)
    cand = resolve_candidates(allele_columns, candidates)
    prep = _prepare(m, cand)
    thr = float(z_threshold)
    partners = _compute_partners(prep.z, [thr], block_size)[thr]
    settings = [(method, float(clumpiness_percentile))]
    n_ext, n_met, s_ratio, s_clump = _column_scores(prep.z, partners, thr, settings)
    df = _assemble(allele_columns, cand, prep.why, partners, n_ext, n_met, s_ratio, s_clump[0])
    df.attrs["vida"] = {
        "z_threshold": thr,
        "clumpiness_percentile": float(clumpiness_percentile),
        "method": method,
        "n_individuals": int(m.shape[0]),
        "columns": cand.tolist(),
        "pairs_scored": int(partners.n_scored.sum() // 2),
        "pairs_constant_rho": int(partners.n_constant // 2),
    }
    return df


def vida_settings(
    matrix: np.ndarray,
    allele_columns: pd.DataFrame,
    *,
    candidates,
    z_thresholds: Sequence[float],
    settings: Sequence[Setting],
    block_size: int | None = None,
) -> dict[tuple[float, str, float], pd.DataFrame]:
    """VIDA for many parameter settings, sharing z-scores, pair statistics and sorts.

    Parameters
    ----------
    matrix, allele_columns, candidates, block_size
        As for :func:`vida`.
    z_thresholds
        Thresholds to run.
    settings
        ``(method, clumpiness_percentile)`` pairs, each run at every threshold.

    Returns
    -------
    dict
        ``(z_threshold, method, percentile) -> vida()``-shaped table.
    """
    m = _check_inputs(matrix, allele_columns)
    for t in z_thresholds:
        for meth, pct in settings:
            _check_params(t, pct, meth)
    cand = resolve_candidates(allele_columns, candidates)
    prep = _prepare(m, cand)
    thresholds = [float(t) for t in z_thresholds]
    all_partners = _compute_partners(prep.z, thresholds, block_size)
    out = {}
    for t in thresholds:
        partners = all_partners[t]
        n_ext, n_met, s_ratio, s_clump = _column_scores(prep.z, partners, t, settings)
        for s, (meth, pct) in enumerate(settings):
            out[(t, meth, float(pct))] = _assemble(
                allele_columns, cand, prep.why, partners, n_ext, n_met, s_ratio, s_clump[s]
            )
    return out
