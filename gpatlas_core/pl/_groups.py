"""Pictures of a grouped (BINN-style) encoder: group ablation importance and the trait x group
latent sensitivity."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go


def group_importance_bar(table: pd.DataFrame, *, top: int = 30) -> go.Figure:
    """The ``top`` groups by ablation importance (``tl.group_importance``'s table), largest
    first; hover: markers and span."""
    df = table.sort_values("importance", ascending=False).head(top).iloc[::-1]
    hover = [
        f"{g}<br>{n} markers, chr {c}: {s:,.0f}-{e:,.0f}<br>importance {v:.4g}"
        for g, n, c, s, e, v in zip(
            df["group"], df["n_markers"], df["chromosome"], df["start"], df["end"],
            df["importance"], strict=True,
        )
    ]  # fmt: skip
    fig = go.Figure(
        go.Bar(
            x=df["importance"],
            y=df["group"],
            orientation="h",
            hovertext=hover,
            hoverinfo="text",
            marker_color="#4c78a8",
        )
    )
    fig.update_layout(
        xaxis_title="group ablation importance (mean squared, all columns of the group)",
        height=max(300, 18 * len(df) + 80),
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
    )
    return fig


def sensitivity_heatmap(sens: pd.DataFrame, *, top: int = 30) -> go.Figure:
    """Traits x the ``top`` groups of largest total sensitivity (``tl.latent_sensitivity``)."""
    order = sens.sum(axis=0).sort_values(ascending=False).index[:top]
    df = sens[order]
    fig = go.Figure(
        go.Heatmap(
            z=df.to_numpy(),
            x=[str(c) for c in df.columns],
            y=[str(i) for i in df.index],
            colorscale="Viridis",
            colorbar={"title": "|d trait / d units|"},
            hovertemplate="trait %{y}<br>group %{x}<br>sensitivity %{z:.4g}<extra></extra>",
        )
    )
    fig.update_layout(
        height=max(320, 14 * len(df.index) + 140),
        margin={"l": 10, "r": 10, "t": 30, "b": 80},
        xaxis_title="group",
    )
    return fig
