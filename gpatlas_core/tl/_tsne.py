"""One t-SNE map of the test individuals' latent codes from both encoders.

The phenotype encoder's codes Q(t) are embedded with openTSNE; the genotype encoder's codes
GQ(x), which live in the same latent space (both feed the decoder P), are then placed into that
same map with ``TSNEEmbedding.transform``: each genotype code is positioned against the
phenotype codes alone, so its place says which individuals' trait codes it resembles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..io import DataError

if TYPE_CHECKING:
    from ..io import Dataset

TRANSFORM_PERPLEXITY = 5.0
"""openTSNE's advice for placing new points: a small perplexity (neighbours in the map)."""


@dataclass
class LatentEmbedding:
    """2-d t-SNE coordinates of the same test individuals seen by both encoders, in one map.

    Attributes
    ----------
    samples
        Sample ids of the embedded individuals, shape (n,).
    rows
        Their row indices in the dataset (for colouring by a trait or a genotype).
    phenotype
        Map coordinates (n, 2) of the phenotype encoder's codes Q(t) (the embedded reference).
    genotype
        Map coordinates (n, 2) of the genotype encoder's codes GQ(x), placed into the same map.
    latent_distance
        Euclidean distance between an individual's two codes in the latent space itself, (n,).
    neighbour_rank
        For each individual, how many other individuals' phenotype codes lie closer (in the
        latent space) to its genotype code than its own phenotype code does; 0 means the
        genotype code is nearest its own individual.
    params
        How it was made: perplexities, seed, latent size, n, method.
    """

    samples: np.ndarray
    rows: np.ndarray
    phenotype: np.ndarray
    genotype: np.ndarray
    latent_distance: np.ndarray
    neighbour_rank: np.ndarray
    params: dict = field(default_factory=dict)

    @property
    def map_distance(self) -> np.ndarray:
        """Distance between an individual's two points in the map, (n,)."""
        return np.linalg.norm(self.phenotype - self.genotype, axis=1)

    def to_frame(self) -> pd.DataFrame:
        """One row per individual: both points, their map and latent distances (downloads)."""
        return pd.DataFrame(
            {
                "sample": self.samples,
                "phenotype_tsne_1": self.phenotype[:, 0],
                "phenotype_tsne_2": self.phenotype[:, 1],
                "genotype_tsne_1": self.genotype[:, 0],
                "genotype_tsne_2": self.genotype[:, 1],
                "map_distance": self.map_distance,
                "latent_distance": self.latent_distance,
                "neighbour_rank": self.neighbour_rank,
            }
        )


def tsne_max_perplexity(n: int) -> float:
    """The largest perplexity openTSNE can use on ``n`` points (3 x perplexity neighbours)."""
    return (n - 1) / 3


def _neighbour_rank(z_pheno: np.ndarray, z_geno: np.ndarray) -> np.ndarray:
    d = np.linalg.norm(z_geno[:, None, :] - z_pheno[None, :, :], axis=2)  # (n, n)
    own = np.diag(d)
    return (d < own[:, None]).sum(axis=1).astype(np.int64)


def embed_latents(
    run,
    dataset: Dataset,
    *,
    perplexity: float = 30.0,
    seed: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
) -> LatentEmbedding:
    """One t-SNE map of the test individuals' codes from Q (phenotypes) and GQ (genotypes).

    Parameters
    ----------
    run
        A trained :class:`gpatlas_core.run.Run` on ``dataset``.
    dataset
        The dataset the run was trained on.
    perplexity
        Perplexity of the phenotype-code embedding; at most (n - 1) / 3 for n test
        individuals. Genotype codes are placed with ``min(5, perplexity)``.
    seed
        Seed of the embedding's initialisation and optimisation.
    on_progress
        Called as ``on_progress(done, 2)`` after the embedding and after the placement.

    Returns
    -------
    LatentEmbedding
        Coordinates of both code sets in one map, with the parameters that made them.
    """
    from openTSNE import TSNE

    rows = np.asarray(run.test_rows(dataset))
    n = len(rows)
    if n < 5:
        raise DataError(f"t-SNE needs at least 5 test individuals; this run has {n}")
    top = tsne_max_perplexity(n)
    if not 1 <= perplexity <= top:
        raise DataError(
            f"perplexity must be between 1 and {top:.3g} ((n - 1) / 3 for the {n} test "
            f"individuals); got {perplexity:g}"
        )
    t, _mask = run.phenotype_inputs(dataset, rows)
    z_pheno = np.asarray(run.latent_from_phenotypes(t), dtype=np.float64)
    z_geno = np.asarray(run.latent_dataset(dataset, rows), dtype=np.float64)
    tsne = TSNE(perplexity=float(perplexity), random_state=int(seed), n_jobs=1)
    reference = tsne.fit(z_pheno)
    if on_progress is not None:
        on_progress(1, 2)
    place_perplexity = min(TRANSFORM_PERPLEXITY, float(perplexity))
    k = min(25, n)
    placed = reference.transform(z_geno, perplexity=place_perplexity, k=k)
    if on_progress is not None:
        on_progress(2, 2)
    # transform() re-centres the reference in place: read both after it
    return LatentEmbedding(
        samples=np.asarray(dataset.samples)[rows],
        rows=rows,
        phenotype=np.array(reference, dtype=np.float32),
        genotype=np.array(placed, dtype=np.float32),
        latent_distance=np.linalg.norm(z_pheno - z_geno, axis=1),
        neighbour_rank=_neighbour_rank(z_pheno, z_geno),
        params={
            "perplexity": float(perplexity),
            "transform_perplexity": place_perplexity,
            "transform_k": int(k),
            "seed": int(seed),
            "n": int(n),
            "latent": int(z_geno.shape[1]),
            "method": "openTSNE.TSNE(Q codes) + TSNEEmbedding.transform(GQ codes)",
        },
    )
