"""Latent-space pictures: one t-SNE map of both encoders' codes, an individual's two points
linked; the latent traversal heatmap (what each dimension does to each trait)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

if TYPE_CHECKING:
    from ..tl._traversal import LatentTraversal
    from ..tl._tsne import LatentEmbedding

_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#7f7f7f")
_ENCODERS = (
    ("phenotype", "from phenotypes (Q)", "circle", 8),
    ("genotype", "from genotypes (GQ)", "x", 7),
)


def _links(emb: LatentEmbedding, sel: np.ndarray) -> go.Scattergl:
    p, g = emb.phenotype[sel], emb.genotype[sel]
    gap = np.full(len(p), np.nan)
    xs = np.column_stack([p[:, 0], g[:, 0], gap]).ravel()
    ys = np.column_stack([p[:, 1], g[:, 1], gap]).ravel()
    return go.Scattergl(
        x=xs,
        y=ys,
        mode="lines",
        line={"color": "rgba(120,120,120,0.35)", "width": 1},
        name="an individual's two codes",
        hoverinfo="skip",
        connectgaps=False,
    )


def latent_tsne(
    embedding: LatentEmbedding,
    *,
    color: np.ndarray | None = None,
    color_label: str = "",
    categorical: bool = False,
    links: bool = True,
) -> go.Figure:
    """One t-SNE map: phenotype codes (circles) and genotype codes placed into it (crosses).

    Parameters
    ----------
    embedding
        Result of :func:`gpatlas_core.tl.embed_latents`.
    color
        One value per embedded individual (a trait value, or a genotype label); ``None``
        colours by encoder. Missing values (NaN) are drawn light grey, in their own legend
        entry. Both points of an individual get its colour.
    color_label
        Legend / colour bar title, e.g. the trait or marker name.
    categorical
        Colour by category (genotype states) instead of a continuous scale.
    links
        Draw a line between each individual's two points.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    emb = embedding
    samples = np.asarray(emb.samples).astype(str)
    n = len(samples)
    custom = np.column_stack([emb.latent_distance, emb.neighbour_rank])
    fig = go.Figure()
    if links:
        fig.add_trace(_links(emb, np.ones(n, bool)))

    def points(sel, which, *, name, marker, group, show, value_text):
        key, label, symbol, size = which
        xy = getattr(emb, key)
        fig.add_trace(
            go.Scattergl(
                x=xy[sel, 0],
                y=xy[sel, 1],
                mode="markers",
                name=name,
                legendgroup=group,
                showlegend=show,
                marker={"size": size, "symbol": symbol, **marker},
                text=samples[sel],
                customdata=custom[sel],
                hovertemplate=f"%{{text}}, code {label}{value_text}"
                "<br>latent distance between its two codes: %{customdata[0]:.3g}"
                "<br>phenotype codes nearer its genotype code: %{customdata[1]}<extra></extra>",
            )
        )

    if color is None:
        for k, which in enumerate(_ENCODERS):
            points(
                np.ones(n, bool),
                which,
                name=f"code {which[1]}",
                marker={"color": _PALETTE[k]},
                group=which[0],
                show=True,
                value_text="",
            )
    elif categorical:
        labels = np.asarray(color).astype(str)
        for k, lab in enumerate(sorted(set(labels))):
            sel = labels == lab
            for which in _ENCODERS:
                points(
                    sel,
                    which,
                    name=f"{color_label} = {lab}, {which[1]}" if color_label else lab,
                    marker={"color": _PALETTE[k % len(_PALETTE)]},
                    group=lab,
                    show=True,
                    value_text=f"<br>{color_label}: {lab}",
                )
    else:
        values = np.asarray(color, dtype=float)
        missing = ~np.isfinite(values)
        ok = ~missing
        lo, hi = (float(values[ok].min()), float(values[ok].max())) if ok.any() else (0.0, 1.0)
        for k, which in enumerate(_ENCODERS):
            points(
                ok,
                which,
                name=f"code {which[1]}",
                marker={
                    "color": values[ok],
                    "colorscale": "Viridis",
                    "cmin": lo,
                    "cmax": hi,
                    "showscale": k == 0,
                    "colorbar": {"title": {"text": color_label}, "x": 1.02, "len": 0.8},
                },
                group=which[0],
                show=True,
                value_text=f"<br>{color_label}: %{{marker.color:.3g}}",
            )
            if missing.any():
                points(
                    missing,
                    which,
                    name=f"{color_label} missing, {which[1]}",
                    marker={"color": "#c8c8c8"},
                    group="missing",
                    show=True,
                    value_text=f"<br>{color_label}: missing",
                )
    fig.update_xaxes(title_text="t-SNE 1", showticklabels=False)
    fig.update_yaxes(title_text="t-SNE 2", showticklabels=False, scaleanchor="x")
    p = emb.params
    fig.update_layout(
        title=f"One t-SNE map of {p.get('n', n)} test individuals' latent codes "
        f"(perplexity {p.get('perplexity', float('nan')):g}, seed {p.get('seed', '?')})",
        height=560,
        margin={"t": 70, "b": 110},
        # the legend below the map, so it never sits under the colour bar
        legend={"orientation": "h", "yanchor": "top", "y": -0.08, "x": 0},
    )
    return fig


def latent_traversal_heatmap(traversal: LatentTraversal) -> go.Figure:
    """Trait x latent-dimension heatmap of a :class:`~gpatlas_core.tl.LatentTraversal`: each
    cell the change of the trait (in its standard deviations) when the dimension moves from
    ``-span`` to ``+span`` standard deviations around the mean code; diverging colours, 0
    white."""
    tr = traversal
    resp = np.asarray(tr.response, dtype=float)
    lim = float(np.nanmax(np.abs(resp))) if resp.size and np.isfinite(resp).any() else 1.0
    lim = lim if lim > 0 else 1.0
    dims = [f"z{d + 1}" for d in range(resp.shape[1])]
    span = tr.params.get("span", float("nan"))
    fig = go.Figure(
        go.Heatmap(
            z=resp,
            x=dims,
            y=list(tr.traits),
            colorscale="RdBu",
            reversescale=True,
            zmin=-lim,
            zmax=lim,
            zmid=0.0,
            colorbar={"title": {"text": "change (trait sd)"}},
            hovertemplate="%{y}, dimension %{x}: %{z:.3g} trait sd<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"Latent traversal: each trait's change as one dimension moves -{span:g} to "
        f"+{span:g} sd around the mean code",
        xaxis_title="Latent dimension",
        yaxis_title="Trait",
        height=max(320, 18 * len(tr.traits) + 140),
        yaxis={"autorange": "reversed"},
    )
    return fig


def latent_traversal_curves(traversal: LatentTraversal, dimension: int) -> go.Figure:
    """Each trait along one dimension's traversal (0-based ``dimension``): the decoded value
    minus its value at the mean code, in the trait's standard deviations."""
    tr = traversal
    curves = np.asarray(tr.curves[dimension], dtype=float)  # (steps, traits)
    mid = tr.curves[dimension][len(tr.offsets) // 2] if len(tr.offsets) % 2 else curves.mean(0)
    rel = (curves - np.asarray(mid)[None, :]) / np.asarray(tr.trait_scale)[None, :]
    fig = go.Figure()
    for j, trait in enumerate(tr.traits):
        fig.add_trace(
            go.Scatter(
                x=tr.offsets,
                y=rel[:, j],
                mode="lines",
                name=str(trait),
                hovertemplate=f"{trait}<br>z{dimension + 1} at %{{x:.2g}} sd: "
                "%{y:.3g} trait sd<extra></extra>",
            )
        )
    fig.update_layout(
        title=f"Traits along latent dimension z{dimension + 1}",
        xaxis_title=f"z{dimension + 1} (sd of its codes from the mean code)",
        yaxis_title="Change of the trait (trait sd)",
        height=420,
    )
    return fig
