"""Pictures of how importance agrees with known QTL and simulation truth (paper Figs 3, 7)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..tl._causal import CausalRoc
from ..tl._recovery import Roc

__all__ = [
    "causal_roc",
    "importance_vs_weight",
    "interval_roc_curve",
    "qtl_recovery_curve",
    "variance_explained_scatter",
]

LINE = "#1f3b73"
ACCENT = "#e4572e"


def _layout(fig: go.Figure, title: str, *, square: bool = False) -> go.Figure:
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=420,
        width=480 if square else None,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
    )
    return fig


def qtl_recovery_curve(recovery: pd.DataFrame, *, mark: float | None = 90.0) -> go.Figure:
    """Share of known QTL at or above each importance percentile.

    Parameters
    ----------
    recovery
        :func:`~gpatlas_core.tl.qtl_recovery` output.
    mark
        Percentile to point out (the paper: 93% above the 90th).
    """
    fig = go.Figure(
        go.Scatter(
            x=recovery["percentile"],
            y=recovery["fraction"],
            mode="lines",
            line={"color": LINE},
            customdata=np.stack([recovery["n_recovered"], recovery["n_qtl"]], axis=1),
            hovertemplate=(
                "above the %{x:g}th percentile: %{y:.1%}"
                " (%{customdata[0]} of %{customdata[1]})<extra></extra>"
            ),
            name="known QTL recovered",
        )
    )
    if mark is not None and len(recovery):
        i = int(np.argmin(np.abs(recovery["percentile"].to_numpy() - mark)))
        row = recovery.iloc[i]
        fig.add_trace(
            go.Scatter(
                x=[row["percentile"]],
                y=[row["fraction"]],
                mode="markers+text",
                marker={"color": ACCENT, "size": 9},
                text=[f"{row['fraction']:.0%} ({int(row['n_recovered'])}/{int(row['n_qtl'])})"],
                textposition="bottom left",
                showlegend=False,
                hoverinfo="skip",
            )
        )
    fig.update_xaxes(title_text="Importance threshold (percentile of all loci)", range=[0, 100])
    fig.update_yaxes(title_text="Fraction of known QTL at or above", range=[0, 1.02])
    return _layout(fig, "Known-QTL recovery")


def _roc_figure(roc: Roc, title: str) -> go.Figure:
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            line={"dash": "dash", "color": "grey", "width": 1},
            showlegend=False,
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=roc.fpr,
            y=roc.tpr,
            mode="lines",
            line={"color": LINE},
            name=f"AUC = {roc.auc:.3f}",
            hovertemplate="false positive rate %{x:.3f}<br>true positive rate %{y:.3f}"
            "<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="False positive rate", range=[0, 1], constrain="domain")
    fig.update_yaxes(title_text="True positive rate", range=[0, 1.02], scaleanchor="x")
    fig.update_layout(legend={"x": 0.98, "y": 0.05, "xanchor": "right"})
    return _layout(fig, title, square=True)


def interval_roc_curve(roc: Roc) -> go.Figure:
    """ROC of importance for merged known-QTL intervals vs the gaps between them."""
    return _roc_figure(roc, "Known-QTL intervals vs gaps")


def causal_roc(roc: CausalRoc) -> go.Figure:
    """ROC of allele importance for causal vs non-causal alleles, with the FPR threshold."""
    fig = _roc_figure(roc, "Causal vs non-causal alleles")
    if roc.n_causal_alleles:
        tpr = roc.n_detected_alleles / roc.n_causal_alleles
        fig.add_trace(
            go.Scatter(
                x=[roc.fpr_level],
                y=[tpr],
                mode="markers",
                marker={"color": ACCENT, "size": 9},
                name=(
                    f"{roc.fpr_level:.0%} FPR: {roc.n_detected_alleles}/"
                    f"{roc.n_causal_alleles} alleles"
                ),
            )
        )
    return fig


def variance_explained_scatter(correlation: dict | pd.DataFrame) -> go.Figure:
    """Each known QTL's variance explained against its marker's importance.

    Parameters
    ----------
    correlation
        :func:`~gpatlas_core.tl.variance_explained_correlation` output (or its table).
    """
    table = correlation["table"] if isinstance(correlation, dict) else correlation
    r = correlation.get("r") if isinstance(correlation, dict) else None
    fig = go.Figure(
        go.Scattergl(
            x=table["variance_explained"],
            y=table["importance"],
            mode="markers",
            marker={"color": LINE, "size": 6, "opacity": 0.7},
            customdata=np.stack(
                [
                    table["trait"].astype(str),
                    table["marker"].astype(str),
                    table["chromosome"].astype(str),
                    table["position"],
                ],
                axis=1,
            ),
            hovertemplate=(
                "%{customdata[0]}<br>%{customdata[1]} (chromosome %{customdata[2]}, "
                "%{customdata[3]:,} bp)<br>variance explained %{x:.3g}<br>"
                "importance %{y:.4g}<extra></extra>"
            ),
            showlegend=False,
        )
    )
    fig.update_xaxes(title_text="Variance explained by the known QTL")
    fig.update_yaxes(title_text="Importance of its marker")
    title = "Known QTL: variance explained vs importance"
    if r is not None and np.isfinite(r):
        title += f" (Pearson r = {r:.2f}, n = {correlation['n']})"
    return _layout(fig, title)


def importance_vs_weight(roc: CausalRoc, *, show_noncausal: bool = False) -> go.Figure:
    """Allele importance against its causal weight (simulation truth), with the threshold."""
    t = roc.table
    fig = go.Figure()
    groups = [(t["causal"], "causal alleles", LINE)]
    if show_noncausal:
        groups.append((~t["causal"], "non-causal alleles", "#b0b0b0"))
    for sel, name, colour in groups:
        part = t[sel.to_numpy()]
        fig.add_trace(
            go.Scattergl(
                x=part["weight"],
                y=part["importance"],
                mode="markers",
                marker={"color": colour, "size": 6, "opacity": 0.75},
                name=name,
                customdata=np.stack([part["marker"], part["allele"]], axis=1),
                hovertemplate="%{customdata[0]} allele %{customdata[1]}<br>weight %{x:.3g}"
                "<br>importance %{y:.4g}<extra></extra>",
            )
        )
    if np.isfinite(roc.threshold):
        fig.add_hline(
            y=roc.threshold,
            line={"color": ACCENT, "width": 1.5},
            annotation_text=f"{roc.fpr_level:.0%} false-positive threshold",
            annotation_position="top left",
        )
    fig.update_xaxes(title_text="Additive weight (largest over traits)")
    fig.update_yaxes(title_text="Allele importance (mean squared)")
    return _layout(
        fig,
        f"Importance vs weight: {roc.n_detected_loci}/{roc.n_causal_loci} causal loci detected",
    )
