"""Quality-control pictures of a dataset: traits, allele states, marker density."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

if TYPE_CHECKING:
    from ..io import Dataset


def trait_histograms(
    dataset: Dataset, *, traits: list[str] | None = None, cols: int = 4
) -> go.Figure:
    """One histogram per trait (missing values left out), in a grid.

    Parameters
    ----------
    dataset
        The dataset.
    traits
        Which traits to draw (default: the first 12).
    cols
        Panels per row.
    """
    traits = list(traits) if traits is not None else list(dataset.traits[:12])
    rows = max(1, math.ceil(len(traits) / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=traits)
    index = {t: i for i, t in enumerate(dataset.traits)}
    for k, trait in enumerate(traits):
        values = dataset.phenotypes[:, index[trait]]
        values = values[~np.isnan(values)]
        fig.add_trace(
            go.Histogram(x=values, nbinsx=30, name=trait, showlegend=False, marker_color="#4c78a8"),
            row=k // cols + 1,
            col=k % cols + 1,
        )
    fig.update_layout(height=220 * rows, title="Trait values (missing left out)", bargap=0.05)
    fig.update_annotations(font_size=11)
    return fig


def trait_correlation(dataset: Dataset) -> go.Figure:
    """Heatmap of pairwise Pearson correlations between traits (pairwise-complete samples)."""
    frame = pd.DataFrame(dataset.phenotypes, columns=dataset.traits)
    corr = frame.corr(min_periods=3).to_numpy()
    fig = go.Figure(
        go.Heatmap(
            z=corr,
            x=dataset.traits,
            y=dataset.traits,
            zmin=-1,
            zmax=1,
            colorscale="RdBu_r",
            colorbar={"title": {"text": "Pearson r"}},
            hovertemplate="%{y} vs %{x}<br>r = %{z:.2f}<extra></extra>",
        )
    )
    size = min(1400, 250 + 16 * len(dataset.traits))
    every = {"tickmode": "array", "tickvals": list(dataset.traits), "tickfont": {"size": 10}}
    fig.update_layout(
        title="Correlation between traits",
        height=size,
        yaxis={"autorange": "reversed", **every},
        xaxis={"tickangle": -60, **every},
    )
    return fig


def _chrom_order(labels: pd.Series) -> list[str]:
    def key(c: str) -> tuple[int, int | str]:
        return (0, int(c)) if str(c).isdigit() else (1, str(c))

    return sorted(labels.astype(str).unique(), key=key)


def marker_density(dataset: Dataset, *, bin_mb: float = 0.1) -> go.Figure:
    """Markers per window of ``bin_mb`` megabases: one row per chromosome, colour = markers in
    the window (blank past the chromosome's last marker), so gaps and dense regions of every
    chromosome are seen at once. Markers without a position are left out (said in the title)."""
    markers = dataset.markers
    pos_all = markers["position"].to_numpy()
    placed = pos_all >= 0
    chroms = [
        c for c in _chrom_order(markers["chromosome"])
        if ((markers["chromosome"].astype(str) == c).to_numpy() & placed).any()
    ]  # fmt: skip
    top = float(pos_all[placed].max()) / 1e6 if placed.any() else 0.0
    edges = np.arange(0.0, top + bin_mb, bin_mb)
    if len(edges) < 2:
        edges = np.array([0.0, bin_mb])
    z = np.full((len(chroms), len(edges) - 1), np.nan)
    for r, chrom in enumerate(chroms):
        on = (markers["chromosome"].astype(str) == chrom).to_numpy() & placed
        pos = pos_all[on] / 1e6
        counts, _ = np.histogram(pos, bins=edges)
        end = int(np.searchsorted(edges, pos.max(), side="right"))
        z[r, :end] = counts[:end]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=edges[:-1] + bin_mb / 2,
            y=[f"chr {c}" for c in chroms],
            colorscale="Viridis",
            colorbar={"title": {"text": "markers"}},
            hovertemplate="%{y}, %{x:.2f} Mb: %{z} markers<extra></extra>",
            hoverongaps=False,
        )
    )
    unplaced = int((~placed).sum())
    title = f"Marker density (markers per {bin_mb:g} Mb window)"
    if unplaced:
        title += f"; {unplaced:,} markers without a position not shown"
    fig.update_layout(
        title=title,
        xaxis_title="Position (Mb)",
        yaxis={"autorange": "reversed", "dtick": 1, "type": "category"},
        height=max(260, 120 + 22 * len(chroms)),
    )
    return fig


def markers_per_chromosome(dataset: Dataset) -> go.Figure:
    """Bar chart: number of markers on each chromosome."""
    counts = dataset.markers["chromosome"].astype(str).value_counts()
    order = _chrom_order(dataset.markers["chromosome"])
    fig = go.Figure(
        go.Bar(
            x=order,
            y=[int(counts[c]) for c in order],
            marker_color="#4c78a8",
            hovertemplate="chr %{x}: %{y} markers<extra></extra>",
        )
    )
    fig.update_layout(
        title="Markers per chromosome", xaxis_title="Chromosome", yaxis_title="Markers", height=320
    )
    fig.update_xaxes(type="category")
    return fig


def allele_state_counts(dataset: Dataset) -> go.Figure:
    """Bar chart: how many markers have 1, 2, 3, ... observed allele states (missing excluded)."""
    n_states = np.array([len(a) for a in dataset.alleles])
    values, counts = np.unique(n_states, return_counts=True)
    fig = go.Figure(
        go.Bar(
            x=[str(v) for v in values],
            y=counts,
            marker_color="#72b7b2",
            hovertemplate="%{x} states: %{y} markers<extra></extra>",
        )
    )
    fig.update_layout(
        title="Allele states per marker",
        xaxis_title="Allele states",
        yaxis_title="Markers",
        height=320,
    )
    fig.update_xaxes(type="category")
    return fig


def missingness(dataset: Dataset) -> go.Figure:
    """Share of missing phenotype values per trait and of missing calls per chromosome."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(
            "Missing phenotype values per trait",
            "Missing genotype calls per chromosome",
        ),
    )
    miss_t = np.isnan(dataset.phenotypes).mean(axis=0) * 100
    fig.add_trace(
        go.Bar(
            x=dataset.traits,
            y=miss_t,
            showlegend=False,
            marker_color="#e45756",
            hovertemplate="%{x}: %{y:.1f}% missing<extra></extra>",
        ),
        row=1,
        col=1,
    )
    chrom = dataset.markers["chromosome"].astype(str).to_numpy()
    miss_g = dataset.missing_calls_per_locus() * 100
    order = _chrom_order(dataset.markers["chromosome"])
    fig.add_trace(
        go.Bar(
            x=order,
            y=[float(miss_g[chrom == c].mean()) for c in order],
            showlegend=False,
            marker_color="#f58518",
            hovertemplate="chr %{x}: %{y:.2f}% missing<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.update_yaxes(title_text="% missing")
    fig.update_xaxes(type="category", row=1, col=2)
    # a panel with nothing missing says so, on a 0-100% axis (not an empty -1..1 one)
    for col, nothing, what in (
        (1, not np.isnan(dataset.phenotypes).any(), "no missing phenotype values"),
        (2, not (dataset.genotype_codes < 0).any(), "no missing calls"),
    ):
        if nothing:
            fig.update_yaxes(range=[0, 100], row=1, col=col)
            fig.add_annotation(
                text=what,
                x=0.5,
                y=0.5,
                xref=f"x{'' if col == 1 else col} domain",
                yref=f"y{'' if col == 1 else col} domain",
                showarrow=False,
                font={"size": 15, "color": "#555"},
            )
    fig.update_layout(height=360)
    return fig


def maf_histogram(frequencies: pd.DataFrame, *, bins: int = 50) -> go.Figure:
    """Histogram of the minor allele frequency of the markers.

    Parameters
    ----------
    frequencies
        :func:`gpatlas_core.tl.allele_frequencies`.
    bins
        Number of bins over 0 to 0.5 (MAF above 0.5 is possible with three or more states).
    """
    maf = frequencies["maf"].to_numpy(dtype=float)
    maf = maf[np.isfinite(maf)]
    top = max(0.5, float(maf.max()) if maf.size else 0.5)
    fig = go.Figure(
        go.Histogram(
            x=maf,
            xbins={"start": 0.0, "end": top, "size": top / bins},
            marker_color="#4c78a8",
            hovertemplate="MAF %{x}<br>%{y} markers<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"Minor allele frequency of {maf.size:,} markers",
        xaxis={"title": "minor allele frequency (1 - major allele frequency)", "range": [0, top]},
        yaxis_title="markers",
        bargap=0.05,
        height=360,
    )
    return fig


def genotype_pca(
    pca,
    *,
    color: np.ndarray | None = None,
    color_label: str = "",
    pcs: tuple[int, int] = (1, 2),
) -> go.Figure:
    """Individuals on two genotype principal components, and the variance each PC explains.

    Parameters
    ----------
    pca
        :func:`gpatlas_core.tl.genotype_pca`.
    color
        One value per individual (e.g. a trait); NaN drawn grey. ``None``: one colour.
    color_label
        Colour bar title.
    pcs
        Which components (1-based) go on the x and y axes.
    """
    a, b = pcs[0] - 1, pcs[1] - 1
    k = len(pca.explained)
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.7, 0.3],
        subplot_titles=(f"PC{pcs[0]} vs PC{pcs[1]}", "Variance explained"),
        horizontal_spacing=0.12,
    )
    samples = np.asarray(pca.samples).astype(str)
    marker: dict = {"size": 5, "color": "#4c78a8"}
    hover = "%{text}<br>PC%{meta[0]} %{x:.3g}, PC%{meta[1]} %{y:.3g}<extra></extra>"
    if color is not None:
        values = np.asarray(color, dtype=float)
        marker = {
            "size": 5,
            "color": values,
            "colorscale": "Viridis",
            "colorbar": {"title": {"text": color_label}, "x": 0.62, "len": 0.8},
        }
        hover = (
            f"%{{text}}<br>{color_label}: %{{marker.color:.3g}}"
            "<br>PC%{meta[0]} %{x:.3g}, PC%{meta[1]} %{y:.3g}<extra></extra>"
        )
    fig.add_trace(
        go.Scattergl(
            x=pca.scores[:, a],
            y=pca.scores[:, b],
            mode="markers",
            marker=marker,
            text=samples,
            meta=[pcs[0], pcs[1]],
            hovertemplate=hover,
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            x=[f"PC{i + 1}" for i in range(k)],
            y=100 * np.asarray(pca.explained),
            marker_color="#72b7b2",
            hovertemplate="%{x}: %{y:.2f}% of the variance<extra></extra>",
            showlegend=False,
        ),
        row=1,
        col=2,
    )
    ex = 100 * np.asarray(pca.explained)
    fig.update_xaxes(title_text=f"PC{pcs[0]} ({ex[a]:.1f}%)", row=1, col=1)
    fig.update_yaxes(title_text=f"PC{pcs[1]} ({ex[b]:.1f}%)", row=1, col=1)
    fig.update_yaxes(title_text="% of variance", row=1, col=2)
    fig.update_layout(
        title=f"Population structure: genotype PCA of {len(samples):,} individuals", height=440
    )
    return fig
