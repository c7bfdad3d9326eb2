"""Latent-space picture: t-SNE of the phenotype and genotype encoders' codes, side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

if TYPE_CHECKING:
    from ..tl._tsne import LatentEmbedding

_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#7f7f7f")


def latent_tsne(
    embedding: LatentEmbedding,
    *,
    color: np.ndarray | None = None,
    color_label: str = "",
    categorical: bool = False,
) -> go.Figure:
    """Two t-SNE panels (from phenotypes, from genotypes) of the same individuals.

    Parameters
    ----------
    embedding
        Result of :func:`gpatlas_core.tl.embed_latents`.
    color
        One value per embedded individual (a trait value, or a genotype label); ``None``
        draws all points in one colour. Missing values (NaN) are drawn light grey, in
        their own legend entry.
    color_label
        Legend / colour bar title, e.g. the trait or marker name.
    categorical
        Colour by category (genotype states) instead of a continuous scale.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Latent code from phenotypes (Q)", "Latent code from genotypes (GQ)"),
        horizontal_spacing=0.08,
    )
    samples = np.asarray(embedding.samples).astype(str)
    panels = ((1, embedding.phenotype), (2, embedding.genotype))
    if color is not None and categorical:
        labels = np.asarray(color).astype(str)
        for k, lab in enumerate(sorted(set(labels))):
            sel = labels == lab
            for col, xy in panels:
                fig.add_trace(
                    go.Scattergl(
                        x=xy[sel, 0],
                        y=xy[sel, 1],
                        mode="markers",
                        name=f"{color_label} = {lab}" if color_label else lab,
                        legendgroup=lab,
                        showlegend=col == 1,
                        marker={"size": 7, "color": _PALETTE[k % len(_PALETTE)]},
                        text=samples[sel],
                        hovertemplate=f"%{{text}}<br>{color_label}: {lab}<extra></extra>",
                    ),
                    row=1,
                    col=col,
                )
    else:
        values = None if color is None else np.asarray(color, dtype=float)
        missing = np.zeros(len(samples), bool) if values is None else ~np.isfinite(values)
        for col, xy in panels:
            marker: dict = {"size": 7}
            hover = "%{text}<extra></extra>"
            if values is not None:
                marker.update(
                    color=values[~missing],
                    colorscale="Viridis",
                    showscale=col == 2,
                    colorbar={"title": {"text": color_label}},
                )
                hover = f"%{{text}}<br>{color_label}: %{{marker.color:.3g}}<extra></extra>"
            fig.add_trace(
                go.Scattergl(
                    x=xy[~missing, 0],
                    y=xy[~missing, 1],
                    mode="markers",
                    showlegend=False,
                    marker=marker,
                    text=samples[~missing],
                    hovertemplate=hover,
                ),
                row=1,
                col=col,
            )
            if missing.any():
                fig.add_trace(
                    go.Scattergl(
                        x=xy[missing, 0],
                        y=xy[missing, 1],
                        mode="markers",
                        name=f"{color_label} missing",
                        legendgroup="missing",
                        showlegend=col == 1,
                        marker={"size": 6, "color": "#c8c8c8"},
                        text=samples[missing],
                        hovertemplate=f"%{{text}}<br>{color_label}: missing<extra></extra>",
                    ),
                    row=1,
                    col=col,
                )
    fig.update_xaxes(title_text="t-SNE 1", showticklabels=False)
    fig.update_yaxes(title_text="t-SNE 2", showticklabels=False)
    p = embedding.params
    fig.update_layout(
        title=f"t-SNE of {p.get('n', len(samples))} test individuals "
        f"(perplexity {p.get('perplexity', '?')}, seed {p.get('seed', '?')})",
        height=480,
        margin={"t": 80},
    )
    return fig
