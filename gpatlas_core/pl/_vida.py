"""VIDA pictures: ROC with the Youden point, enrichment by percentile, score distributions by
class, Q-Q of per-individual importance, and the grid-search AUC heatmaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

_INTER = "#4c78a8"
_NON = "#e45756"
_REF = "#f58518"


def vida_roc(roc: pd.DataFrame, *, auc: float, youden: dict | None = None) -> go.Figure:
    """ROC curve of VIDA scores (interacting vs non-interacting), chance line, Youden point.

    Parameters
    ----------
    roc
        ``fpr, tpr, threshold`` (``VidaEvaluation.roc``).
    auc
        Area under the curve, for the legend.
    youden
        ``{threshold, sensitivity, specificity}`` (``VidaEvaluation.youden``).
    """
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="random", line={"color": _REF, "dash": "dash"}
        )
    )
    fig.add_trace(
        go.Scatter(
            x=roc["fpr"],
            y=roc["tpr"],
            mode="lines",
            name=f"VIDA (AUC {auc:.3f})",
            line={"color": _INTER},
            customdata=roc["threshold"],
            hovertemplate="FPR %{x:.3f}, TPR %{y:.3f}<br>score ≥ %{customdata:.3g}<extra></extra>",
        )
    )
    if youden and np.isfinite(youden.get("sensitivity", np.nan)):
        sens, spec = youden["sensitivity"], youden["specificity"]
        fig.add_trace(
            go.Scatter(
                x=[1 - spec],
                y=[sens],
                mode="markers",
                name=f"Youden: sensitivity {sens:.3f}, specificity {spec:.3f}",
                marker={"color": "red", "size": 11, "symbol": "circle-open", "line": {"width": 3}},
                hovertemplate=f"score ≥ {youden['threshold']:.3g}<extra></extra>",
            )
        )
    fig.update_layout(
        xaxis_title="False-positive rate (1 - specificity)",
        yaxis_title="True-positive rate (sensitivity)",
        title="VIDA: interacting vs non-interacting causal alleles",
        xaxis={"range": [0, 1]},
        yaxis={"range": [0, 1.02], "scaleanchor": "x", "scaleratio": 1},
        legend={"x": 0.98, "y": 0.02, "xanchor": "right", "yanchor": "bottom"},
    )
    return fig


def vida_enrichment(enrichment: pd.DataFrame) -> go.Figure:
    """Enrichment of interacting alleles among the top scores, by percentile threshold.

    Parameters
    ----------
    enrichment
        ``top_percent, enrichment, ci_low, ci_high, p_value, k, n_interacting_top``
        (``VidaEvaluation.enrichment``).
    """
    e = enrichment.sort_values("top_percent")
    fig = go.Figure()
    if e["ci_low"].notna().any():
        fig.add_trace(
            go.Scatter(
                x=np.concatenate([e["top_percent"], e["top_percent"][::-1]]),
                y=np.concatenate([e["ci_high"], e["ci_low"][::-1]]),
                fill="toself",
                fillcolor="rgba(76,120,168,0.18)",
                line={"width": 0},
                name="95% bootstrap interval",
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=e["top_percent"],
            y=e["enrichment"],
            mode="lines+markers",
            name="enrichment",
            line={"color": _INTER},
            customdata=np.stack([e["k"], e["n_interacting_top"], e["p_value"]], axis=1),
            hovertemplate=(
                "top %{x:g}% (%{customdata[0]} alleles): %{y:.2f}x<br>"
                "%{customdata[1]} interacting, hypergeometric p = %{customdata[2]:.2g}"
                "<extra></extra>"
            ),
        )
    )
    fig.add_hline(y=1, line={"color": "grey", "dash": "dash"}, annotation_text="no enrichment")
    fig.update_layout(
        xaxis_title="Top percent of VIDA scores",
        yaxis_title="Enrichment of interacting alleles (fold)",
        title="Enrichment by VIDA score percentile",
    )
    return fig


def vida_score_distributions(labelled: pd.DataFrame) -> go.Figure:
    """VIDA scores of interacting vs non-interacting causal alleles (violins with points).

    Parameters
    ----------
    labelled
        ``marker, allele, vida_score, interacting`` (``VidaEvaluation.labelled``).
    """
    d = labelled[np.isfinite(labelled["vida_score"].to_numpy(dtype=np.float64))]
    fig = go.Figure()
    for flag, name, colour in ((True, "interacting", _INTER), (False, "non-interacting", _NON)):
        part = d[d["interacting"] == flag]
        fig.add_trace(
            go.Violin(
                y=part["vida_score"],
                name=f"{name} (n={len(part)})",
                box_visible=True,
                meanline_visible=False,
                points="all" if len(part) <= 2000 else False,
                jitter=0.3,
                pointpos=0,
                marker={"size": 3},
                line={"color": colour},
                text=part["marker"].astype(str) + ":" + part["allele"].astype(str),
                hovertemplate="%{text}: %{y:.3g}<extra></extra>",
            )
        )
    fig.add_hline(y=0, line={"color": "grey", "width": 1})
    fig.update_layout(yaxis_title="VIDA score", title="VIDA scores by class", showlegend=False)
    return fig


def vida_qq(qq: pd.DataFrame, *, kurtosis: dict | None = None) -> go.Figure:
    """Q-Q plot of per-individual importance, interacting against direct-only alleles.

    Parameters
    ----------
    qq
        ``prob, q_direct, q_interacting, low, high`` (``tl.qq_data``).
    kurtosis
        Optional ``tl.kurtosis_test`` result, shown in the title.
    """
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=np.concatenate([qq["q_direct"], qq["q_direct"][::-1]]),
            y=np.concatenate([qq["high"], qq["low"][::-1]]),
            fill="toself",
            fillcolor="rgba(150,150,150,0.3)",
            line={"width": 0},
            name="95% band (same shape)",
            hoverinfo="skip",
        )
    )
    lo = float(min(qq["q_direct"].min(), qq["q_interacting"].min()))
    hi = float(max(qq["q_direct"].max(), qq["q_interacting"].max()))
    fig.add_trace(
        go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="equal", line={"color": _REF})
    )
    fig.add_trace(
        go.Scatter(
            x=qq["q_direct"],
            y=qq["q_interacting"],
            mode="markers",
            name="quantiles",
            marker={"color": _INTER, "size": 6},
            customdata=qq["prob"],
            hovertemplate="quantile %{customdata:.3f}: %{x:.3g} vs %{y:.3g}<extra></extra>",
        )
    )
    title = "Q-Q: per-individual importance, interacting vs direct-only alleles"
    if kurtosis:
        title += (
            f"<br><sub>excess kurtosis {kurtosis['kurtosis_interacting']:.2f} vs "
            f"{kurtosis['kurtosis_direct']:.2f}, bootstrap p = {kurtosis['p_value']:.3g}</sub>"
        )
    fig.update_layout(
        xaxis_title="Direct-only alleles (standardised quantiles)",
        yaxis_title="Interacting alleles (standardised quantiles)",
        title=title,
    )
    return fig


def vida_kurtosis_bootstrap(kurtosis: dict) -> go.Figure:
    """Bootstrap distributions of excess kurtosis for the two classes (``tl.kurtosis_test``)."""
    fig = go.Figure()
    for key, name, colour in (
        ("boot_interacting", "interacting", _INTER),
        ("boot_direct", "direct-only", _NON),
    ):
        vals = np.asarray(kurtosis[key], dtype=np.float64)
        vals = vals[np.isfinite(vals)]
        fig.add_trace(go.Histogram(x=vals, name=name, marker={"color": colour}, opacity=0.6))
        if vals.size:
            fig.add_vline(x=float(vals.mean()), line={"color": colour, "dash": "dash"})
    fig.update_layout(
        barmode="overlay",
        xaxis_title="Excess kurtosis (bootstrap)",
        yaxis_title="Resamples",
        title=f"Bootstrap kurtosis test, p = {kurtosis['p_value']:.3g}",
    )
    return fig


def vida_grid_heatmap(grid: pd.DataFrame) -> go.Figure:
    """AUC over z threshold x clumpiness percentile, one panel per method (``tl.vida_grid``).

    Methods that ignore the percentile show one row.
    """
    methods = list(dict.fromkeys(grid["method"]))
    fig = make_subplots(rows=1, cols=max(1, len(methods)), subplot_titles=methods)
    finite = grid["auc"].to_numpy(dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    zmin, zmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    best = grid["auc"].idxmax() if finite.size else None
    for col, meth in enumerate(methods, start=1):
        part = grid[grid["method"] == meth]
        if not part["uses_percentile"].any():
            part = part.drop_duplicates("z_threshold").assign(clumpiness_percentile=np.nan)
        pivot = (
            part.pivot_table(
                index="clumpiness_percentile", columns="z_threshold", values="auc", dropna=False
            )
            if part["uses_percentile"].any()
            else None
        )
        if pivot is None:
            zs = part["z_threshold"].to_numpy()
            z = [part["auc"].to_numpy()]
            ylab = ["n/a"]
        else:
            zs = pivot.columns.to_numpy()
            z = pivot.to_numpy()
            ylab = [f"{p:g}%" for p in pivot.index]
        fig.add_trace(
            go.Heatmap(
                x=[f"{v:g}" for v in zs],
                y=ylab,
                z=z,
                zmin=zmin,
                zmax=zmax,
                colorscale="Viridis",
                showscale=col == len(methods),
                colorbar={"title": "AUC"},
                texttemplate="%{z:.3f}",
                hovertemplate=f"{meth}, z %{{x}}, percentile %{{y}}: AUC %{{z:.3f}}<extra></extra>",
            ),
            row=1,
            col=col,
        )
    fig.update_xaxes(title_text="z threshold")
    fig.update_yaxes(title_text="clumpiness percentile", row=1, col=1)
    title = "VIDA grid search (ROC AUC)"
    if best is not None:
        b = grid.loc[best]
        pct = f", {b['clumpiness_percentile']:g}%" if b["uses_percentile"] else ""
        title += f": best {b['method']}, z {b['z_threshold']:g}{pct}, AUC {b['auc']:.3f}"
    fig.update_layout(title=title)
    return fig


def vida_partner_heatmap(
    partners: pd.DataFrame, *, top_alleles: int = 20, partners_each: int = 5
) -> go.Figure:
    """Heatmap of VIDA's partner pairs: the best-scored alleles (rows) by their partners (columns).

    Parameters
    ----------
    partners
        :func:`gpatlas_core.tl.vida_partners` (alleles by score, best first; partners ranked).
    top_alleles
        How many alleles (rows), in the table's order.
    partners_each
        How many of each allele's best partners enter the columns.

    Returns
    -------
    plotly.graph_objects.Figure
        Cell colour = pair similarity ``(|rho| + phi) / 2``; blank = not a partner.
    """
    label = partners["marker"].astype(str) + " " + partners["allele"].astype(str)
    plabel = partners["partner_marker"].astype(str) + " " + partners["partner_allele"].astype(str)
    rows = list(dict.fromkeys(label))[:top_alleles]
    shown = partners[label.isin(rows) & (partners["partner_rank"] <= partners_each)]
    slabel, splabel = label[shown.index], plabel[shown.index]
    cols = list(dict.fromkeys(splabel))
    r_at = {r: i for i, r in enumerate(rows)}
    c_at = {c: i for i, c in enumerate(cols)}
    z = np.full((len(rows), len(cols)), np.nan)
    custom = np.full((len(rows), len(cols), 4), np.nan)
    for (_, rec), a, b in zip(shown.iterrows(), slabel, splabel, strict=True):
        i, j = r_at[a], c_at[b]
        z[i, j] = rec["similarity"]
        custom[i, j] = (rec["rho"], rec["phi"], rec["partner_rank"], rec["vida_score"])
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=cols,
            y=rows,
            customdata=custom,
            colorscale="Viridis",
            colorbar={"title": {"text": "similarity"}},
            hoverongaps=False,
            hovertemplate="%{y} with partner %{x}<br>similarity %{z:.3g}"
            "<br>rho %{customdata[0]:.3g}, phi %{customdata[1]:.3g}"
            "<br>partner rank %{customdata[2]}<br>VIDA score of %{y}: %{customdata[3]:.3g}"
            "<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"VIDA partners of the {len(rows)} best-scored alleles "
        f"(up to {partners_each} partners each)",
        xaxis={"title": "partner allele", "type": "category", "tickangle": -45},
        yaxis={"title": "scored allele", "type": "category", "autorange": "reversed"},
        height=max(320, 160 + 22 * len(rows)),
    )
    return fig
