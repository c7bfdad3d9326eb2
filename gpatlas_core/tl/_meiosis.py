"""Meiosis along the marker map, for the in-silico crosses (docs/method.md section 9).

- :func:`genetic_map`: marker positions (bp) to Morgans at a constant rate (cM per Mb); markers
  of unknown position (or chromosome) are unlinked from everything.
- :func:`crossover_origins`: for each gamete and locus, which of the two parental haplotypes it
  comes from. Crossovers are a Poisson process of rate 1 per Morgan along each chromosome (no
  interference: the Haldane map), so two loci ``d`` Morgans apart recombine with probability
  ``(1 - exp(-2 d)) / 2``; the first haplotype of each chromosome is chosen at random.
- :func:`ploidy_of` and :class:`Genotypes`: how the data's allele states encode a genotype
  (a haploid allele; a diploid pair such as ``0/1`` from a VCF; an allele count 0/1/2 from
  PLINK), the parents' haplotypes, and offspring alleles back to one-hot columns.

Everything works on one-hot column indices (one per locus), taken from ``dataset.onehot``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..io import MISSING_STATE, DataError, Dataset

__all__ = [
    "DEFAULT_CM_PER_MB",
    "GeneticMap",
    "Genotypes",
    "Ploidy",
    "crossover_origins",
    "genetic_map",
    "genotype_columns",
    "onehot_from_columns",
    "ploidy_of",
]

DEFAULT_CM_PER_MB = 375.0
"""Default recombination rate: budding yeast's average, about 0.37 cM per kb (~90 crossovers per
meiosis over its 12 Mb genome, Mancera et al. 2008, Nature 454:479), right for the shipped
BY x RM sample. Other organisms differ by orders of magnitude (human ~1.2, maize ~0.5,
Arabidopsis ~4, Drosophila ~2.5 cM per Mb): set it for your data."""
MAX_CROSSOVERS_PER_GAMETE = 100_000
_PAIR = re.compile(r"^([^/|]+)[/|]([^/|]+)$")
PloidySetting = Literal["auto", 1, 2]


def genotype_columns(x: np.ndarray, n_loci: int) -> np.ndarray:
    """The one-hot column carried at each locus, (n, n_loci) int32, from one-hot rows ``x``.

    Allele columns are grouped by locus in locus order and every locus has exactly one 1 per
    row, so the non-zero entries of each row, in order, are its loci's columns.
    """
    _, cols = np.nonzero(np.asarray(x))
    if cols.size != x.shape[0] * n_loci:
        raise ValueError("one-hot genotypes must have exactly one 1 per locus and individual")
    return cols.astype(np.int32).reshape(x.shape[0], n_loci)


def onehot_from_columns(cols: np.ndarray, n_columns: int) -> np.ndarray:
    """One-hot rows (float32) from per-locus column indices; ``-1`` leaves a locus empty."""
    out = np.zeros((cols.shape[0], n_columns), dtype=np.float32)
    r, c = np.nonzero(cols >= 0)
    out[r, cols[r, c]] = 1.0
    return out


# ------------------------------------------------------------------ the map
@dataclass
class GeneticMap:
    """Where the loci sit on the genetic map.

    Attributes
    ----------
    cm_per_mb
        The rate used (cM per megabase).
    chromosomes
        Per linkage group, the locus indices (genotype order) sorted by position.
    morgans
        Per linkage group, the loci's positions in Morgans (same order).
    unlinked
        Loci of unknown position: each segregates independently of every other locus.
    names
        The linkage groups' chromosome names.
    """

    cm_per_mb: float
    chromosomes: list[np.ndarray]
    morgans: list[np.ndarray]
    unlinked: np.ndarray
    names: list[str]

    @property
    def lengths_cm(self) -> pd.Series:
        """Map length (first to last marker) per chromosome, in cM."""
        return pd.Series(
            [100.0 * (m[-1] - m[0]) for m in self.morgans], index=self.names, dtype=float
        )

    @property
    def length_cm(self) -> float:
        """Total map length in cM: 100 x the expected crossovers per gamete."""
        return float(self.lengths_cm.sum())


def genetic_map(markers: pd.DataFrame, *, cm_per_mb: float = DEFAULT_CM_PER_MB) -> GeneticMap:
    """The genetic map of the markers at a constant recombination rate.

    Parameters
    ----------
    markers
        ``marker, chromosome, position`` (bp; -1 = unknown), as in :class:`~gpatlas_core.io.Dataset`.
    cm_per_mb
        Centimorgans per megabase (>= 0; 0 = no crossing over within chromosomes).
    """
    rate = float(cm_per_mb)
    if not np.isfinite(rate) or rate < 0:
        raise DataError(f"the recombination rate (cM per Mb) must be 0 or more, got {cm_per_mb!r}")
    chrom = markers["chromosome"].astype(str).to_numpy()
    pos = markers["position"].to_numpy(dtype=np.float64)
    known = (pos >= 0) & (chrom != "") & (chrom != "nan")
    groups, idx_lists, morgans = [], [], []
    for name in pd.unique(chrom[known]):
        loci = np.flatnonzero(known & (chrom == name))
        loci = loci[np.argsort(pos[loci], kind="stable")]
        groups.append(str(name))
        idx_lists.append(loci)
        morgans.append(pos[loci] / 1e6 * rate / 100.0)
    gmap = GeneticMap(rate, idx_lists, morgans, np.flatnonzero(~known), groups)
    if gmap.length_cm / 100 > MAX_CROSSOVERS_PER_GAMETE:
        raise DataError(
            f"a map of {gmap.length_cm:,.0f} cM ({gmap.length_cm / 100:,.0f} crossovers per "
            f"gamete) at {rate:g} cM per Mb: check the rate (centimorgans per megabase)"
        )
    return gmap


def crossover_origins(
    gmap: GeneticMap, n_loci: int, n: int, *, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` meioses: for each gamete and locus, whether it carries the first haplotype.

    Returns
    -------
    origins
        (n, n_loci) bool, True = from the first haplotype, in genotype (locus) order.
    crossovers
        (n,) int, the crossovers drawn per gamete (also those that no two markers separate).
    """
    origins = np.empty((n, n_loci), dtype=bool)
    crossovers = np.zeros(n, dtype=np.int64)
    for loci, m in zip(gmap.chromosomes, gmap.morgans, strict=True):
        k = loci.size
        count = rng.poisson(m[-1] - m[0], size=n)
        crossovers += count
        where = m[0] + (m[-1] - m[0]) * rng.random(int(count.sum()))
        # a crossover between loci i-1 and i flips the haplotype from locus i on
        first = np.clip(np.searchsorted(m, where, side="right"), 1, max(k - 1, 1))
        gamete = np.repeat(np.arange(n), count)
        flips = np.bincount(gamete * k + first, minlength=n * k).reshape(n, k)
        parity = (np.cumsum(flips, axis=1) & 1).astype(bool)
        start = rng.random(n) < 0.5
        origins[:, loci] = start[:, None] ^ parity
    if gmap.unlinked.size:
        origins[:, gmap.unlinked] = rng.random((n, gmap.unlinked.size)) < 0.5
    return origins, crossovers


# --------------------------------------------------------------- genotype codes
@dataclass(frozen=True)
class Ploidy:
    """How the data's allele states encode genotypes.

    ``ploidy`` 1: each state is one allele (haploid; also any data of categorical states).
    ``ploidy`` 2 with ``coding`` ``"pairs"``: states are unordered allele pairs (``0/1``, as
    the VCF reader writes them); ``"dosage"``: states count allele 1 (``0``, ``1``, ``2``, as
    the PLINK reader writes diploid calls).
    """

    ploidy: int
    coding: Literal["haploid", "pairs", "dosage"]

    def describe(self) -> str:
        if self.ploidy == 1:
            return "haploid (each allele state is one allele)"
        how = "allele pairs such as 0/1" if self.coding == "pairs" else "allele counts 0, 1, 2"
        return f"diploid ({how})"


def _labels(dataset: Dataset) -> list[str]:
    labels = dataset.allele_columns["allele"].astype(str)
    return sorted(set(labels[labels != MISSING_STATE]))


def ploidy_of(dataset: Dataset, ploidy: PloidySetting = "auto") -> Ploidy:
    """Haploid or diploid, and how diploid genotypes are written.

    ``auto``: the ploidy the reader recorded (PLINK, VCF), else diploid when every allele state
    is a pair ``a/b`` (or ``a|b``), else haploid. ``1`` treats every state as one allele; ``2``
    needs pairs or allele counts 0/1/2.
    """
    if ploidy not in ("auto", 1, 2):
        raise DataError(f"ploidy must be 'auto', 1 or 2, got {ploidy!r}")
    labels = _labels(dataset)
    pairs = bool(labels) and all(_PAIR.match(lab) for lab in labels)
    dosage = bool(labels) and set(labels) <= {"0", "1", "2"}
    recorded = dataset.report.get("ploidy")
    recorded = set(recorded) if isinstance(recorded, list | tuple) else {recorded} - {None}
    if ploidy == "auto":
        if len(recorded) > 1:
            raise DataError(
                f"{dataset.name}: the genotypes mix haploid and diploid calls; a cross needs "
                "one ploidy (choose 1 or 2)"
            )
        if recorded == {1} or (not recorded and not pairs):
            return Ploidy(1, "haploid")
        ploidy = 2
    if ploidy == 1:
        return Ploidy(1, "haploid")
    if pairs:
        return Ploidy(2, "pairs")
    if dosage:
        return Ploidy(2, "dosage")
    raise DataError(
        f"{dataset.name}: diploid crosses need genotypes written as allele pairs (0/1) or "
        f"allele counts (0, 1, 2); this data has states {', '.join(labels[:6])}"
    )


def _pair_of(label: str, coding: str) -> tuple[str, str] | None:
    if label == MISSING_STATE:
        return None
    if coding == "dosage":
        k = int(label)
        return ("0" if k < 2 else "1", "0" if k < 1 else "1")
    a, b = _PAIR.match(label).groups()
    return a, b


def _sort_key(token: str) -> tuple[int, int | str]:
    return (0, int(token)) if token.isdigit() else (1, token)


class Genotypes:
    """Translate between one-hot columns and alleles for one data set (see :class:`Ploidy`).

    For diploid data every allele token gets an integer id; column ``c`` holds the alleles
    ``first[c], second[c]`` (-1 for the missing-call state) and :meth:`columns_of` maps an
    unordered pair back to its column (-1 when the training data never had that genotype).
    """

    def __init__(self, allele_columns: pd.DataFrame, ploidy: Ploidy) -> None:
        self.ploidy = ploidy
        self.n_columns = len(allele_columns)
        self.locus = allele_columns["locus"].to_numpy(dtype=np.int64)
        self.n_loci = int(self.locus.max()) + 1 if self.n_columns else 0
        labels = allele_columns["allele"].astype(str).to_numpy()
        self.na_column = np.full(self.n_loci, -1, dtype=np.int64)
        na = np.flatnonzero(labels == MISSING_STATE)
        self.na_column[self.locus[na]] = na
        if ploidy.ploidy == 1:
            return
        pairs = [_pair_of(lab, ploidy.coding) for lab in labels]
        tokens = sorted({t for p in pairs if p for t in p}, key=_sort_key)
        self.tokens = tokens
        ids = {t: i for i, t in enumerate(tokens)}
        first = np.full(self.n_columns, -1, dtype=np.int64)
        second = np.full(self.n_columns, -1, dtype=np.int64)
        for c, p in enumerate(pairs):
            if p:
                first[c], second[c] = sorted((ids[p[0]], ids[p[1]]))
        self.first, self.second = first, second
        self._v = max(len(tokens), 1)
        ok = first >= 0
        keys = self._key(self.locus[ok], first[ok], second[ok])
        order = np.argsort(keys, kind="stable")
        self._keys, self._cols = keys[order], np.flatnonzero(ok)[order]

    def _key(self, locus: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        return (locus * self._v + lo) * self._v + hi

    def haplotypes(self, cols: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """A diploid individual's two haplotypes (allele ids per locus) from its columns.

        Genotypes are unphased, so at each heterozygous locus the phase is drawn at random
        (for inbred, homozygous parents, the usual F1 -> F2 design, this changes nothing).
        """
        a, b = self.first[cols], self.second[cols]
        swap = rng.random(cols.shape) < 0.5
        return np.where(swap, b, a), np.where(swap, a, b)

    def columns_of(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Column per locus of offspring with alleles ``a``, ``b`` (n, n_loci), -1 if unseen.

        An allele inherited from a parent's missing call (-1) gives the missing-call state
        where the data has one.
        """
        loci = np.broadcast_to(np.arange(self.n_loci), a.shape)
        keys = self._key(loci, a, b)
        pos = np.clip(np.searchsorted(self._keys, keys), 0, max(len(self._keys) - 1, 0))
        found = self._keys[pos] == keys if len(self._keys) else np.zeros(a.shape, dtype=bool)
        out = np.where(found, self._cols[pos] if len(self._cols) else -1, -1)
        missing = (a < 0) | (b < 0)
        return np.where(missing, self.na_column[loci], out).astype(np.int32)
