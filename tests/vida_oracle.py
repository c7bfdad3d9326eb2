"""A plain-loop VIDA: docs/method.md section 5 read line by line, kept as the oracle for the fast path.

Nothing here is clever or fast on purpose: Python loops over columns, pairs, individuals.
Two readings are shared with ``gpatlas_core.tl._vida`` and spelled out there:
``k = max(1, ceil(pct * len / 100))`` and ``floor(0.1 * count) = count // 10`` (integer
arithmetic), and similarities are ranked after rounding to 12 decimals (ties, then candidate
order), so that float noise in the last bits cannot reorder mathematically tied pairs.
"""

from __future__ import annotations

import math
import time

import numpy as np

SIM_DECIMALS = 12


def zscores(matrix: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Rule 1, column by column."""
    n, p = matrix.shape
    z = np.zeros((n, p))
    why = [""] * p
    for j in range(p):
        v = matrix[:, j].astype(np.float64)
        nz = v != 0
        if nz.sum() < 4:
            why[j] = "too few non-zero entries"
            continue
        vals = v[nz]
        mu = vals.mean()
        sd = vals.std()
        if not sd > 0:
            why[j] = "no spread in non-zero entries"
            continue
        z[nz, j] = (vals - mu) / sd
    return z, why


def pair_similarity(z: np.ndarray, j1: int, j2: int, thr: float) -> tuple[float, bool] | None:
    """Rule 2 for one pair; None when the pair is skipped. Returns (similarity, rho constant)."""
    n = z.shape[0]
    x_all, y_all = z[:, j1], z[:, j2]
    valid = [i for i in range(n) if x_all[i] != 0 and y_all[i] != 0]
    if len(valid) < 4:
        return None
    x = np.array([x_all[i] for i in valid])
    y = np.array([y_all[i] for i in valid])
    constant = bool(np.all(x == x[0]) or np.all(y == y[0]))
    if constant:
        rho = 0.0
    else:
        xm = x - x.mean()
        ym = y - y.mean()
        rho = float(np.sum(xm * ym) / math.sqrt(np.sum(xm * xm) * np.sum(ym * ym)))
        rho = min(1.0, max(-1.0, rho))
    e1 = [i for i in range(n) if abs(x_all[i]) > thr]
    e2 = [i for i in range(n) if abs(y_all[i]) > thr]
    co = len(set(e1) & set(e2))
    denom = len(e1) * len(e2) / n
    phi = co / denom if denom > 0 else 0.0
    return (abs(rho) + phi) / 2, constant


def partners_of(z: np.ndarray, j: int, thr: float) -> list[tuple[int, float]]:
    """Rule 3 for column ``j``: its ``max(1, count // 10)`` most similar columns, ranked,
    as ``(column, similarity rounded to SIM_DECIMALS)``."""
    scored = []
    for k in range(z.shape[1]):
        if k == j:
            continue
        res = pair_similarity(z, j, k, thr)
        if res is not None:
            scored.append((float(np.round(res[0], SIM_DECIMALS)), k))
    m = max(1, len(scored) // 10) if scored else 0
    # Highest similarity first; equal similarities keep candidate order.
    ranked = sorted(scored, key=lambda t: (-t[0], t[1]))
    return [(k, s) for s, k in ranked[:m]]


def clumpiness(values, method: str, pct: float) -> float:
    """Rule 4 for one vector."""
    a = [abs(float(v)) for v in values]
    if len(a) < 3:
        return 0.0
    if method == "adaptive":
        m = sum(a) / len(a)
        m2 = sum((x - m) ** 2 for x in a) / len(a)
        m4 = sum((x - m) ** 4 for x in a) / len(a)
        kurt = m4 / m2**2 - 3 if m2 > 0 else float("nan")
        return clumpiness(values, "concentration", 5.0 if kurt > 1 else 15.0)
    if method == "concentration":
        s = sorted(a, reverse=True)
        k = max(1, math.ceil(pct * len(s) / 100))
        return sum(s[:k]) / sum(s)
    if method == "gini":
        s = sorted(a)
        n = len(s)
        return 2 * sum((i + 1) * x for i, x in enumerate(s)) / (n * sum(s)) - (n + 1) / n
    if method == "entropy":
        bins = min(10, len(a) // 2)
        hist, _ = np.histogram(np.array(a), bins=bins)
        probs = [h / len(a) for h in hist if h > 0]
        h = -sum(q * math.log(q) for q in probs)
        return 1 - h / math.log(bins) if bins > 1 else 0.0
    raise ValueError(method)


def vida(
    matrix: np.ndarray,
    *,
    z_threshold: float = 2.0,
    clumpiness_percentile: float = 5.0,
    method: str = "concentration",
    rows: list[int] | None = None,
    timings: dict | None = None,
) -> list[dict]:
    """Rules 1-6 on all columns of ``matrix`` (the candidates, in candidate order).

    ``rows``: score only these columns (their pairs with every candidate are still computed),
    for timing the oracle on a subset. ``timings`` receives seconds per stage.
    """
    t0 = time.perf_counter()
    n, c = matrix.shape
    z, why = zscores(matrix)
    t1 = time.perf_counter()
    rows = list(range(c)) if rows is None else list(rows)

    # Rule 2 + 3: similarities of each scored column with every other, then its partners.
    partners: dict[int, list[int]] = {}
    n_pairs = 0
    for j in rows:
        ranked = partners_of(z, j, z_threshold)
        n_pairs += c - 1
        partners[j] = [k for k, _ in ranked]
    t2 = time.perf_counter()

    out = []
    for j in rows:
        extreme = [i for i in range(n) if abs(z[i, j]) > z_threshold]
        rec = {
            "column": j,
            "n_extreme_samples": len(extreme),
            "avg_extreme_ratio_diff": float("nan"),
            "avg_clumpiness_diff": float("nan"),
            "vida_score": float("nan"),
        }
        if why[j]:
            rec["status"] = why[j]
            out.append(rec)
            continue
        part = partners[j]
        if len(part) < 3:
            rec["status"] = "fewer than 3 partners"
            out.append(rec)
            continue
        if len(extreme) < 3:
            rec["status"] = "fewer than 3 extreme individuals"
            out.append(rec)
            continue
        non = [k for k in range(c) if k != j and k not in part]
        ratio_diffs, clump_diffs = [], []
        for i in extreme:
            pv = [z[i, k] for k in part if z[i, k] != 0]
            nv = [z[i, k] for k in non if z[i, k] != 0]
            if len(pv) < 3 or len(nv) < 3:
                continue
            pr = sum(1 for v in pv if abs(v) > z_threshold) / len(pv)
            nr = sum(1 for v in nv if abs(v) > z_threshold) / len(nv)
            ratio_diffs.append(pr - nr)
            clump_diffs.append(
                clumpiness(pv, method, clumpiness_percentile)
                - clumpiness(nv, method, clumpiness_percentile)
            )
        if len(ratio_diffs) < 3:
            rec["status"] = "fewer than 3 extreme individuals with metrics"
            out.append(rec)
            continue
        a = float(np.mean(ratio_diffs))
        b = float(np.mean(clump_diffs))
        rec.update(avg_extreme_ratio_diff=a, avg_clumpiness_diff=b, vida_score=a * b, status="ok")
        out.append(rec)
    t3 = time.perf_counter()
    if timings is not None:
        timings.update(zscores=t1 - t0, pairs=t2 - t1, n_pairs=n_pairs, metrics=t3 - t2)
    return out
