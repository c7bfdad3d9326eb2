"""Figures of the grouped encoder: group importance bars and the sensitivity heatmap."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gpatlas_core import pl


def test_group_importance_bar_top_groups_largest_first() -> None:
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "group": [f"g{i}" for i in range(40)],
            "n_markers": rng.integers(1, 9, 40),
            "chromosome": ["1"] * 40,
            "start": np.arange(40) * 1000,
            "end": np.arange(40) * 1000 + 900,
            "importance": rng.random(40),
        }
    )
    fig = pl.group_importance_bar(table, top=10)
    bars = fig.data[0]
    assert len(bars.y) == 10
    assert bars.y[-1] == table.loc[table["importance"].idxmax(), "group"]  # top bar = largest
    assert list(bars.x) == sorted(bars.x)


def test_sensitivity_heatmap_keeps_the_most_sensitive_groups() -> None:
    sens = pd.DataFrame(
        [[0.1, 5.0, 0.2], [0.3, 4.0, 0.1]], index=["t1", "t2"], columns=["a", "b", "c"]
    )
    fig = pl.sensitivity_heatmap(sens, top=2)
    assert list(fig.data[0].x) == ["b", "a"] and list(fig.data[0].y) == ["t1", "t2"]
