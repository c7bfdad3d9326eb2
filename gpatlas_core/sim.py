"""Simulated genotype-phenotype data with known causal alleles and interactions.

Implements docs/method.md section 7 (Avasthi, Mets, York 2024): additive allele weights, pleiotropy,
multiplicative pairwise interactions and a small positive noise term. Everything random comes
from the ``rng`` passed in.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .io._dataset import DataError, Dataset, Truth

__all__ = ["SimulationConfig", "simulate", "simulated_signal"]

WEIGHT_HIGH = 10.0
"""Allele weights are drawn from uniform(0, WEIGHT_HIGH)."""
N_CHROMOSOMES = 10
"""Synthetic marker map: loci are spread evenly over this many chromosomes."""
LOCUS_SPACING_BP = 10_000


@dataclass
class SimulationConfig:
    """Parameters of the simulation (defaults: the published 600 x 3,000 x 30 data set).

    Attributes
    ----------
    n_individuals, n_loci, n_alleles, n_traits
        Sizes: individuals, loci, allele states per locus, traits.
    causal_per_trait
        Number of causal loci each trait ends up with (``n_ip``).
    p_pleiotropy
        Probability that a causal locus of one trait is added to each other trait.
    p_interaction
        Probability that a pair of causal loci of a trait interacts (multiplicatively).
    noise
        Mean of the uniform noise term as a fraction of the trait's mean phenotype.
    """

    n_individuals: int = 600
    n_loci: int = 3000
    n_alleles: int = 3
    n_traits: int = 30
    causal_per_trait: int = 10
    p_pleiotropy: float = 0.2
    p_interaction: float = 0.2
    noise: float = 0.01

    def validate(self) -> None:
        """Raise :class:`DataError` when the parameters cannot make a data set."""
        for name in ("n_individuals", "n_loci", "n_alleles", "n_traits", "causal_per_trait"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise DataError(f"simulation: {name} must be a positive integer, got {value!r}")
        if self.n_alleles > 100:
            raise DataError(f"simulation: n_alleles must be at most 100, got {self.n_alleles}")
        if self.causal_per_trait > self.n_loci:
            raise DataError(
                f"simulation: causal_per_trait ({self.causal_per_trait}) cannot exceed "
                f"n_loci ({self.n_loci})"
            )
        for name in ("p_pleiotropy", "p_interaction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise DataError(f"simulation: {name} must be in [0, 1], got {value!r}")
        if not (np.isfinite(self.noise) and self.noise >= 0):
            raise DataError(f"simulation: noise must be >= 0, got {self.noise!r}")


def _names(prefix: str, n: int) -> list[str]:
    width = max(len(str(n)), 2 if prefix == "trait_" else 4)
    return [f"{prefix}{i + 1:0{width}d}" for i in range(n)]


def _marker_map(names: list[str]) -> pd.DataFrame:
    n = len(names)
    n_chrom = min(N_CHROMOSOMES, n)
    chrom_of = np.minimum((np.arange(n) * n_chrom) // n, n_chrom - 1)
    starts = np.searchsorted(chrom_of, np.arange(n_chrom))
    position = (np.arange(n) - starts[chrom_of] + 1) * LOCUS_SPACING_BP
    return pd.DataFrame(
        {
            "marker": pd.Series(names, dtype=object),
            "chromosome": pd.Series([str(c + 1) for c in chrom_of], dtype=object),
            "position": position.astype(np.int64),
        }
    )


def _architecture(
    cfg: SimulationConfig, rng: np.random.Generator
) -> tuple[list[np.ndarray], list[np.ndarray], list[list[tuple[int, int, int]]]]:
    """Causal loci, their weights and interacting pairs per trait (steps 1, 2 and 4)."""
    m, n_ip, a = cfg.n_traits, cfg.causal_per_trait, cfg.n_alleles
    # 1. each trait draws n_ip loci, each with a weight per allele state
    loci0 = [rng.choice(cfg.n_loci, size=n_ip, replace=False) for _ in range(m)]
    weights0 = [rng.uniform(0.0, WEIGHT_HIGH, size=(n_ip, a)) for _ in range(m)]
    # 2. pleiotropy: each original causal locus of trait t joins each other trait with p_pleio,
    #    keeping its weights (a locus already causal for the receiving trait keeps its own)
    pool: list[dict[int, np.ndarray]] = [
        {int(loc): w for loc, w in zip(loci0[t], weights0[t], strict=True)} for t in range(m)
    ]
    joins = rng.random((m, n_ip, m)) < cfg.p_pleiotropy
    for t in range(m):
        for c in range(n_ip):
            for u in np.flatnonzero(joins[t, c]):
                if u != t:
                    pool[u].setdefault(int(loci0[t][c]), weights0[t][c])
    loci: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    for t in range(m):
        cand = np.fromiter(pool[t].keys(), dtype=np.int64)
        keep = np.sort(rng.choice(len(cand), size=n_ip, replace=False))
        loci.append(cand[keep])
        weights.append(np.stack([pool[t][int(loc)] for loc in cand[keep]]))
    # 4. interactions: each pair of a trait's causal loci (in the trait's order) interacts
    #    with p_interact unless one of them already interacts in that trait
    pairs: list[list[tuple[int, int, int]]] = []
    for _t in range(m):
        busy = np.zeros(n_ip, dtype=bool)
        found: list[tuple[int, int, int]] = []
        draws = rng.random((n_ip, n_ip))
        states = rng.integers(0, a, size=(n_ip, n_ip))
        for i in range(n_ip):
            for j in range(i + 1, n_ip):
                if draws[i, j] < cfg.p_interaction and not busy[i] and not busy[j]:
                    busy[i] = busy[j] = True
                    found.append((i, j, int(states[i, j])))
        pairs.append(found)
    return loci, weights, pairs


def simulated_signal(
    genotype_codes: np.ndarray, truth: Truth, markers: list[str], traits: list[str]
) -> np.ndarray:
    """Noise-free phenotypes computed from the truth tables (float64, n x m).

    Each causal locus adds the weight of the carried allele; in an individual carrying the
    interaction state at both loci of an interacting pair, ``marker_a`` adds the product of the
    two weights of that state and ``marker_b`` adds nothing.
    """
    col = {name: j for j, name in enumerate(markers)}
    n = genotype_codes.shape[0]
    out = np.zeros((n, len(traits)), dtype=np.float64)
    causal = truth.causal
    for t, trait in enumerate(traits):
        rows = causal[causal["trait"] == trait]
        if rows.empty:
            continue
        table: dict[str, dict[int, float]] = {}
        for marker, allele, weight in zip(
            rows["marker"], rows["allele"], rows["weight"], strict=True
        ):
            table.setdefault(marker, {})[int(allele)] = float(weight)
        contrib = {}
        for marker, wmap in table.items():
            w = np.array([wmap[k] for k in range(max(wmap) + 1)])
            contrib[marker] = w[genotype_codes[:, col[marker]]]
        inter = truth.interactions[truth.interactions["trait"] == trait]
        for ma, mb, allele in zip(
            inter["marker_a"], inter["marker_b"], inter["allele"], strict=True
        ):
            k = int(allele)
            both = (genotype_codes[:, col[ma]] == k) & (genotype_codes[:, col[mb]] == k)
            contrib[ma] = np.where(both, table[ma][k] * table[mb][k], contrib[ma])
            contrib[mb] = np.where(both, 0.0, contrib[mb])
        out[:, t] = np.sum(list(contrib.values()), axis=0)
    return out


def simulate(cfg: SimulationConfig | None = None, *, rng: np.random.Generator) -> Dataset:
    """Simulate a data set with known architecture (docs/method.md section 7).

    Parameters
    ----------
    cfg
        Sizes and probabilities; the published defaults when ``None``.
    rng
        Source of all randomness.

    Returns
    -------
    Dataset
        Genotype codes ``0..n_alleles-1`` (allele labels ``"0"``, ``"1"``, ...), float32
        phenotypes, a synthetic marker map over 10 chromosomes, and ``truth`` with the
        causal alleles (every allele state of every causal locus and trait, with its weight)
        and the interacting pairs with their allele state.
    """
    cfg = cfg or SimulationConfig()
    cfg.validate()
    n, n_loci, a, m = cfg.n_individuals, cfg.n_loci, cfg.n_alleles, cfg.n_traits
    loci, weights, pairs = _architecture(cfg, rng)
    # 3. genotypes: uniformly random allele state at every locus of every individual
    codes = rng.integers(0, a, size=(n, n_loci), dtype=np.int8)
    # 5. phenotypes = sum of contributions (+ interactions) + scaled uniform noise
    signal = np.empty((n, m), dtype=np.float64)
    for t in range(m):
        g = codes[:, loci[t]].astype(np.int64)  # (n, n_ip)
        contrib = np.take_along_axis(weights[t].T, g, axis=0)  # weights[t].T: (a, n_ip)
        for i, j, k in pairs[t]:
            both = (g[:, i] == k) & (g[:, j] == k)
            contrib[both, i] = weights[t][i, k] * weights[t][j, k]
            contrib[both, j] = 0.0
        signal[:, t] = contrib.sum(axis=1)
    draws = rng.random((n, m))
    mean_draw = draws.mean(axis=0)
    scale = np.divide(
        cfg.noise * signal.mean(axis=0), mean_draw, out=np.zeros(m), where=mean_draw > 0
    )
    phenotypes = (signal + draws * scale).astype(np.float32)

    marker_names = _names("locus_", n_loci)
    traits = _names("trait_", m)
    labels = tuple(str(k) for k in range(a))
    causal = pd.DataFrame(
        {
            "marker": pd.Series(
                [marker_names[loc] for t in range(m) for loc in loci[t] for _ in range(a)],
                dtype=object,
            ),
            "allele": pd.Series(labels * (m * cfg.causal_per_trait), dtype=object),
            "trait": pd.Series(
                [traits[t] for t in range(m) for _ in range(cfg.causal_per_trait * a)],
                dtype=object,
            ),
            "weight": np.concatenate([w.ravel() for w in weights]),
        }
    )
    inter_rows = [
        (traits[t], marker_names[loci[t][i]], marker_names[loci[t][j]], labels[k])
        for t in range(m)
        for i, j, k in pairs[t]
    ]
    interactions = pd.DataFrame(
        {
            key: pd.Series([r[c] for r in inter_rows], dtype=object)
            for c, key in enumerate(("trait", "marker_a", "marker_b", "allele"))
        }
    )
    return Dataset(
        samples=np.array(_names("ind_", n), dtype=object),
        genotype_codes=codes,
        alleles=[labels] * n_loci,
        markers=_marker_map(marker_names),
        phenotypes=phenotypes,
        traits=traits,
        known_qtl=None,
        truth=Truth(causal=causal, interactions=interactions),
        missing_policy="own_state",
        name="simulation",
        source="simulation",
        # every simulated individual has both a genotype and phenotypes: all are matched
        report={
            "format": "simulation",
            "simulation": dataclasses.asdict(cfg),
            "genotype_samples": n,
            "phenotype_samples": n,
            "matched_samples": n,
        },
    )
