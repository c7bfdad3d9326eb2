"""The pairs behind VIDA's scores: each candidate's partners (docs/method.md section 5, rule 3).

VIDA scores an allele by comparing its extreme individuals' importance on its *partners* (its
most similar candidates, rules 2-3) with the rest. Those partners are the pairs VIDA found; this
module recomputes them with the same code as :func:`gpatlas_core.tl.vida` (same z-scores, same
similarities, same top-k and tie rule) and reports each pair's statistics, so a user can see which
alleles an allele was found to act with.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..io import DataError
from ._vida import SIM_DECIMALS, STATUS_OK, _check_inputs, _compute_partners, _exact_rho, _prepare

PARTNER_COLUMNS = [
    "marker",
    "allele",
    "vida_score",
    "partner_rank",
    "partner_marker",
    "partner_allele",
    "similarity",
    "rho",
    "phi",
    "n_common",
    "n_co_extreme",
    "mutual",
    "same_locus",
    "partner_vida_score",
]


def vida_partners(
    matrix: np.ndarray,
    allele_columns: pd.DataFrame,
    scores: pd.DataFrame,
    *,
    scored_only: bool = True,
    markers: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each candidate allele's VIDA partners, with the statistics that made them partners.

    Parameters
    ----------
    matrix, allele_columns
        As given to :func:`gpatlas_core.tl.vida`.
    scores
        The table :func:`gpatlas_core.tl.vida` returned (its ``attrs["vida"]`` names the
        candidate columns and the z threshold).
    scored_only
        Only the candidates VIDA scored (``status == "ok"``); else every candidate with at
        least one scored pair.
    markers
        Optional marker map (``marker, chromosome, position``): adds the chromosome and position
        of both alleles of each pair.

    Returns
    -------
    pandas.DataFrame
        One row per (allele, partner), best partner first: ``marker, allele, vida_score,
        partner_rank`` (1 = most similar), ``partner_marker, partner_allele, similarity``
        (``(|rho| + phi) / 2``, rule 2), ``rho`` (Pearson r of the two z-scores over the
        individuals where both are non-zero; 0 when one side is constant there), ``phi``
        (co-extremeness: individuals extreme for both over the number expected by chance),
        ``n_common`` (individuals where both are non-zero), ``n_co_extreme``, ``mutual`` (the
        allele is also among its partner's partners), ``same_locus`` (two alleles of one
        marker), ``partner_vida_score``. ``attrs["vida_partners"]`` holds the parameters.
    """
    info = scores.attrs.get("vida")
    if not info or "columns" not in info:
        raise DataError("vida_partners needs the table tl.vida returned (with its attrs['vida'])")
    m = _check_inputs(matrix, allele_columns)
    cand = np.asarray(info["columns"], dtype=np.int64)
    if len(cand) != len(scores):
        raise DataError(
            f"the VIDA table has {len(scores)} rows but names {len(cand)} candidate columns"
        )
    thr = float(info["z_threshold"])
    z = _prepare(m, cand).z
    partners = _compute_partners(z, [thr], None)[thr]
    n = z.shape[0]
    status = scores["status"].to_numpy()
    keep = partners.count > 0
    if scored_only:
        keep &= status == STATUS_OK
    j1 = np.concatenate([np.full(partners.count[j], j) for j in np.flatnonzero(keep)] or [[]])
    j2 = np.concatenate(
        [partners.pad[j, : partners.count[j]] for j in np.flatnonzero(keep)] or [[]]
    )
    j1, j2 = j1.astype(np.int64), j2.astype(np.int64)
    rho, _const = _exact_rho(z, j1, j2) if j1.size else (np.zeros(0), np.zeros(0, bool))
    nz = z != 0
    ext = np.abs(z) > thr
    n_common = (nz[:, j1] & nz[:, j2]).sum(axis=0)
    co = (ext[:, j1] & ext[:, j2]).sum(axis=0)
    n_ext = ext.sum(axis=0)
    denom = n_ext[j1] * n_ext[j2] / n
    phi = np.divide(co, denom, out=np.zeros(len(j1)), where=denom > 0)
    sim = (np.abs(rho) + phi) / 2
    partner_sets = [set(partners.pad[j, : partners.count[j]].tolist()) for j in range(len(cand))]
    mutual = np.array([a in partner_sets[b] for a, b in zip(j1, j2, strict=True)], dtype=bool)
    cols = allele_columns.iloc[cand].reset_index(drop=True)
    vscore = scores["vida_score"].to_numpy(dtype=float)
    out = pd.DataFrame(
        {
            "marker": cols["marker"].to_numpy()[j1],
            "allele": cols["allele"].to_numpy()[j1],
            "vida_score": vscore[j1],
            "partner_rank": 0,
            "partner_marker": cols["marker"].to_numpy()[j2],
            "partner_allele": cols["allele"].to_numpy()[j2],
            "similarity": sim,
            "rho": rho,
            "phi": phi,
            "n_common": n_common.astype(np.int64),
            "n_co_extreme": co.astype(np.int64),
            "mutual": mutual,
            "same_locus": cols["locus"].to_numpy()[j1] == cols["locus"].to_numpy()[j2],
            "partner_vida_score": vscore[j2],
            "_j1": j1,
            "_j2": j2,
            "_sim": np.round(sim, SIM_DECIMALS),
        },
        columns=[*PARTNER_COLUMNS, "_j1", "_j2", "_sim"],
    )
    # rule 3's order: most similar first, ties in candidate order
    out = out.sort_values(["_j1", "_sim", "_j2"], ascending=[True, False, True], kind="stable")
    out["partner_rank"] = out.groupby("_j1").cumcount() + 1
    # alleles in order of score (best first), unscored last
    order = out["vida_score"].fillna(-np.inf).rank(method="dense", ascending=False)
    out = (
        out.assign(_order=order)
        .sort_values(["_order", "_j1", "partner_rank"], kind="stable")
        .drop(columns=["_j1", "_j2", "_sim", "_order"])
        .reset_index(drop=True)
    )
    if markers is not None:
        mk = markers[["marker", "chromosome", "position"]].drop_duplicates("marker")
        pos = mk.set_index("marker")
        for side, col in (("", "marker"), ("partner_", "partner_marker")):
            at = out.columns.get_loc(col) + 1
            out.insert(at, f"{side}chromosome", pos["chromosome"].reindex(out[col]).to_numpy())
            out.insert(at + 1, f"{side}position", pos["position"].reindex(out[col]).to_numpy())
    out.attrs["vida_partners"] = {
        "z_threshold": thr,
        "scored_only": bool(scored_only),
        "n_alleles": int(keep.sum()),
    }
    return out
