"""Rule 4 of VIDA (docs/method.md section 5): clumpiness of a set of |z| values, for many sets at once.

Each row of a matrix is one set (the kept entries of the row, in descending order); every
method is computed with array operations over all rows, with the numbers of the plain reading
in ``tests/vida_oracle.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from ..io import DataError

ClumpinessMethod = Literal["concentration", "gini", "entropy", "adaptive"]
METHODS: tuple[str, ...] = ("concentration", "gini", "entropy", "adaptive")
Setting = tuple[str, float]


def clumpiness(
    values: np.ndarray, *, method: ClumpinessMethod = "concentration", percentile: float = 5.0
) -> float:
    """Clumpiness of one vector (rule 4); the vectorised pipeline computes the same numbers.

    Parameters
    ----------
    values
        Any real vector; its absolute values are used.
    method
        ``"concentration"``: share of sum(|v|) in the top ``percentile`` % of |v|
        (``k = max(1, ceil(percentile * len / 100))``); ``"gini"``: Gini coefficient of |v|;
        ``"entropy"``: 1 - normalised entropy of a ``min(10, len // 2)``-bin histogram of |v|
        (0 when that is one bin); ``"adaptive"``: concentration at 5 % when the excess
        kurtosis of |v| is above 1, else at 15 %.
    percentile
        Top share for ``"concentration"``, in percent.

    Returns
    -------
    float
        0 when fewer than 3 values.
    """
    _check_method(method)
    a = np.abs(np.asarray(values, dtype=np.float64)).ravel()
    if a.size < 3:
        return 0.0
    vals = np.sort(a)[::-1][None, :]
    keep = np.ones_like(vals, dtype=bool)
    _, _, clump = _set_metrics(vals, keep, np.inf, [(method, float(percentile))])
    return float(clump[0][0])


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise DataError(f"unknown clumpiness method {method!r}; expected one of {METHODS}")


def _set_metrics(
    vals: np.ndarray, keep: np.ndarray, thr: float, settings: Sequence[Setting]
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Size, extreme ratio and clumpiness of a set per row.

    ``vals`` (r, w) holds |z| >= 0; the kept entries of each row (``keep``) must appear in
    descending order along the row (others may be anything). Rows with fewer than 3 kept values
    get clumpiness 0; their ratio is NaN when empty.
    """
    r, w = vals.shape
    vk = np.where(keep, vals, 0.0)
    size = keep.sum(axis=1)
    n_ext = (keep & (vals > thr)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = n_ext / size
    cumkeep = np.cumsum(keep, axis=1, dtype=np.int64)
    cs = np.cumsum(vk, axis=1)
    total = cs[:, -1] if w else np.zeros(r)
    ok = size >= 3
    safe_total = np.where(total > 0, total, 1.0)
    rows = np.arange(r)
    cache: dict[str, np.ndarray] = {}

    def top_share(pct: np.ndarray | float) -> np.ndarray:
        k = np.maximum(1, np.ceil(pct * size / 100)).astype(np.int64)
        pos = np.minimum((cumkeep < k[:, None]).sum(axis=1), max(w - 1, 0))
        return cs[rows, pos] / safe_total

    out = []
    for method, pct in settings:
        if method == "concentration":
            c = top_share(pct)
        elif method == "gini":
            if "gini" not in cache:
                t_desc = (cumkeep * vk).sum(axis=1)
                t_asc = (size + 1) * total - t_desc
                sz = np.maximum(size, 1)
                cache["gini"] = (2 * t_asc / safe_total - (sz + 1)) / sz
            c = cache["gini"]
        elif method == "entropy":
            if "entropy" not in cache:
                cache["entropy"] = _entropy_clumpiness(vals, keep, size)
            c = cache["entropy"]
        elif method == "adaptive":
            if "adaptive" not in cache:
                sz = np.maximum(size, 1)
                mean = total / sz
                dev = np.where(keep, vals - mean[:, None], 0.0)
                d2 = dev * dev
                m2 = d2.sum(axis=1) / sz
                m4 = (d2 * d2).sum(axis=1) / sz
                with np.errstate(invalid="ignore", divide="ignore"):
                    kurt = np.where(m2 > 0, m4 / (m2 * m2) - 3, np.nan)
                cache["adaptive"] = top_share(np.where(kurt > 1, 5.0, 15.0))
            c = cache["adaptive"]
        else:  # pragma: no cover - validated by callers
            raise DataError(f"unknown clumpiness method {method!r}")
        out.append(np.where(ok, c, 0.0))
    return size, ratio, out


def _entropy_clumpiness(vals: np.ndarray, keep: np.ndarray, size: np.ndarray) -> np.ndarray:
    """1 - normalised entropy of ``np.histogram(|v|, bins=min(10, len // 2))`` per row.

    Replicates np.histogram's equal-bin path exactly (edges as np.linspace builds them, the
    index from the scaled distance, then the one-step correction against the edges), so the
    counts are the ones the reference gets, values on bin edges included.
    """
    r, _ = vals.shape
    bins = np.minimum(10, size // 2)
    big = np.where(keep, vals, np.inf)
    lo = big.min(axis=1) if vals.shape[1] else np.zeros(r)
    hi = np.where(keep, vals, -np.inf).max(axis=1) if vals.shape[1] else np.zeros(r)
    same = lo == hi
    lo = np.where(same, lo - 0.5, lo)
    hi = np.where(same, hi + 0.5, hi)
    good = bins >= 2
    b = np.where(good, bins, 2).astype(np.int64)
    lo = np.where(good, lo, 0.0)
    hi = np.where(good, hi, 1.0)
    delta = hi - lo
    step = delta / b

    def edge(a: np.ndarray) -> np.ndarray:
        bb = b[:, None]
        return np.where(a == bb, hi[:, None], a.astype(np.float64) * step[:, None] + lo[:, None])

    x = np.where(keep & good[:, None], vals, lo[:, None])
    idx = (((x - lo[:, None]) / delta[:, None]) * b[:, None]).astype(np.int64)
    idx = np.clip(idx, 0, b[:, None])
    idx[idx == b[:, None]] -= 1
    idx -= x < edge(idx)
    idx += (x >= edge(idx + 1)) & (idx != b[:, None] - 1)
    counted = keep & good[:, None]
    flat = (np.arange(r)[:, None] * 10 + idx)[counted]
    counts = np.bincount(flat, minlength=r * 10).reshape(r, 10).astype(np.float64)
    prob = counts / np.maximum(size, 1)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(prob > 0, prob * np.log(np.where(prob > 0, prob, 1.0)), 0.0)
    h = -plogp.sum(axis=1)
    return np.where(good, 1 - h / np.log(b), 0.0)
