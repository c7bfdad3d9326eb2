"""In-silico experiment pictures: the trait x swap heatmap of mean change (G-P Atlas and ridge
side by side), one swap's changes across individuals, progeny distributions per trait next to
the parents, one trait's progeny histogram, and the parent-pair ranking."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

Scale = Literal["sd", "original"]
_GP = "#4c78a8"
_RIDGE = "#f58518"
_A, _B = "#54a24b", "#b279a2"


def _unit(scale: Scale) -> str:
    return "trait SDs" if scale == "sd" else "trait units"


def swap_heatmap(summary: pd.DataFrame, *, scale: Scale = "sd") -> go.Figure:
    """Mean change of every trait (rows) for every swap (columns), G-P Atlas next to ridge.

    Parameters
    ----------
    summary
        ``SwapResult.summary``.
    scale
        ``"sd"``: changes divided by the trait's phenotypic SD (comparable across traits);
        ``"original"``: the traits' own units.
    """
    div = summary["phenotype_sd"].to_numpy(dtype=float) if scale == "sd" else 1.0
    df = summary.assign(
        _gp=summary["mean_change"].to_numpy(dtype=float) / div,
        _ridge=summary["ridge_mean_change"].to_numpy(dtype=float) / div,
    )
    sets = list(dict.fromkeys(df["set"]))
    traits = list(dict.fromkeys(df["trait"]))
    has_ridge = bool(np.isfinite(df["_ridge"]).any())
    panels = [("G-P Atlas", "_gp", "sd_change")]
    if has_ridge:
        panels.append(("Ridge (additive)", "_ridge", "ridge_sd_change"))
    values = np.concatenate([df[c].to_numpy(dtype=float) for _, c, _ in panels])
    top = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    top = top if top > 0 else 1.0
    fig = make_subplots(
        rows=1,
        cols=len(panels),
        shared_yaxes=True,
        subplot_titles=[p[0] for p in panels],
        horizontal_spacing=0.04,
    )
    for i, (name, col, sd_col) in enumerate(panels):
        wide = df.pivot(index="trait", columns="set", values=col).reindex(
            index=traits, columns=sets
        )
        sd = df.pivot(index="trait", columns="set", values=sd_col).reindex(
            index=traits, columns=sets
        )
        n = df.pivot(index="trait", columns="set", values="n_individuals").reindex(
            index=traits, columns=sets
        )
        fig.add_trace(
            go.Heatmap(
                z=wide.to_numpy(),
                x=sets,
                y=traits,
                zmin=-top,
                zmax=top,
                colorscale="RdBu_r",
                zmid=0,
                showscale=i == 0,
                colorbar={"title": f"mean change<br>({_unit(scale)})"},
                customdata=np.dstack([sd.to_numpy(), n.to_numpy()]),
                name=name,
                hovertemplate=(
                    f"{name}<br>%{{x}}<br>%{{y}}<br>mean change %{{z:.3g}} {_unit(scale)}"
                    "<br>SD across individuals %{customdata[0]:.3g} (trait units)"
                    "<br>%{customdata[1]} individuals<extra></extra>"
                ),
            ),
            row=1,
            col=i + 1,
        )
    fig.update_layout(
        title="Allele swaps: predicted mean change of every trait",
        height=max(360, 22 * len(traits) + 160),
    )
    fig.update_xaxes(tickangle=-45)
    return fig


def swap_distribution(result, set_label: str, *, scale: Scale = "sd") -> go.Figure:
    """One swap's change of every trait across the individuals it changes (box per trait),
    G-P Atlas and ridge side by side; points show individuals (hover: sample, own allele).

    ``result`` is a ``SwapResult``.
    """
    long = result.per_individual(set_label)
    summary = result.summary[result.summary["set"] == set_label]
    sd = dict(zip(summary["trait"], summary["phenotype_sd"], strict=True))
    div = long["trait"].map(sd).to_numpy(dtype=float) if scale == "sd" else 1.0
    fig = go.Figure()
    for name, col, color in (
        ("G-P Atlas", "change", _GP),
        ("Ridge (additive)", "ridge_change", _RIDGE),
    ):
        values = long[col].to_numpy(dtype=float) / div
        if not np.isfinite(values).any():
            continue
        fig.add_trace(
            go.Box(
                x=values,
                y=long["trait"],
                name=name,
                orientation="h",
                marker_color=color,
                boxpoints="all" if len(long) <= 5000 else "outliers",
                jitter=0.4,
                pointpos=0,
                marker={"size": 3, "opacity": 0.5},
                customdata=np.stack([long["sample"], long["background"]], axis=1),
                hovertemplate="%{y}: %{x:.3g}<br>%{customdata[0]} (had %{customdata[1]})"
                "<extra>" + name + "</extra>",
            )
        )
    n = int(summary["n_individuals"].iloc[0]) if len(summary) else 0
    fig.add_vline(x=0, line={"color": "grey", "dash": "dot"})
    fig.update_layout(
        boxmode="group",
        title=f"{set_label}: change across {n} individuals",
        xaxis_title=f"predicted change ({_unit(scale)})",
        height=max(360, 28 * summary.shape[0] + 160),
        yaxis={"autorange": "reversed"},
    )
    return fig


def _scaled(values: np.ndarray, summary: pd.DataFrame, scale: Scale) -> np.ndarray:
    if scale != "sd":
        return values
    mean = summary["phenotype_mean"].to_numpy(dtype=float)
    sd = summary["phenotype_sd"].to_numpy(dtype=float)
    return (values - mean) / sd


def progeny_distributions(result, *, scale: Scale = "sd") -> go.Figure:
    """Predicted progeny per trait (box per trait, G-P Atlas and ridge), with the parents' own
    G-P Atlas predictions as markers. ``result`` is a ``CrossResult``.

    ``scale="sd"`` shows every trait as (value - trait mean) / trait SD of the data set.
    """
    s = result.summary
    traits = list(s["trait"])
    n = result.progeny.shape[0]
    fig = go.Figure()
    for name, values, color in (
        ("G-P Atlas progeny", result.progeny, _GP),
        ("Ridge progeny", result.ridge_progeny, _RIDGE),
    ):
        if values is None:
            continue
        v = _scaled(values.astype(float), s, scale)
        fig.add_trace(
            go.Box(
                x=v.reshape(-1),
                y=np.tile(np.asarray(traits, dtype=object), n),
                name=name,
                orientation="h",
                marker_color=color,
                boxpoints="outliers",
                hovertemplate="%{y}: %{x:.3g}<extra>" + name + "</extra>",
            )
        )
    a, b = result.parents
    for label, col, color, symbol in (
        (f"parent A ({a})", "parent_a", _A, "triangle-up"),
        (f"parent B ({b})", "parent_b", _B, "square"),
    ):
        x = _scaled(s[col].to_numpy(dtype=float), s, scale)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=traits,
                mode="markers",
                name=label,
                marker={"color": color, "symbol": symbol, "size": 10, "line": {"width": 1}},
                hovertemplate="%{y}: %{x:.3g}<extra>" + label + ", G-P Atlas</extra>",
            )
        )
    fig.update_layout(
        boxmode="group",
        title=f"Predicted progeny of {a} x {b} ({n} offspring)",
        xaxis_title="prediction"
        + (" (trait SDs from the data set's mean)" if scale == "sd" else " (trait units)"),
        height=max(380, 30 * len(traits) + 160),
        yaxis={"autorange": "reversed"},
    )
    return fig


def progeny_histogram(result, trait: str) -> go.Figure:
    """One trait's predicted progeny (G-P Atlas and ridge histograms), the parents' and the
    usefulness (mean of the best progeny) as lines. ``result`` is a ``CrossResult``."""
    j = result.traits.index(trait)
    row = result.summary.iloc[j]
    use = next(c for c in result.summary.columns if c.startswith("usefulness_"))
    fig = go.Figure()
    for name, values, color in (
        ("G-P Atlas", result.progeny, _GP),
        ("Ridge", result.ridge_progeny, _RIDGE),
    ):
        if values is not None:
            fig.add_trace(go.Histogram(x=values[:, j], name=name, marker_color=color, opacity=0.6))
    for x, label, color, dash, where in (
        (row["parent_a"], f"A {result.parents[0]}", _A, "solid", "top left"),
        (row["parent_b"], f"B {result.parents[1]}", _B, "solid", "top right"),
        (row[use], "usefulness (G-P Atlas)", _GP, "dash", "bottom right"),
    ):
        if np.isfinite(x):
            fig.add_vline(
                x=float(x),
                line={"color": color, "dash": dash},
                annotation_text=label,
                annotation_position=where,
            )
    fig.update_layout(
        barmode="overlay",
        title=f"{trait}: predicted progeny",
        xaxis_title=f"{trait} (trait units)",
        yaxis_title="offspring",
    )
    return fig


def parent_ranking(ranking) -> go.Figure:
    """Progeny mean against progeny SD for every ranked pair (G-P Atlas; ridge in grey), colour
    = usefulness. ``ranking`` is a ``ParentRanking``."""
    t = ranking.table
    pair = (t["sample_a"] + " x " + t["sample_b"]).to_numpy()
    fig = go.Figure()
    if "ridge_progeny_mean" in t:
        fig.add_trace(
            go.Scatter(
                x=t["ridge_progeny_mean"],
                y=t["ridge_progeny_sd"],
                mode="markers",
                name="ridge",
                marker={"color": "lightgrey", "size": 8, "symbol": "diamond"},
                customdata=np.stack([pair, t["ridge_rank"]], axis=1),
                hovertemplate="%{customdata[0]}<br>ridge rank %{customdata[1]}<br>mean %{x:.3g}, "
                "SD %{y:.3g}<extra>ridge</extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=t["progeny_mean"],
            y=t["progeny_sd"],
            mode="markers",
            name="G-P Atlas",
            marker={
                "color": t["usefulness"],
                "colorscale": "Viridis",
                "size": 11,
                "colorbar": {"title": "usefulness"},
                "line": {"width": 1, "color": "white"},
            },
            customdata=np.stack([pair, t["rank"], t["usefulness"]], axis=1),
            hovertemplate="%{customdata[0]}<br>rank %{customdata[1]}, usefulness "
            "%{customdata[2]:.3g}<br>mean %{x:.3g}, SD %{y:.3g}<extra>G-P Atlas</extra>",
        )
    )
    crit = ranking.params.get("criterion", "")
    fig.update_layout(
        title=f"Parent pairs by predicted progeny ({crit})",
        xaxis_title="progeny mean",
        yaxis_title="progeny SD",
        legend={"orientation": "h", "y": -0.2},
    )
    return fig
