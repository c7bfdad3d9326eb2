"""In-silico experiment figures build from swap, cross and ranking results."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
from experiment_toys import random_linear_run

from gpatlas_core import pl, tl

pytestmark = pytest.mark.usefixtures("one_thread")


def test_experiment_figures_build(tiny_dataset) -> None:
    ds = tiny_dataset
    run = random_linear_run(ds)
    swaps = tl.swaps_for_markers(ds, list(ds.markers["marker"].iloc[:2]))
    res = tl.allele_swaps(run, ds, swaps)
    heat = pl.swap_heatmap(res.summary)
    assert [t.type for t in heat.data] == ["heatmap", "heatmap"]  # G-P Atlas | ridge
    z = np.asarray(heat.data[0].z, dtype=float)
    assert z.shape == (ds.n_traits, len(res.sets))
    s = res.summary
    first = s[(s["set"] == res.sets[0]) & (s["trait"] == ds.traits[0])].iloc[0]
    assert z[0, 0] == pytest.approx(first["mean_change"] / first["phenotype_sd"])
    only_gp = tl.allele_swaps(run, ds, swaps, with_ridge=False)
    assert len(pl.swap_heatmap(only_gp.summary, scale="original").data) == 1
    dist = pl.swap_distribution(res, res.sets[1])
    assert {t.name for t in dist.data} == {"G-P Atlas", "Ridge (additive)"}
    c = tl.cross(run, ds, (ds.samples[0], ds.samples[3]), rng=0)
    figs = [
        pl.progeny_distributions(c),
        pl.progeny_distributions(c, scale="original"),
        pl.progeny_histogram(c, ds.traits[2]),
        pl.parent_ranking(tl.rank_parents(run, ds, k=3, trait=ds.traits[0], rng=0)),
    ]
    for fig in [heat, dist, *figs]:
        assert isinstance(fig, go.Figure) and fig.to_json()
    names = [t.name for t in figs[0].data]
    assert names[:2] == ["G-P Atlas progeny", "Ridge progeny"]
    assert names[2].startswith("parent A") and names[3].startswith("parent B")
