"""Cross-validation and grid-search figures build from the core's tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gpatlas_core import pl
from gpatlas_core.tl import MEDIAN, summarize


def _metrics() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [
        dict(
            fold=f,
            repeat=0,
            seed=0,
            model=m,
            trait=t,
            r2=rng.uniform(),
            pearson=0.5,
            mse=1.0,
            seconds=1.0,
        )
        for f in range(3)
        for m in ("genotype_to_phenotype", "ridge", "lasso")
        for t in ("a", "b", "c")
    ]
    return pd.DataFrame(rows)


def test_cv_r2_sorts_traits_and_draws_each_model_with_error_bars() -> None:
    s = summarize(_metrics())
    fig = pl.cv_r2(s)
    assert len(fig.data) == 3
    ours = s[s["model"] == "genotype_to_phenotype"].set_index("trait")["r2_mean"]
    expected = [MEDIAN, *ours.drop(MEDIAN).sort_values(ascending=False).index]
    assert list(fig.data[0].text) == expected
    np.testing.assert_allclose(fig.data[0].y, ours[expected].to_numpy())
    assert fig.data[0].error_y.array is not None


def test_tune_trials_shows_finished_trials_best_first() -> None:
    trials = pd.DataFrame(
        {"trial": [0, 1, 2], "latent": [4, 8, 16], "score": [0.2, np.nan, 0.3],
         "score_se": [0.01, np.nan, 0.02], "status": ["ok", "failed", "ok"]}
    )  # fmt: skip
    fig = pl.tune_trials(trials, ["latent"])
    assert list(fig.data[0].x) == ["latent=16", "latent=4"]
