"""Training pictures: loss curves of both tiers, predicted vs real, error densities."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..tl._metrics import MODEL_LABELS

_TIERS = (("phenotype", "Tier 1: phenotype autoencoder"), ("genotype", "Tier 2: genotype encoder"))


def loss_curves(losses: pd.DataFrame, *, n_epochs: dict[str, int] | None = None) -> go.Figure:
    """Train and test loss per epoch, one panel per tier.

    Parameters
    ----------
    losses
        Columns ``tier`` ("phenotype" / "genotype"), ``epoch``, ``train_loss``, ``test_loss``
        and optionally ``validation_loss``.
    n_epochs
        Planned epochs per tier; fixes the x range while training is still running.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=[t for _, t in _TIERS])
    for col, (tier, _) in enumerate(_TIERS, start=1):
        part = losses[losses["tier"] == tier] if len(losses) else losses
        for name, column, colour in (
            ("train", "train_loss", "#4c78a8"),
            ("test", "test_loss", "#f58518"),
            ("validation", "validation_loss", "#54a24b"),
        ):
            if column not in part or part[column].isna().all():
                continue
            fig.add_trace(
                go.Scatter(
                    x=part["epoch"],
                    y=part[column],
                    mode="lines+markers" if len(part) < 40 else "lines",
                    name=name,
                    legendgroup=name,
                    showlegend=col == 1,
                    line={"color": colour},
                    hovertemplate=f"{name} loss, epoch %{{x}}: %{{y:.4g}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
        if n_epochs and n_epochs.get(tier):
            fig.update_xaxes(range=[0.5, n_epochs[tier] + 0.5], row=1, col=col)
    fig.update_xaxes(title_text="Epoch")
    fig.update_yaxes(title_text="Loss (mean squared error)", type="log", row=1, col=1)
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_layout(height=360, legend={"orientation": "h", "y": -0.25}, margin={"t": 40})
    return fig


def predicted_vs_real(
    observed: np.ndarray,
    predicted: np.ndarray,
    *,
    trait: str,
    samples: Sequence[str] | None = None,
    baseline: np.ndarray | None = None,
    baseline_name: str = "Ridge",
) -> go.Figure:
    """Scatter of predicted against observed values of one trait, with the y = x line.

    Missing observations are left out. ``baseline`` adds a second model's predictions.
    """
    observed = np.asarray(observed, dtype=float)
    ok = np.isfinite(observed)
    text = None if samples is None else np.asarray(samples).astype(str)[ok]
    fig = go.Figure()
    series = [("G-P Atlas", np.asarray(predicted, dtype=float), "#4c78a8")]
    if baseline is not None:
        series.append((baseline_name, np.asarray(baseline, dtype=float), "#e45756"))
    for name, pred, colour in series:
        r = np.corrcoef(observed[ok], pred[ok])[0, 1] if ok.sum() > 2 else np.nan
        fig.add_trace(
            go.Scattergl(
                x=observed[ok],
                y=pred[ok],
                mode="markers",
                name=f"{name} (r = {r:.2f})",
                marker={"color": colour, "size": 6, "opacity": 0.7},
                text=text,
                hovertemplate="%{text}<br>real %{x:.3g}<br>predicted %{y:.3g}<extra></extra>"
                if text is not None
                else "real %{x:.3g}<br>predicted %{y:.3g}<extra></extra>",
            )
        )
    if ok.any():
        lo, hi = float(np.nanmin(observed[ok])), float(np.nanmax(observed[ok]))
        fig.add_trace(
            go.Scatter(
                x=[lo, hi],
                y=[lo, hi],
                mode="lines",
                name="y = x",
                line={"dash": "dot", "color": "grey"},
            )
        )
    fig.update_layout(
        title=f"{trait}: predicted vs real (test individuals)",
        xaxis_title="Real value",
        yaxis_title="Predicted value",
        height=420,
    )
    return fig


def error_densities(metrics: dict, *, metric: str = "mse") -> go.Figure:
    """Distribution of an error metric across traits and across individuals, per model.

    Parameters
    ----------
    metrics
        A run's metrics dict: ``{model: {"per_trait": {metric: {trait: v}},
        "per_individual": {metric: {sample: v}}, ...}}``.
    metric
        ``mse``, ``mape``, ``r2`` or ``pearson``.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Across traits", "Across individuals"))
    colours = ("#4c78a8", "#72b7b2", "#e45756", "#b279a2")
    for k, (model, label) in enumerate(MODEL_LABELS.items()):
        entry = metrics.get(model)
        if not entry:
            continue
        for col, part in ((1, "per_trait"), (2, "per_individual")):
            values = np.array(
                [v for v in entry.get(part, {}).get(metric, {}).values() if v is not None],
                dtype=float,
            )
            if values.size == 0:
                continue
            fig.add_trace(
                go.Histogram(
                    x=values,
                    histnorm="probability density",
                    name=label,
                    legendgroup=model,
                    showlegend=col == 1,
                    opacity=0.55,
                    marker_color=colours[k % len(colours)],
                    nbinsx=40,
                ),
                row=1,
                col=col,
            )
    fig.update_layout(
        barmode="overlay",
        height=380,
        legend={"orientation": "h", "y": -0.25},
        title=f"Test-set {metric.upper()} distribution",
    )
    fig.update_xaxes(title_text=metric.upper())
    fig.update_yaxes(title_text="Density", row=1, col=1)
    return fig
