"""Genome-wide significance of locus importance: a max-T bootstrap over test individuals.

The Manhattan plot's importance (mean of squared per-individual ablation scores) says how
much the model *uses* a locus, not whether that use helps predict unseen individuals: a
locus the model overfits also moves the predictions. The test statistic here is signed.
For test individual k and locus l, ``d[k, l]`` is the rise in k's prediction error when its
alleles at l are removed (minus the sum of the locus's columns of the signed ablation
matrix; a column whose allele k does not carry contributes 0). When the locus's
contribution is unrelated to the phenotype, removing it does not raise the error on
average (for an overfitted locus it lowers it), so the null is ``E[d] <= 0`` and the
one-sided alternative is ``E[d] > 0``.

``z_l = mean_k d[k, l] / se_l`` with ``se_l`` the standard error over individuals; the
pointwise p is the normal tail ``1 - Phi(z)``. The genome-wide threshold controls the
family-wise error over all tested loci by the bootstrap max-T method: resample individuals,
recompute ``T*_l = (mean*_l - mean_l) / se_l``, take the maximum over loci per replicate;
the threshold is the ``1 - alpha`` quantile of those maxima, and a locus's genome-wide p is
the share of replicate maxima at or above its z. Loci the model does not use (``d`` all 0)
are not tested.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr

from ._ablation import ImportanceResult

__all__ = ["LocusSignificance", "locus_loss_increase", "locus_significance"]


@dataclass
class LocusSignificance:
    """Per-locus test of whether removing the locus raises the test error.

    Attributes
    ----------
    loci
        One row per locus: ``marker, chromosome, position, loss_increase`` (mean over test
        individuals), ``se``, ``z``, ``p`` (pointwise, one-sided), ``p_genome`` (genome-wide,
        max-T bootstrap), ``significant`` (``z`` above the genome-wide threshold), ``tested``.
    threshold_z, threshold_p
        The genome-wide threshold as a z and as the pointwise p it corresponds to (the line
        on a -log10 p Manhattan plot).
    """

    loci: pd.DataFrame
    threshold_z: float
    threshold_p: float
    alpha: float
    n_bootstrap: int
    seed: int
    n_individuals: int

    @property
    def n_tested(self) -> int:
        return int(self.loci["tested"].sum())

    @property
    def n_significant(self) -> int:
        return int(self.loci["significant"].sum())

    def describe(self) -> str:
        """One sentence saying what the threshold means."""
        return (
            f"{self.n_significant} of {self.n_tested} loci the model uses raise the test "
            f"prediction error significantly when removed (genome-wide alpha {self.alpha:g}, "
            f"max-T bootstrap over {self.n_individuals} test individuals, "
            f"{self.n_bootstrap} replicates, seed {self.seed})."
        )


def _locus_index(result: ImportanceResult) -> np.ndarray:
    markers = result.alleles["marker"].astype(str).to_numpy()
    codes, uniques = pd.factorize(markers, sort=False)
    if len(uniques) != len(result.loci) or not np.array_equal(
        np.asarray(uniques), result.loci["marker"].astype(str).to_numpy()
    ):
        raise ValueError("the allele table's markers do not follow the locus table's order")
    if len(codes) > 1 and np.any(np.diff(codes) < 0):
        raise ValueError("a locus's allele columns are not contiguous")
    return codes


def locus_loss_increase(result: ImportanceResult) -> np.ndarray:
    """``d[k, l]``: rise in test individual k's error when its alleles at locus l are removed.

    Returns
    -------
    numpy.ndarray
        (n_individuals, n_loci) float64.
    """
    if result.tier != "genotype":
        raise ValueError("significance is defined for genotype loci (the genotype tier)")
    codes = _locus_index(result)
    m = -np.asarray(result.matrix, dtype=np.float64)
    if m.shape[1] == 0:
        return np.zeros((m.shape[0], 0))
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    return np.add.reduceat(m, starts, axis=1)


def locus_significance(
    result: ImportanceResult,
    *,
    alpha: float = 0.05,
    n_bootstrap: int = 1000,
    rng: np.random.Generator | int = 0,
) -> LocusSignificance:
    """Genome-wide significance of each locus (see the module docstring).

    Parameters
    ----------
    result
        Genotype-tier importance (its signed per-individual ``matrix`` is used).
    alpha
        Family-wise error level of the genome-wide threshold.
    n_bootstrap
        Bootstrap replicates of the test individuals (>= 20).
    rng
        ``numpy.random.Generator`` or int seed.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")
    if n_bootstrap < 20:
        raise ValueError(f"n_bootstrap must be at least 20, not {n_bootstrap}")
    seed = int(rng.integers(2**32)) if isinstance(rng, np.random.Generator) else int(rng)
    gen = np.random.default_rng(seed)
    d = locus_loss_increase(result)
    n = d.shape[0]
    if n < 3:
        raise ValueError(f"{n} test individuals: at least 3 are needed for a standard error")
    mean = d.mean(axis=0)
    sd = d.std(axis=0, ddof=1)
    se = sd / np.sqrt(n)
    tested = se > 0
    z = np.zeros_like(mean)
    z[tested] = mean[tested] / se[tested]
    dt, mt, st_ = d[:, tested], mean[tested], se[tested]
    maxima = np.full(n_bootstrap, -np.inf)
    if tested.any():
        step = max(1, (64 << 20) // max(1, 8 * dt.shape[1]))
        for start in range(0, n_bootstrap, step):
            b = min(step, n_bootstrap - start)
            counts = gen.multinomial(n, np.full(n, 1.0 / n), size=b).astype(np.float64)
            t_star = (counts @ dt / n - mt) / st_
            maxima[start : start + b] = t_star.max(axis=1)
    threshold_z = float(np.quantile(maxima, 1 - alpha)) if tested.any() else float("inf")
    p = np.where(tested, 1.0 - ndtr(z), 1.0)
    srt = np.sort(maxima)
    p_genome = np.ones_like(z)
    if tested.any():
        at_or_above = n_bootstrap - np.searchsorted(srt, z[tested], side="left")
        p_genome[tested] = (at_or_above + 1) / (n_bootstrap + 1)
    loci = result.loci[["marker", "chromosome", "position"]].copy()
    loci["loss_increase"] = mean
    loci["se"] = se
    loci["z"] = z
    loci["p"] = p
    loci["p_genome"] = p_genome
    loci["significant"] = tested & (z > threshold_z)
    loci["tested"] = tested
    return LocusSignificance(
        loci=loci,
        threshold_z=threshold_z,
        threshold_p=float(1.0 - ndtr(threshold_z)),
        alpha=float(alpha),
        n_bootstrap=int(n_bootstrap),
        seed=seed,
        n_individuals=n,
    )
