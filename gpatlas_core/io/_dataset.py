"""The one in-memory data model every reader produces and every tool consumes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd

MissingPolicy = Literal["own_state", "most_frequent"]
MISSING_STATE = "NA"
_BLOCK_CELLS = 1 << 22
"""Genotype cells per block when a whole-matrix pass works in row blocks (bounded temporaries)."""


def _row_blocks(codes: np.ndarray):
    """Consecutive row blocks of a 2-D array, about :data:`_BLOCK_CELLS` cells each."""
    step = max(1, _BLOCK_CELLS // max(codes.shape[1], 1))
    for i in range(0, codes.shape[0], step):
        yield codes[i : i + step]


class DataError(ValueError):
    """A problem with user data, with a message meant for the user.

    The message names the file (and row or column where known) and says what was expected.
    Readers raise only this for bad input, so callers can show ``str(err)`` and carry on.
    """


@dataclass
class Truth:
    """Ground truth of a simulation.

    causal: columns ``marker, allele, trait, weight`` (one row per causal allele and trait).
    interactions: columns ``trait, marker_a, marker_b, allele`` (the allele state that,
    carried at both loci, makes the pair multiply).
    """

    causal: pd.DataFrame
    interactions: pd.DataFrame


@dataclass
class Dataset:
    """Genotypes, phenotypes and what is known about them, matched by sample id.

    Attributes
    ----------
    samples
        Sample ids, shape (n,), dtype object (str).
    genotype_codes
        Allele state index per sample and locus, shape (n, l), int8; -1 is a missing call.
        ``alleles[j][genotype_codes[i, j]]`` is the allele label.
    alleles
        Allele labels per marker (tuple of str), in code order.
    markers
        Marker map, one row per locus in genotype order: ``marker`` (str),
        ``chromosome`` (str), ``position`` (int, bp; -1 when unknown).
    phenotypes
        Shape (n, m), float32, NaN = missing.
    traits
        Trait names, length m.
    known_qtl
        Optional; columns ``trait, chromosome, position, ci_left, ci_right`` (+ extra
        columns kept, e.g. ``variance_explained``, ``lod``).
    truth
        Optional ground truth (simulations).
    missing_policy
        How missing calls enter the one-hot matrix: ``own_state`` adds an ``NA`` column to
        each marker that has missing calls; ``most_frequent`` counts them as the marker's
        most frequent state.
    name, source
        Display name and where it came from (a path, "simulation", ...).
    report
        What the reader did, for the user: matched/unmatched sample counts and ids etc.
    """

    samples: np.ndarray
    genotype_codes: np.ndarray
    alleles: list[tuple[str, ...]]
    markers: pd.DataFrame
    phenotypes: np.ndarray
    traits: list[str]
    known_qtl: pd.DataFrame | None = None
    truth: Truth | None = None
    missing_policy: MissingPolicy = "own_state"
    name: str = "dataset"
    source: str = ""
    report: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, n_loci = self.genotype_codes.shape
        if len(self.samples) != n or self.phenotypes.shape[0] != n:
            raise DataError("genotypes, phenotypes and sample ids have different sample counts")
        if len(self.alleles) != n_loci or len(self.markers) != n_loci:
            raise DataError("allele labels and marker map must have one entry per locus")
        if self.phenotypes.shape[1] != len(self.traits):
            raise DataError("phenotype columns and trait names differ in number")

    # ------------------------------------------------------------------ sizes
    @property
    def n_samples(self) -> int:
        return int(self.genotype_codes.shape[0])

    @property
    def n_loci(self) -> int:
        return int(self.genotype_codes.shape[1])

    @property
    def n_traits(self) -> int:
        return len(self.traits)

    @property
    def n_allele_columns(self) -> int:
        return len(self.allele_columns)

    # --------------------------------------------------------------- one-hot
    @cached_property
    def _states(self) -> tuple[np.ndarray, list[tuple[str, ...]]]:
        """Per locus: the code a missing call takes under the missing-call policy (int8; -1
        where the locus has no missing call) and the allele labels after the policy.

        Only this vector is kept, never a patched copy of the codes: one-hot rows are made
        from ``genotype_codes[rows]`` with the missing cells filled in (:meth:`effective_codes`).
        """
        labels = list(self.alleles)
        fill = np.full(self.n_loci, -1, dtype=np.int8)
        cols = self._missing_loci
        for j in cols:
            if self.missing_policy == "own_state":
                labels[j] = (*labels[j], MISSING_STATE)
                fill[j] = len(labels[j]) - 1
            else:
                col = self.genotype_codes[:, j]
                counts = np.bincount(col[col >= 0], minlength=len(labels[j]))
                fill[j] = int(np.argmax(counts)) if counts.sum() else 0
                if not counts.sum():
                    labels[j] = labels[j] or (MISSING_STATE,)
        return fill, labels

    @cached_property
    def _missing_per_locus(self) -> np.ndarray:
        """Missing calls per locus (int64, shape (l,)), counted in row blocks."""
        counts = np.zeros(self.n_loci, dtype=np.int64)
        for block in _row_blocks(self.genotype_codes):
            counts += np.count_nonzero(block < 0, axis=0)
        return counts

    @cached_property
    def _missing_loci(self) -> np.ndarray:
        """Indices of the loci with at least one missing call."""
        return np.flatnonzero(self._missing_per_locus)

    def missing_calls_per_locus(self) -> np.ndarray:
        """Share of missing calls at each locus (float64, shape (l,))."""
        return self._missing_per_locus / max(self.n_samples, 1)

    @cached_property
    def missing_call_fraction(self) -> float:
        """Share of genotype cells that are missing calls."""
        size = self.genotype_codes.size
        return int(self._missing_per_locus.sum()) / size if size else 0.0

    def effective_codes(
        self, rows: np.ndarray | slice | None = None, *, loci: np.ndarray | None = None
    ) -> np.ndarray:
        """Allele-state codes of ``rows`` (default all) at ``loci`` (default all) with missing
        calls replaced as the missing-call policy says (int8, no -1 left): index into
        :meth:`allele_labels`. A copy, or a read-only view of the dataset's own codes where
        nothing needed filling (no copy of a large matrix just to read it)."""
        fill, _ = self._states
        cols = self._missing_loci
        g = self.genotype_codes
        if loci is None:
            codes = g if rows is None else g[rows]
        else:  # only the wanted cells are copied
            loci = np.asarray(loci, dtype=np.int64)
            if rows is None or isinstance(rows, slice):
                codes = (g if rows is None else g[rows])[:, loci]
            else:
                codes = g[np.ix_(np.asarray(rows), loci)]
            fill = fill[loci]
            cols = np.flatnonzero(self._missing_per_locus[loci])
        if cols.size == 0:
            if np.may_share_memory(codes, g):  # the dataset's own codes: hand out a read-only view
                codes = codes.view()
                codes.flags.writeable = False
            return codes
        if np.may_share_memory(codes, g):
            codes = codes.copy()  # never write into the dataset's own codes
        # in place, in row blocks (no full-size temporary); only missing cells are negative,
        # so the loci without one are untouched whatever their fill value
        fill_row = fill[None, :]
        for block in _row_blocks(codes):
            np.copyto(block, fill_row, where=block < 0)
        return codes

    def allele_column_indices(
        self, rows: np.ndarray | slice | None = None, *, loci: np.ndarray | None = None
    ) -> np.ndarray:
        """The one-hot column each of ``rows`` carries at each locus ((n_rows, l) int32): the
        non-zero entries of :meth:`onehot`, from the codes directly."""
        codes = self.effective_codes(rows, loci=loci)
        offsets = self.column_offsets if loci is None else self.column_offsets[np.asarray(loci)]
        return codes.astype(np.int32) + offsets.astype(np.int32)[None, :]

    def allele_counts(self) -> np.ndarray:
        """Individuals carrying each one-hot column (int64, shape (n_allele_columns,)): the
        column sums of :meth:`onehot`, counted from the codes in row blocks."""
        counts = np.zeros(self.n_allele_columns, dtype=np.int64)
        step = max(1, _BLOCK_CELLS // max(self.n_loci, 1))
        for i in range(0, self.n_samples, step):
            cols = self.allele_column_indices(slice(i, i + step))
            counts += np.bincount(cols.ravel(), minlength=self.n_allele_columns)
        return counts

    def allele_labels(self) -> list[tuple[str, ...]]:
        """Allele labels per locus after the missing-call policy (the one-hot columns' order)."""
        return list(self._states[1])

    @cached_property
    def allele_columns(self) -> pd.DataFrame:
        """One row per one-hot column: ``marker, allele, locus`` (locus = index into markers)."""
        _, labels = self._states
        names = self.markers["marker"].to_numpy()
        rows_marker, rows_allele, rows_locus = [], [], []
        for j, labs in enumerate(labels):
            for lab in labs:
                rows_marker.append(names[j])
                rows_allele.append(lab)
                rows_locus.append(j)
        return pd.DataFrame(
            {"marker": rows_marker, "allele": rows_allele, "locus": np.asarray(rows_locus)}
        )

    @cached_property
    def column_offsets(self) -> np.ndarray:
        """First one-hot column of each locus (int64, shape (l,)): a locus's column for state
        code ``c`` is ``column_offsets[j] + c``."""
        _, labels = self._states
        sizes = np.array([len(lab) for lab in labels], dtype=np.int64)
        return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

    def onehot(
        self,
        rows: np.ndarray | None = None,
        dtype=np.float32,
        *,
        loci: np.ndarray | None = None,
    ) -> np.ndarray:
        """One-hot genotype matrix (n_rows x n_allele_columns), allele columns in order.

        Made on demand from the int8 codes, in blocks of rows (no full-size temporary).
        ``loci`` restricts it to those loci's allele columns (in allele-column order).
        """
        offsets = self.column_offsets
        if loci is None:
            n_cols = self.n_allele_columns
            col_off = offsets
        else:
            loci = np.asarray(loci, dtype=np.int64)
            sizes = np.diff(np.append(offsets, self.n_allele_columns))[loci]
            col_off = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
            n_cols = int(sizes.sum())
        row_idx = np.arange(self.n_samples) if rows is None else np.asarray(rows)
        out = np.zeros((len(row_idx), n_cols), dtype=dtype)
        if out.size == 0:
            return out
        width = len(col_off)
        step = max(1, _BLOCK_CELLS // max(width, 1))
        for i in range(0, len(row_idx), step):
            part = row_idx[i : i + step]
            codes = self.effective_codes(part, loci=loci)
            flat = codes.astype(np.int64) + col_off[None, :]
            flat += (np.arange(len(part), dtype=np.int64) * n_cols)[:, None]
            out[i : i + len(part)].reshape(-1)[flat.ravel()] = 1
        return out

    def onehot_blocks(self, rows: np.ndarray | None = None, *, block: int = 512, dtype=np.float32):
        """Yield ``(positions, one-hot)`` for consecutive blocks of ``rows`` (default all):
        ``positions`` index into ``rows``; each block is ``onehot(rows[positions])``."""
        row_idx = np.arange(self.n_samples) if rows is None else np.asarray(rows)
        for i in range(0, len(row_idx), block):
            pos = np.arange(i, min(i + block, len(row_idx)))
            yield pos, self.onehot(row_idx[pos], dtype=dtype)

    # ------------------------------------------------------------ identity
    @cached_property
    def fingerprint(self) -> str:
        """A short hash of the content: same data, same fingerprint (cache keys, run checks)."""
        h = hashlib.sha256()
        h.update("\x1f".join(map(str, self.samples)).encode())
        for block in _row_blocks(self.genotype_codes):  # the C-order bytes, block by block
            h.update(np.ascontiguousarray(block).data)
        h.update(np.ascontiguousarray(self.phenotypes).tobytes())
        h.update("\x1f".join(self.traits).encode())
        h.update("\x1f".join(self.markers["marker"].astype(str)).encode())
        h.update(self.missing_policy.encode())
        return h.hexdigest()[:16]

    @property
    def genotype_bytes(self) -> int:
        """Bytes of the compact genotype matrix (individuals x markers, int8)."""
        return int(self.genotype_codes.nbytes)

    def summary(self) -> dict:
        """Sizes and missingness, for `info` and the Home/Data pages."""
        ph = self.phenotypes
        return {
            "name": self.name,
            "samples": self.n_samples,
            "markers": self.n_loci,
            "allele_columns": self.n_allele_columns,
            "traits": self.n_traits,
            "missing_phenotype_fraction": float(np.isnan(ph).mean()) if ph.size else 0.0,
            "missing_call_fraction": self.missing_call_fraction,
            "chromosomes": int(self.markers["chromosome"].nunique()),
            "known_qtl": 0 if self.known_qtl is None else len(self.known_qtl),
            "has_truth": self.truth is not None,
        }
