"""Allele frequencies / MAF (tl.allele_frequencies) and the genotype PCA (tl.genotype_pca)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gpatlas_core.io import DataError, Dataset
from gpatlas_core.tl import allele_frequencies, genotype_pca


def dataset(codes: np.ndarray, alleles: list[tuple[str, ...]]) -> Dataset:
    n, n_loci = codes.shape
    return Dataset(
        samples=np.array([f"s{i}" for i in range(n)], dtype=object),
        genotype_codes=codes.astype(np.int8),
        alleles=alleles,
        markers=pd.DataFrame(
            {
                "marker": [f"m{j}" for j in range(n_loci)],
                "chromosome": "1",
                "position": np.arange(n_loci) * 100,
            }
        ),
        phenotypes=np.zeros((n, 1), dtype=np.float32),
        traits=["t"],
    )


def test_allele_frequencies_by_hand():
    codes = np.array(
        [
            [0, 0, 2, -1, 0],
            [0, 1, 1, -1, 0],
            [1, 1, 0, -1, 0],
            [0, 1, 2, 0, 0],
            [-1, 1, 2, 1, 0],
        ]
    )
    alleles = [("A", "B"), ("x", "y"), ("0", "1", "2"), ("G", "T"), ("C", "D")]
    f = allele_frequencies(dataset(codes, alleles))
    assert f["n_called"].tolist() == [4, 5, 5, 2, 5]
    assert f["n_states"].tolist() == [2, 2, 3, 2, 1]
    assert f["major_allele"].tolist()[:3] == ["A", "y", "2"]
    np.testing.assert_allclose(f["maf"], [1 / 4, 1 / 5, 2 / 5, 1 / 2, 0.0])  # 1 - major
    assert f["position"].tolist() == [0, 100, 200, 300, 400]


def two_populations(rng, n_per: int = 40, n_loci: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Two groups with different allele frequencies at every locus (strong structure)."""
    p = rng.uniform(0.1, 0.9, size=n_loci)
    q = np.clip(p + rng.choice([-0.4, 0.4], size=n_loci), 0.05, 0.95)
    a = (rng.random((n_per, n_loci)) < p).astype(int)
    b = (rng.random((n_per, n_loci)) < q).astype(int)
    return np.vstack([a, b]), np.repeat([0, 1], n_per)


def test_pca_separates_two_populations_and_matches_a_full_svd():
    rng = np.random.default_rng(1)
    codes, group = two_populations(rng)
    codes[3, 7] = -1  # a missing call
    ds = dataset(codes, [("A", "B")] * codes.shape[1])
    pca = genotype_pca(ds, n_components=5, seed=0)
    pc1 = pca.scores[:, 0]
    # PC1 splits the two groups: one sign per group, opposite signs
    assert len(set(np.sign(pc1[group == 0]))) == 1 and len(set(np.sign(pc1[group == 1]))) == 1
    assert np.sign(pc1[0]) != np.sign(pc1[-1])
    assert pca.explained[0] > 3 * pca.explained[1]
    # oracle: the standardised matrix built by loops, then a full SVD
    n_loci = codes.shape[1]
    cols = []
    for j in range(n_loci):
        called = codes[:, j] >= 0
        for k in range(2):
            ind = (codes[:, j] == k).astype(float)
            p = ind[called].mean()
            if 0 < p < 1:
                x = np.where(called, (ind - p) / np.sqrt(p * (1 - p)), 0.0)
                cols.append(x - x.mean())
    x = np.column_stack(cols)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    share = s**2 / (x**2).sum()
    # randomised SVD: the leading PCs exact, the near-tied tail ones close
    np.testing.assert_allclose(pca.explained[:2], share[:2], rtol=1e-4)
    np.testing.assert_allclose(pca.explained, share[:5], rtol=1e-2)
    np.testing.assert_allclose(np.abs(pca.scores[:, 0]), np.abs(u[:, 0] * s[0]), atol=1e-3)
    again = genotype_pca(ds, n_components=5, seed=0)
    np.testing.assert_array_equal(again.scores, pca.scores)


def test_pca_needs_a_polymorphic_marker():
    ds = dataset(np.zeros((6, 3), dtype=int), [("A", "B")] * 3)
    with pytest.raises(DataError, match="polymorphic"):
        genotype_pca(ds)
