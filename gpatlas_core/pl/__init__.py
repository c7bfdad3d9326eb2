"""Drawing: functions that take results and return plotly figures. Never imports streamlit."""

from ._cv import cv_r2, tune_trials
from ._fit import error_densities, log_ticks, loss_curves, predicted_vs_real, smooth
from ._importance import (
    causal_roc,
    importance_vs_weight,
    interval_roc_curve,
    qtl_recovery_curve,
    variance_explained_scatter,
)
from ._latent import latent_tsne
from ._manhattan import manhattan
from ._qc import (
    allele_state_counts,
    marker_density,
    markers_per_chromosome,
    missingness,
    trait_correlation,
    trait_histograms,
)
from ._vida import (
    vida_enrichment,
    vida_grid_heatmap,
    vida_kurtosis_bootstrap,
    vida_qq,
    vida_roc,
    vida_score_distributions,
)

__all__ = [
    "allele_state_counts",
    "causal_roc",
    "cv_r2",
    "error_densities",
    "importance_vs_weight",
    "interval_roc_curve",
    "latent_tsne",
    "log_ticks",
    "loss_curves",
    "manhattan",
    "marker_density",
    "markers_per_chromosome",
    "missingness",
    "predicted_vs_real",
    "qtl_recovery_curve",
    "smooth",
    "trait_correlation",
    "trait_histograms",
    "tune_trials",
    "variance_explained_scatter",
    "vida_enrichment",
    "vida_grid_heatmap",
    "vida_kurtosis_bootstrap",
    "vida_qq",
    "vida_roc",
    "vida_score_distributions",
]
