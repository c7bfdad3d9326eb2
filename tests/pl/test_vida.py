"""VIDA figures build from evaluation results."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from gpatlas_core import pl
from gpatlas_core.tl import (
    candidates_from_truth,
    evaluate_vida,
    importance_by_class,
    kurtosis_test,
    qq_data,
    vida,
    vida_grid,
)


def test_vida_figures_build(vida_setup) -> None:
    ds, mat, rng = vida_setup
    cand = candidates_from_truth(ds)
    scores = vida(mat, ds.allele_columns, candidates=cand, z_threshold=1.5)
    ev = evaluate_vida(scores, ds.truth, rng=rng, n_bootstrap=20)
    figs = [
        pl.vida_roc(ev.roc, auc=ev.auc, youden=ev.youden),
        pl.vida_enrichment(ev.enrichment),
        pl.vida_score_distributions(ev.labelled),
    ]
    a, b = importance_by_class(mat, ds.allele_columns, ds.truth)
    kt = kurtosis_test(a, b, rng=rng, n_bootstrap=50)
    figs.append(pl.vida_qq(qq_data(a, b, rng=rng, n_bootstrap=20), kurtosis=kt))
    figs.append(pl.vida_kurtosis_bootstrap(kt))
    grid = vida_grid(
        mat, ds.allele_columns, candidates=cand, truth=ds.truth, z_thresholds=(1.5, 2.0)
    )
    figs.append(pl.vida_grid_heatmap(grid))
    for fig in figs:
        assert isinstance(fig, go.Figure)
        fig.to_json()
    assert len(figs[-1].data) == 4  # one heatmap per method


def test_roc_figure_without_classes() -> None:
    empty = pd.DataFrame(columns=["fpr", "tpr", "threshold"])
    fig = pl.vida_roc(empty, auc=float("nan"), youden={"sensitivity": float("nan")})
    assert isinstance(fig, go.Figure)


def test_vida_partner_heatmap_cells_are_the_pairs() -> None:
    import numpy as np

    from gpatlas_core.tl import vida_partners

    rng = np.random.default_rng(8)
    n, p = 80, 60
    m = rng.standard_t(4, size=(n, p))
    m[rng.random((n, p)) < 0.3] = 0
    cols = pd.DataFrame(
        {"marker": [f"m{j // 2}" for j in range(p)], "allele": [str(j % 2) for j in range(p)]}
    )
    cols["locus"] = np.arange(p) // 2
    scores = vida(m, cols, candidates=None, z_threshold=1.5)
    partners = vida_partners(m, cols, scores)
    assert len(partners)
    fig = pl.vida_partner_heatmap(partners, top_alleles=4, partners_each=2)
    hm = fig.data[0]
    rows = list(dict.fromkeys(partners["marker"] + " " + partners["allele"]))[:4]
    assert list(hm.y) == rows  # best-scored alleles, in the table's order
    z = np.asarray(hm.z, dtype=float)
    assert z.shape == (4, len(hm.x)) and len(hm.x) <= 8
    assert (np.isfinite(z).sum(axis=1) == 2).all()  # two partners each, the rest blank
    first = partners.iloc[0]
    j = list(hm.x).index(f"{first['partner_marker']} {first['partner_allele']}")
    assert z[0, j] == first["similarity"]
