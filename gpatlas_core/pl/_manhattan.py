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
        Known QTL (``trait, chromosome, ci_left, ci_right``); their 1.5-LOD intervals,
        merged where they overlap, are drawn as shaded bands.
    percentile
        Dotted line at this percentile of the drawn values (None = no line).
    chromosome
        Zoom to one chromosome (x = position in bp).
    scale
        Divide by the largest value (the paper's "scaled" importance).
    title
        Figure title (a default names the trait).
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
                    "%{customdata[0]}<br>chromosome %{customdata[1]}, %{customdata[2]:,} bp"
                    "<br>importance %{customdata[3]:.4g}<extra></extra>"
                ),
            )
        )

    shapes = []
    if known_qtl is not None and len(known_qtl):
        q = known_qtl
        if trait is not None:
            q = q[q["trait"].astype(str) == str(trait)]
        if len(q):
            merged = merge_intervals(q)
            if chromosome is not None:
                merged = merged[merged["chromosome"] == chromosome]
            for r in merged.itertuples(index=False):
                if r.chromosome not in offsets:
                    continue
                off = 0.0 if chromosome is not None else offsets[r.chromosome]
                shapes.append(
                    {
                        "type": "rect",
                        "xref": "x",
                        "yref": "paper",
                        "x0": off + r.left,
                        "x1": off + max(r.right, r.left + 1),
                        "y0": 0,
                        "y1": 1,
                        "fillcolor": QTL_BAND,
                        "line": {"width": 0},
                        "layer": "below",
                    }
                )
            fig.add_trace(
                go.Scatter(
                    x=[None],
                    y=[None],
                    mode="markers",
                    marker={"size": 12, "symbol": "square", "color": QTL_BAND},
                    name="known QTL (1.5-LOD interval)",
                )
            )
    if percentile is not None and keep.any():
        level = float(np.nanpercentile(y[keep] if chromosome is None else y, percentile))
        fig.add_hline(
            y=level,
            line={"dash": "dot", "color": "black", "width": 1},
            annotation_text=f"{percentile:g}th percentile",
            annotation_position="top left",
        )
    fig.update_layout(shapes=list(fig.layout.shapes) + shapes)

    what = "Scaled importance" if scale else "Importance"
    if trait is not None:
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
