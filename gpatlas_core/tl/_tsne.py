"""t-SNE of the latent codes of test individuals, from the phenotype and the genotype encoder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..io import DataError

if TYPE_CHECKING:
    from ..io import Dataset


@dataclass
class LatentEmbedding:
    """2-d t-SNE coordinates of the same test individuals seen by both encoders.

    Attributes
    ----------
    samples
        Sample ids of the embedded individuals, shape (n,).
    rows
        Their row indices in the dataset (for colouring by a trait or a genotype).
    phenotype, genotype
        Coordinates (n, 2) of the latent codes from the phenotype encoder Q and from the
        genotype encoder GQ.
    params
        How it was made: perplexity, seed, latent size, n.
    """

    samples: np.ndarray
    rows: np.ndarray
    phenotype: np.ndarray
    genotype: np.ndarray
    params: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Long table ``sample, encoder, tsne_1, tsne_2`` (for downloads)."""
        parts = []
        for name, xy in (("phenotype", self.phenotype), ("genotype", self.genotype)):
            parts.append(
                pd.DataFrame(
                    {
                        "sample": self.samples,
                        "encoder": name,
                        "tsne_1": xy[:, 0],
                        "tsne_2": xy[:, 1],
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)


def _tsne(z: np.ndarray, *, perplexity: float, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    tsne = TSNE(n_components=2, perplexity=perplexity, random_state=seed, init="pca")
    return tsne.fit_transform(np.asarray(z, dtype=np.float64)).astype(np.float32)


def embed_latents(
    run,
    dataset: Dataset,
    *,
    perplexity: float = 30.0,
    seed: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
) -> LatentEmbedding:
    """t-SNE of the test individuals' latent codes from Q (phenotypes) and GQ (genotypes).

    Parameters
    ----------
    run
        A trained :class:`gpatlas_core.run.Run` on ``dataset``.
    dataset
        The dataset the run was trained on.
    perplexity
        t-SNE perplexity; must be smaller than the number of test individuals.
    seed
        Seed of the t-SNE initialisation and optimisation.
    on_progress
        Called as ``on_progress(done, total)`` after each of the two embeddings.

    Returns
    -------
    LatentEmbedding
        Coordinates for both encoders, with the parameters that made them.
    """
    rows = np.asarray(run.test_rows(dataset))
    n = len(rows)
    if n < 5:
        raise DataError(f"t-SNE needs at least 5 test individuals; this run has {n}")
    if not 1 <= perplexity < n:
        raise DataError(
            f"perplexity must be between 1 and the number of test individuals ({n}); "
            f"got {perplexity:g}"
        )
    t, _mask = run.phenotype_inputs(dataset, rows)
    codes = {
        "phenotype": run.latent_from_phenotypes(t),
        "genotype": run.latent_dataset(dataset, rows),
    }
    out = {}
    for i, (name, z) in enumerate(codes.items()):
        out[name] = _tsne(z, perplexity=perplexity, seed=seed)
        if on_progress is not None:
            on_progress(i + 1, len(codes))
    return LatentEmbedding(
        samples=np.asarray(dataset.samples)[rows],
        rows=rows,
        phenotype=out["phenotype"],
        genotype=out["genotype"],
        params={
            "perplexity": float(perplexity),
            "seed": int(seed),
            "n": int(n),
            "latent": int(np.asarray(codes["genotype"]).shape[1]),
            "method": "sklearn.manifold.TSNE(init='pca')",
        },
    )
