"""The BY x RM yeast layout (Bloom et al. 2013) and the shipped sample."""

from __future__ import annotations

from pathlib import Path

from ._dataset import Dataset, MissingPolicy
from ._limits import ReadLimits, Source, display_name
from ._maps import read_known_qtl
from ._match import assemble, check_policy
from ._numeric import parse_numeric_table
from ._tables import parse_genotype_table

__all__ = ["YEAST_SAMPLE_DIR", "load_yeast_sample", "read_bloom"]

YEAST_QTL_ALIASES = {"Manganese_Sulfate": "Magnesium_Sulfate"}
"""The QTL table and the phenotype file name one trait differently (each has 46 traits and
this is the only pair left unmatched); the G-P Atlas analysis uses all 591 QTL."""
YEAST_SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data" / "yeast_bloom2013"
"""Where the shipped copy of the Bloom et al. (2013) data lives."""


def read_bloom(
    geno: Source,
    pheno: Source,
    *,
    known_qtl: Source | None = None,
    qtl_aliases: dict[str, str] | None = None,
    missing_policy: MissingPolicy = "own_state",
    limits: ReadLimits | None = None,
    name: str | None = None,
) -> Dataset:
    """Read the BY x RM layout: genotypes with one row per marker, phenotypes per sample.

    Parameters
    ----------
    geno
        Tab-separated (optionally gzipped): ``marker`` + one column per segregant; cells are
        allele labels (``B``/``R``), NA/empty = missing. Marker names such as
        ``27915_chr01_27915_T_C`` give the chromosome (``"1"``) and position (27,915).
    pheno
        One row per segregant, one column per trait (first header cell may be empty).
    known_qtl
        Optional known-QTL table (:func:`read_known_qtl`); rows for other traits are dropped
        and listed in ``report["known_qtl_dropped_traits"]``.
    qtl_aliases
        Known-QTL trait name -> phenotype trait name, for names that differ (default: the
        one pair the Bloom et al. 2013 files name differently, :data:`YEAST_QTL_ALIASES`;
        an alias only applies when its target is a phenotype column).
    missing_policy, limits
        See :class:`Dataset` and :class:`ReadLimits`.
    name
        Display name (default: the genotype file name).
    """
    check_policy(missing_policy)
    limits = limits or ReadLimits()
    table = parse_genotype_table(geno, limits=limits, markers_as_rows=True)
    ptable = parse_numeric_table(pheno, limits=limits)
    qtl = None
    if known_qtl is not None:
        aliases = YEAST_QTL_ALIASES if qtl_aliases is None else qtl_aliases
        qtl = read_known_qtl(known_qtl, traits=ptable.columns, aliases=aliases, limits=limits)
    return assemble(
        table,
        ptable,
        geno_name=table.name,
        pheno_name=ptable.name,
        known_qtl=qtl,
        missing_policy=missing_policy,
        name=name or display_name(geno),
        source=f"BYxRM layout: {table.name}, {ptable.name}",
        report={
            "format": "bloom",
            "encoding": {table.name: table.encoding, ptable.name: ptable.encoding},
        },
    )


def load_yeast_sample(*, missing_policy: MissingPolicy = "own_state") -> Dataset:
    """The shipped BY x RM yeast data: 1,008 segregants x 11,623 markers x 46 traits, 591 QTL.

    Bloom et al. (2013), Nature 494:234-237; files under ``sample_data/yeast_bloom2013/``.
    """
    d = YEAST_SAMPLE_DIR
    ds = read_bloom(
        d / "BYxRM_GenoData.txt.gz",
        d / "BYxRM_PhenoData.txt.gz",
        known_qtl=d / "known_qtl_bloom2013.csv.gz",
        qtl_aliases=YEAST_QTL_ALIASES,
        missing_policy=missing_policy,
        name="yeast BYxRM (Bloom 2013)",
    )
    ds.source = str(d)
    return ds
