"""Manhattan plot of locus importance along the genome (paper Figure 7A)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..tl._ablation import PER_TRAIT_PREFIX, ImportanceResult
from ..tl._recovery import chromosome_order, genome_coordinates, merge_intervals

__all__ = ["manhattan"]

CHROMOSOME_COLOURS = ("#1f3b73", "#e4572e")
QTL_BAND = "rgba(76, 120, 168, 0.22)"


def _loci_table(importance: ImportanceResult | pd.DataFrame) -> pd.DataFrame:
    return importance.loci if isinstance(importance, ImportanceResult) else importance


def manhattan(
    importance: ImportanceResult | pd.DataFrame,
    *,
    trait: str | None = None,
    column: str | None = None,
    known_qtl: pd.DataFrame | None = None,
    percentile: float | None = 95.0,
    chromosome: str | None = None,
    scale: bool = True,
    title: str | None = None,
    qtl_traits: list[str] | None = None,
    qtl_style: str | None = None,
    threshold: float | None = None,
    threshold_label: str = "threshold",
    y_title: str | None = None,
) -> go.Figure:
    """Locus importance against genome position.

    Parameters
    ----------
    importance
        An :class:`~gpatlas_core.tl.ImportanceResult` or its ``loci`` table.
    trait
        Draw this trait's own (per-trait) importance and only its known QTL; None = the
        importance for all traits together, with every known QTL.
    column
        Column to draw instead (default ``importance``, or ``trait:<trait>``).
    known_qtl
        Known QTL (``trait, chromosome, position, ci_left, ci_right``, optionally ``lod`` and
        ``variance_explained``). Drawn for ``trait`` only when a trait is given, else for
        ``qtl_traits`` (None = all traits).
    qtl_traits
        With ``trait=None``: the traits whose QTL are drawn (None = every trait).
    qtl_style
        ``"intervals"``: 1.5-LOD intervals as shaded bands (merged where they overlap), each
        with a hover label; ``"peaks"``: a marker at each QTL peak above the plot, labelled on
        hover (trait, peak, interval, LOD, variance explained). Default: intervals for one
        trait or a few selected traits, peaks for all traits (their intervals together cover
        most of the genome).
    percentile
        Dotted line at this percentile of the drawn values (None = no line).
    chromosome
        Zoom to one chromosome (x = position in bp).
    scale
        Divide by the largest value (the paper's "scaled" importance).
    title
        Figure title (a default names the trait).
    threshold, threshold_label
        A dashed red line at this value of the drawn column (e.g. the genome-wide
        significance threshold on a -log10 p plot), labelled.
    y_title
        The y-axis title (default: scaled importance).
    """
    loci = _loci_table(importance)
    col = column or (f"{PER_TRAIT_PREFIX}{trait}" if trait is not None else "importance")
    if col not in loci.columns:
        raise ValueError(f"no column {col!r} in the locus table")
    raw = loci[col].to_numpy(dtype=np.float64)
    top = np.nanmax(raw) if len(raw) and np.nanmax(raw) > 0 else 1.0
    y = raw / top if scale else raw
    x, chroms = genome_coordinates(loci)
    chrom = loci["chromosome"].astype(str).to_numpy()
    pos = loci["position"].to_numpy()
    keep = np.ones(len(loci), dtype=bool)
    offsets = dict(zip(chroms["chromosome"], chroms["start"], strict=True))
    if chromosome is not None:
        chromosome = str(chromosome)
        if chromosome not in offsets:
            raise ValueError(f"no chromosome {chromosome!r}; have {', '.join(offsets)}")
        keep = chrom == chromosome
        x = np.where(pos >= 0, pos, x - offsets[chromosome]).astype(np.float64)
    order = {c: i for i, c in enumerate(chromosome_order(chrom))}
    parity = np.array([order[c] % 2 for c in chrom])

    fig = go.Figure()
    custom = np.stack(
        [loci["marker"].astype(str).to_numpy(), chrom, pos.astype(np.int64), raw], axis=1
    )
    for k in (0, 1):
        sel = keep & (parity == k)
        if not sel.any():
            continue
        fig.add_trace(
            go.Scattergl(
                x=x[sel],
                y=y[sel],
                mode="markers",
                marker={"size": 4, "color": CHROMOSOME_COLOURS[k]},
                customdata=custom[sel],
                showlegend=False,
                name="loci",
                hovertemplate=(
                    "%{customdata[0]}<br>chromosome %{customdata[1]}, %{customdata[2]:,} bp<br>"
                    + (y_title or "importance")
                    + " %{customdata[3]:.4g}<extra></extra>"
                ),
            )
        )

    shapes = []
    if known_qtl is not None and len(known_qtl):
        q = known_qtl
        if trait is not None:
            q = q[q["trait"].astype(str) == str(trait)]
        elif qtl_traits is not None:
            q = q[q["trait"].astype(str).isin([str(t) for t in qtl_traits])]
        style = qtl_style or ("intervals" if trait is not None or qtl_traits else "peaks")
        q = q[q["chromosome"].astype(str).isin(offsets)]
        if chromosome is not None:
            q = q[q["chromosome"].astype(str) == chromosome]
        if len(q):
            shapes, traces = _qtl_overlay(q, offsets, chromosome, style, float(np.nanmax(y)))
            for tr in traces:
                fig.add_trace(tr)
    if percentile is not None and keep.any():
        level = float(np.nanpercentile(y[keep] if chromosome is None else y, percentile))
        fig.add_hline(
            y=level,
            line={"dash": "dot", "color": "black", "width": 1},
            annotation_text=f"{percentile:g}th percentile",
            annotation_position="top left",
        )
    if threshold is not None and np.isfinite(threshold):
        fig.add_hline(
            y=threshold / top if scale else threshold,
            line={"dash": "dash", "color": "#c0392b", "width": 1.5},
            annotation_text=threshold_label,
            annotation_position="top right",
        )
    fig.update_layout(shapes=list(fig.layout.shapes) + shapes)

    what = y_title or ("Scaled importance" if scale else "Importance")
    if trait is not None and y_title is None:
        what += f" for {trait}"
    fig.update_yaxes(title_text=what, rangemode="tozero")
    if chromosome is None:
        fig.update_xaxes(
            title_text="Chromosome",
            tickvals=chroms["centre"].to_numpy(),
            ticktext=chroms["chromosome"].tolist(),
            showgrid=False,
            range=[-0.005 * chroms["end"].max(), chroms["end"].max() * 1.005],
        )
    else:
        fig.update_xaxes(title_text=f"Position on chromosome {chromosome} (bp)")
    default = "Locus importance (max over alleles)" + (f": {trait}" if trait else ": all traits")
    fig.update_layout(
        title=title or default,
        template="plotly_white",
        height=420,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
    )
    return fig


def _qtl_label(q: pd.DataFrame) -> list[str]:
    """Hover text of each QTL: trait, peak, interval, LOD and variance explained if known."""
    out = []
    for r in q.itertuples(index=False):
        text = (
            f"known QTL: {r.trait}<br>chromosome {r.chromosome}, peak {int(r.position):,} bp"
            f"<br>1.5-LOD interval {int(r.ci_left):,}-{int(r.ci_right):,} bp"
        )
        lod = getattr(r, "lod", None)
        if lod is not None and np.isfinite(lod):
            text += f"<br>LOD {lod:.3g}"
        ve = getattr(r, "variance_explained", None)
        if ve is not None and np.isfinite(ve):
            text += f"<br>variance explained {ve:.3g}"
        out.append(text)
    return out


def _qtl_overlay(q, offsets, chromosome, style, y_top):
    """Shapes and traces for the known-QTL overlay (see :func:`manhattan`)."""
    off = np.array([0.0 if chromosome is not None else offsets[str(c)] for c in q["chromosome"]])
    peak = off + q["position"].to_numpy(dtype=np.float64)
    labels = _qtl_label(q)
    y_mark = 1.06 * (y_top if np.isfinite(y_top) and y_top > 0 else 1.0)
    if style == "peaks":
        trace = go.Scatter(
            x=peak,
            y=np.full(len(q), y_mark),
            mode="markers",
            marker={"symbol": "triangle-down", "size": 8, "color": "#4c78a8"},
            name="known QTL peak",
            text=labels,
            hovertemplate="%{text}<extra></extra>",
        )
        return [], [trace]
    shapes = []
    for r in merge_intervals(q).itertuples(index=False):
        o = 0.0 if chromosome is not None else offsets[r.chromosome]
        shapes.append(
            {"type": "rect", "xref": "x", "yref": "paper", "x0": o + r.left,
             "x1": o + max(r.right, r.left + 1), "y0": 0, "y1": 1, "fillcolor": QTL_BAND,
             "line": {"width": 0}, "layer": "below"}
        )  # fmt: skip
    hover = go.Scatter(  # shapes have no hover: one labelled point per QTL at its peak
        x=peak,
        y=np.full(len(q), y_mark),
        mode="markers",
        marker={"symbol": "line-ns-open", "size": 10, "color": "#4c78a8"},
        name="known QTL (1.5-LOD interval)",
        text=labels,
        hovertemplate="%{text}<extra></extra>",
    )
    return shapes, [hover]
