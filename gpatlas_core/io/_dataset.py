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
    def _effective_codes(self) -> tuple[np.ndarray, list[tuple[str, ...]]]:
        """Codes and labels after the missing-call policy (no -1 left)."""
        codes = self.genotype_codes
        missing = codes < 0
        if not missing.any():
            return codes, list(self.alleles)
        codes = codes.copy()
        labels = list(self.alleles)
        cols = np.flatnonzero(missing.any(axis=0))
        for j in cols:
            miss = missing[:, j]
            if self.missing_policy == "own_state":
                labels[j] = (*labels[j], MISSING_STATE)
                codes[miss, j] = len(labels[j]) - 1
            else:
                counts = np.bincount(codes[~miss, j], minlength=len(labels[j]))
                codes[miss, j] = int(np.argmax(counts)) if counts.sum() else 0
                if not counts.sum():
                    labels[j] = labels[j] or (MISSING_STATE,)
        return codes, labels

    @cached_property
    def allele_columns(self) -> pd.DataFrame:
        """One row per one-hot column: ``marker, allele, locus`` (locus = index into markers)."""
        _, labels = self._effective_codes
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
    def _column_offsets(self) -> np.ndarray:
        _, labels = self._effective_codes
        sizes = np.array([len(lab) for lab in labels], dtype=np.int64)
        return np.concatenate([[0], np.cumsum(sizes)[:-1]])

    def onehot(self, rows: np.ndarray | None = None, dtype=np.float32) -> np.ndarray:
        """One-hot genotype matrix (n_rows x n_allele_columns), allele columns in order."""
        codes, _ = self._effective_codes
        if rows is not None:
            codes = codes[rows]
        out = np.zeros((codes.shape[0], self.n_allele_columns), dtype=dtype)
        flat = codes.astype(np.int64) + self._column_offsets[None, :]
        np.put_along_axis(out, flat, 1, axis=1)
        return out

    # ------------------------------------------------------------ identity
    @cached_property
    def fingerprint(self) -> str:
        """A short hash of the content: same data, same fingerprint (cache keys, run checks)."""
        h = hashlib.sha256()
        h.update("\x1f".join(map(str, self.samples)).encode())
        h.update(np.ascontiguousarray(self.genotype_codes).tobytes())
        h.update(np.ascontiguousarray(self.phenotypes).tobytes())
        h.update("\x1f".join(self.traits).encode())
        h.update("\x1f".join(self.markers["marker"].astype(str)).encode())
        h.update(self.missing_policy.encode())
        return h.hexdigest()[:16]

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
            "missing_call_fraction": float((self.genotype_codes < 0).mean())
            if self.genotype_codes.size
            else 0.0,
            "chromosomes": int(self.markers["chromosome"].nunique()),
            "known_qtl": 0 if self.known_qtl is None else len(self.known_qtl),
            "has_truth": self.truth is not None,
        }
