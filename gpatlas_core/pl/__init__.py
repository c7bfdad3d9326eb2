"""Drawing: functions that take results and return plotly figures. Never imports streamlit."""

from ._cv import cv_r2, tune_trials
from ._effects import effect_plot, region_plot
from ._experiments import (
    parent_ranking,
    progeny_distributions,
    progeny_histogram,
    swap_distribution,
    swap_heatmap,
)
from ._fit import error_densities, log_ticks, loss_curves, predicted_vs_real, smooth
from ._groups import group_importance_bar, sensitivity_heatmap
from ._importance import (
    causal_roc,
    importance_vs_weight,
    interval_roc_curve,
    qtl_recovery_curve,
    variance_explained_scatter,
)
from ._latent import latent_traversal_curves, latent_traversal_heatmap, latent_tsne
from ._manhattan import manhattan
from ._qc import (
    allele_state_counts,
    genotype_pca,
    maf_histogram,
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
    vida_partner_heatmap,
    vida_qq,
    vida_roc,
    vida_score_distributions,
)

__all__ = [
    "allele_state_counts",
    "causal_roc",
    "cv_r2",
    "effect_plot",
    "error_densities",
    "genotype_pca",
    "group_importance_bar",
    "importance_vs_weight",
    "interval_roc_curve",
    "latent_traversal_curves",
    "latent_traversal_heatmap",
    "latent_tsne",
    "log_ticks",
    "loss_curves",
    "maf_histogram",
    "manhattan",
    "marker_density",
    "markers_per_chromosome",
    "missingness",
    "parent_ranking",
    "predicted_vs_real",
    "progeny_distributions",
    "progeny_histogram",
    "qtl_recovery_curve",
    "region_plot",
    "sensitivity_heatmap",
    "smooth",
    "swap_distribution",
    "swap_heatmap",
    "trait_correlation",
    "trait_histograms",
    "tune_trials",
    "variance_explained_scatter",
    "vida_enrichment",
    "vida_grid_heatmap",
    "vida_kurtosis_bootstrap",
    "vida_partner_heatmap",
    "vida_qq",
    "vida_roc",
    "vida_score_distributions",
]
