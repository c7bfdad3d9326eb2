"""Effect plot at one marker (R/qtl2 style) and a LocusZoom-style region view."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..tl._effects import MarkerEffect


def effect_plot(effect: MarkerEffect) -> go.Figure:
    """Observed trait values of the test individuals by genotype class (box and points), with
    each class's mean prediction by G-P Atlas and by ridge."""
    t, c = effect.individuals, effect.by_class
    fig = go.Figure()
    fig.add_trace(
        go.Box(
            x=t["genotype"],
            y=t["observed"],
            name="observed",
            boxpoints="all",
            jitter=0.4,
            pointpos=0,
            marker={"size": 4, "color": "#9d9d9d"},
            line={"color": "#6f6f6f"},
            text=t["sample"],
            hovertemplate="%{text}: %{y:.4g}<extra>observed</extra>",
        )
    )
    for name, col, colour, symbol in (
        ("G-P Atlas prediction (class mean)", "gpatlas_mean", "#1f77b4", "diamond"),
        ("ridge prediction (class mean)", "ridge_mean", "#ff7f0e", "x"),
    ):
        if c[col].notna().any():
            fig.add_trace(
                go.Scatter(
                    x=c["genotype"],
                    y=c[col],
                    mode="markers+lines",
                    name=name,
                    marker={"size": 12, "color": colour, "symbol": symbol},
                    line={"color": colour, "dash": "dot"},
                    hovertemplate="genotype %{x}: %{y:.4g}<extra>" + name + "</extra>",
                )
            )
    counts = ", ".join(f"{g}: {n}" for g, n in zip(c["genotype"], c["n"], strict=True))
    fig.update_layout(
        title=f"{effect.trait} by genotype at {effect.marker} (test individuals; {counts})",
        xaxis_title=f"genotype at {effect.marker}",
        yaxis_title=effect.trait,
        template="plotly_white",
        height=420,
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def region_plot(
    loci: pd.DataFrame,
    column: str,
    linkage: pd.DataFrame,
    lead: str,
    *,
    known_qtl: pd.DataFrame | None = None,
) -> go.Figure:
    """The loci of one region (one chromosome, x = position): importance ``column``, coloured by
    r^2 with the ``lead`` marker (``linkage``: ``marker, r2``), the lead as a diamond, known
    QTL of the region as bands."""
    part = loci.merge(linkage, on="marker", how="left")
    r2 = part["r2"].fillna(0.0).to_numpy()
    is_lead = part["marker"].astype(str).to_numpy() == str(lead)
    fig = go.Figure(
        go.Scatter(
            x=part["position"],
            y=part[column],
            mode="markers",
            marker={
                "size": np.where(is_lead, 14, 7),
                "symbol": np.where(is_lead, "diamond", "circle"),
                "color": r2,
                "colorscale": "Turbo",
                "cmin": 0,
                "cmax": 1,
                "colorbar": {"title": {"text": f"r² with {lead}", "side": "right"}, "x": 1.02},
            },
            text=part["marker"],
            customdata=r2,
            hovertemplate="%{text}<br>%{x:,} bp<br>importance %{y:.3g}"
            "<br>r² with lead %{customdata:.2f}<extra></extra>",
            showlegend=False,
        )
    )
    if known_qtl is not None:
        for r in known_qtl.itertuples(index=False):
            fig.add_vrect(x0=r.ci_left, x1=r.ci_right, fillcolor="rgba(76,120,168,0.15)",
                          line_width=0, layer="below")  # fmt: skip
    chrom = str(part["chromosome"].iloc[0]) if len(part) else "?"
    fig.update_layout(
        title=f"Region on chromosome {chrom}: {len(part)} loci, lead {lead}",
        xaxis_title=f"position on chromosome {chrom} (bp)",
        yaxis_title="importance",
        yaxis_tickformat=".3g",
        template="plotly_white",
        height=400,
        margin={"r": 90},
    )
    return fig
