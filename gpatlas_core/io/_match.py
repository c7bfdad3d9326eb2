"""Matching genotype and phenotype samples by id and building the :class:`Dataset`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._dataset import DataError, Dataset, MissingPolicy, Truth
from ._maps import UNKNOWN_CHROMOSOME, markers_from_names
from ._numeric import NumericTable
from ._tables import GenotypeTable

__all__ = ["assemble", "check_policy"]

_MAX_LISTED = 50


def check_policy(policy: str) -> MissingPolicy:
    if policy not in ("own_state", "most_frequent"):
        raise DataError(f"missing_policy must be 'own_state' or 'most_frequent', got {policy!r}")
    return policy  # type: ignore[return-value]


def _aligned_markers(
    geno: GenotypeTable, markers: pd.DataFrame | None, name: str, report: dict
) -> pd.DataFrame:
    if markers is None:
        out = markers_from_names(geno.markers)
        unknown = int((out["chromosome"] == UNKNOWN_CHROMOSOME).sum())
        if unknown:
            report["markers_without_position"] = unknown
        return out
    by_name = markers.set_index("marker")
    absent = [m for m in geno.markers if m not in by_name.index]
    if absent:
        raise DataError(
            f"{name}: {len(absent)} genotype marker(s) are not in the marker map, e.g. "
            f"'{absent[0]}'; expected one map row per genotype column"
        )
    extra = len(markers) - len(geno.markers)
    if extra > 0:
        report["map_markers_without_genotypes"] = extra
    sub = by_name.loc[geno.markers, ["chromosome", "position"]].reset_index()
    sub["marker"] = sub["marker"].astype(object)
    sub["chromosome"] = sub["chromosome"].astype(object)
    sub["position"] = sub["position"].astype(np.int64)
    return sub[["marker", "chromosome", "position"]]


def assemble(
    geno: GenotypeTable,
    pheno: NumericTable,
    *,
    geno_name: str,
    pheno_name: str,
    markers: pd.DataFrame | None = None,
    known_qtl: pd.DataFrame | None = None,
    truth: Truth | None = None,
    missing_policy: MissingPolicy = "own_state",
    name: str = "dataset",
    source: str = "",
    report: dict | None = None,
) -> Dataset:
    """Keep the samples present in both tables (genotype order) and build a Dataset.

    ``report`` gets the matched count and the ids found on one side only. No shared id at all,
    or a trait without any value among the matched samples, is a :class:`DataError`.
    """
    missing_policy = check_policy(missing_policy)
    report = dict(report or {})
    pheno_index = {s: i for i, s in enumerate(pheno.ids)}
    g_rows = [i for i, s in enumerate(geno.samples) if s in pheno_index]
    if not g_rows:
        raise DataError(
            f"no sample id of {geno_name} ({len(geno.samples)} samples, e.g. "
            f"'{geno.samples[0]}') matches any of {pheno_name} ({len(pheno.ids)} samples, e.g. "
            f"'{pheno.ids[0]}'); expected the same sample ids in both files"
        )
    matched = [geno.samples[i] for i in g_rows]
    matched_set = set(matched)
    only_geno = [s for s in geno.samples if s not in matched_set]
    only_pheno = [s for s in pheno.ids if s not in matched_set]
    report.update(
        {
            "genotype_file": geno_name,
            "phenotype_file": pheno_name,
            "genotype_samples": len(geno.samples),
            "phenotype_samples": len(pheno.ids),
            "matched_samples": len(matched),
            "unmatched_genotype_ids": only_geno[:_MAX_LISTED],
            "unmatched_phenotype_ids": only_pheno[:_MAX_LISTED],
            "n_unmatched_genotype_ids": len(only_geno),
            "n_unmatched_phenotype_ids": len(only_pheno),
        }
    )
    report.update(geno.notes)
    rows = np.asarray(g_rows)
    codes = geno.codes if len(g_rows) == len(geno.samples) else geno.codes[rows]
    geno.codes = codes  # the unmatched rows' copy can go as soon as the caller lets go
    phen = pheno.values[[pheno_index[s] for s in matched]]
    empty = np.flatnonzero(np.isnan(phen).all(axis=0))
    if empty.size:
        raise DataError(
            f"{pheno_name}: trait '{pheno.columns[int(empty[0])]}' has no value for any of the "
            f"{len(matched)} matched samples; expected at least one measurement (remove the column)"
        )
    report["missing_phenotype_fraction"] = float(np.isnan(phen).mean())
    marker_map = _aligned_markers(geno, markers, geno_name, report)
    if known_qtl is not None:
        keep = known_qtl["trait"].isin(set(pheno.columns)).to_numpy()
        dropped = sorted(
            set(known_qtl["trait"][~keep]) | set(known_qtl.attrs.get("dropped_traits", []))
        )
        n_read = int(known_qtl.attrs.get("rows_read", len(known_qtl)))
        n_dropped = int(known_qtl.attrs.get("dropped_rows", 0)) + int((~keep).sum())
        if dropped:
            report["known_qtl_dropped_traits"] = dropped
            report["known_qtl_unmatched"] = {
                "rows": n_dropped,
                "of_rows": n_read,
                "traits": dropped,
            }
        if known_qtl.attrs.get("renamed_traits"):
            report["known_qtl_renamed_traits"] = dict(known_qtl.attrs["renamed_traits"])
        known_qtl = known_qtl[keep].reset_index(drop=True)
        report["known_qtl"] = len(known_qtl)
    ds = Dataset(
        samples=np.array(matched, dtype=object),
        genotype_codes=np.ascontiguousarray(codes, dtype=np.int8),
        alleles=list(geno.alleles),
        markers=marker_map,
        phenotypes=np.ascontiguousarray(phen, dtype=np.float32),
        traits=list(pheno.columns),
        known_qtl=known_qtl,
        truth=truth,
        missing_policy=missing_policy,
        name=name,
        source=source,
        report=report,
    )
    report["missing_call_fraction"] = ds.missing_call_fraction
    return ds
