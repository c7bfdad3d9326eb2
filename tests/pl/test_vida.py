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
