"""Allele frequencies per marker and the minor allele frequency (MAF), from the genotype calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from ..io import Dataset


def allele_frequencies(dataset: Dataset) -> pd.DataFrame:
    """Per marker: called individuals, observed states, the major allele and the MAF.

    Missing calls are left out (frequencies are over the called individuals). One allele per
    individual and marker, as the genotype table stores it. For a marker with more than two
    states the MAF is the summed frequency of all non-major states, ``1 - major frequency``
    (PLINK 2's reading), which for two states is the usual minor allele frequency.

    Parameters
    ----------
    dataset
        The dataset.

    Returns
    -------
    pandas.DataFrame
        ``marker, chromosome, position, n_called, n_states`` (states seen at least once),
        ``major_allele, major_frequency, maf``; a marker with no call has NaN frequencies.
    """
    codes = np.asarray(dataset.genotype_codes)
    n_loci = codes.shape[1]
    width = max((len(a) for a in dataset.alleles), default=1)
    counts = np.zeros((n_loci, max(width, 1)), dtype=np.int64)
    for k in range(width):
        counts[:, k] = (codes == k).sum(axis=0)
    called = counts.sum(axis=1)
    major = counts.argmax(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        major_freq = np.where(called > 0, counts.max(axis=1) / called, np.nan)
    major_label = [
        dataset.alleles[j][major[j]] if called[j] and major[j] < len(dataset.alleles[j]) else ""
        for j in range(n_loci)
    ]
    return pd.DataFrame(
        {
            "marker": dataset.markers["marker"].to_numpy(),
            "chromosome": dataset.markers["chromosome"].to_numpy(),
            "position": dataset.markers["position"].to_numpy(),
            "n_called": called,
            "n_states": (counts > 0).sum(axis=1),
            "major_allele": major_label,
            "major_frequency": major_freq,
            "maf": 1.0 - major_freq,
        }
    )
