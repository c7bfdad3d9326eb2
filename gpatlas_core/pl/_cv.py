"""Cross-validation and grid-search pictures: per-trait R^2 with error bars, trial scores."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from ..tl._cv import MEDIAN, MODEL
from ..tl._metrics import MODEL_LABELS

COLOURS = {"genotype_to_phenotype": "#1f77b4", "ridge": "#7f7f7f", "lasso": "#ff7f0e"}


def cv_r2(summary: pd.DataFrame, *, models: Sequence[str] = (MODEL, "ridge", "lasso")) -> go.Figure:
    """Mean test R^2 over folds per trait, +- one standard error, for each model; traits
    sorted by G-P Atlas's mean, the median over traits first."""
    s = summary[summary["model"].isin(models)]
    ours = s[s["model"] == MODEL].set_index("trait")["r2_mean"]
    order = [MEDIAN, *ours.drop(MEDIAN, errors="ignore").sort_values(ascending=False).index]
    fig = go.Figure()
    for k, model in enumerate(m for m in models if m in set(s["model"])):
        part = s[s["model"] == model].set_index("trait").reindex(order)
        fig.add_trace(
            go.Scatter(
                x=list(range(len(order))),
                y=part["r2_mean"],
                error_y={"type": "data", "array": part["r2_se"].fillna(0), "visible": True},
                mode="markers",
                marker={"color": COLOURS.get(model), "size": 7, "symbol": k},
                name=MODEL_LABELS.get(model, model),
                text=order,
                hovertemplate="%{text}<br>R² %{y:.3f} ± %{error_y.array:.3f}<extra>"
                + MODEL_LABELS.get(model, model)
                + "</extra>",
            )
        )
    fig.update_xaxes(
        tickmode="array",
        tickvals=list(range(len(order))),
        ticktext=["median of traits", *order[1:]],
        tickangle=-60,
    )
    fig.update_yaxes(title="test R² (mean ± SE over folds)")
    fig.update_layout(
        height=420, legend={"orientation": "h", "y": 1.12}, margin={"t": 40, "b": 140}
    )
    return fig


def tune_trials(trials: pd.DataFrame, fields: Sequence[str]) -> go.Figure:
    """Each finished trial's CV score +- SE, best first, labelled by its grid point."""
    ok = trials[trials["status"] == "ok"].sort_values("score", ascending=False)
    labels = [", ".join(f"{f}={row[f]}" for f in fields) for _, row in ok.iterrows()]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=ok["score"],
            error_y={"type": "data", "array": ok["score_se"].fillna(0), "visible": True},
            marker_color=COLOURS[MODEL],
            hovertemplate="%{x}<br>CV median R² %{y:.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(title="CV median test R² (mean ± SE)")
    fig.update_layout(height=380, margin={"t": 30, "b": 120})
    return fig
