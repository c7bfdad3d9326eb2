"""Principal components of the genotypes: population structure (Patterson, Price, Reich 2006)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..io import DataError

if TYPE_CHECKING:
    from ..io import Dataset


@dataclass
class GenotypePCA:
    """Individuals' coordinates on the leading principal components of the genotypes.

    Attributes
    ----------
    samples
        Sample ids, shape (n,).
    scores
        Coordinates (n, k) on PC1..PCk.
    explained
        Share of the total variance of the standardised genotype matrix per component, (k,).
    params
        How it was made: components, seed, columns used, n.
    """

    samples: np.ndarray
    scores: np.ndarray
    explained: np.ndarray
    params: dict = field(default_factory=dict)


def _standardised(codes: np.ndarray, n_states: list[int]) -> np.ndarray:
    """Indicator column per (marker, state), centred and scaled by sqrt(p (1 - p)) over the
    called individuals; a missing call is set to the column mean (0 after centring);
    constant columns are dropped."""
    blocks = []
    called = codes >= 0
    n_called = called.sum(axis=0)
    for k in range(max(n_states, default=0)):
        ind = (codes == k).astype(np.float32)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.where(n_called > 0, ind.sum(axis=0) / np.maximum(n_called, 1), 0.0)
        sd = np.sqrt(p * (1 - p))
        keep = (sd > 0) & (np.asarray(n_states) > k)
        if not keep.any():
            continue
        x = (ind[:, keep] - p[keep]) / sd[keep]
        x[~called[:, keep]] = 0.0
        blocks.append(x.astype(np.float32))
    if not blocks:
        return np.zeros((codes.shape[0], 0), dtype=np.float32)
    return np.concatenate(blocks, axis=1)


def genotype_pca(dataset: Dataset, *, n_components: int = 10, seed: int = 0) -> GenotypePCA:
    """PCA of the standardised allele-state indicators of every marker.

    Each (marker, state) indicator is centred and divided by ``sqrt(p (1 - p))``, p its
    frequency among called individuals (missing calls count as the mean), so common and rare
    states weigh alike, as in EIGENSOFT; a randomised SVD (seeded) gives the leading components.

    Parameters
    ----------
    dataset
        The dataset.
    n_components
        Components to keep (at most n - 1 and the number of informative columns).
    seed
        Seed of the randomised SVD.

    Returns
    -------
    GenotypePCA
    """
    from sklearn.utils.extmath import randomized_svd

    x = _standardised(np.asarray(dataset.genotype_codes), [len(a) for a in dataset.alleles])
    n, p = x.shape
    k = min(int(n_components), n - 1, p)
    if k < 1:
        raise DataError(
            f"a genotype PCA needs at least 2 individuals and one polymorphic marker; "
            f"this dataset has {n} individuals and {p} informative allele columns"
        )
    x -= x.mean(axis=0)  # missing calls shift a column's mean slightly; centre exactly
    total = float((x.astype(np.float64) ** 2).sum())
    u, s, _vt = randomized_svd(x, k, n_oversamples=20, n_iter=7, random_state=int(seed))
    sign = np.sign(u[np.abs(u).argmax(axis=0), np.arange(k)])  # a deterministic sign per PC
    scores = (u * s) * sign
    return GenotypePCA(
        samples=np.asarray(dataset.samples),
        scores=scores.astype(np.float64),
        explained=(s**2 / total) if total > 0 else np.zeros(k),
        params={"n_components": k, "seed": int(seed), "columns": int(p), "n": int(n)},
    )
