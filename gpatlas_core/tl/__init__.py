"""Computing: training, ablation importance, VIDA, baselines, embeddings."""

from ._ablation import (
    AblationCancelled,
    ImportanceResult,
    ablation_matrix,
    compute_importance,
    prediction_shift,
)
from ._causal import CausalRoc, causal_allele_roc
from ._lasso import LassoCVResult, lasso_cv
from ._loci import importance_column, known_qtl_hits, top_loci
from ._metrics import (
    COMPARISON_COLUMNS,
    MODEL_LABELS,
    comparison_frame,
    comparison_table,
    metrics_table,
    verdict,
)
from ._recovery import (
    Roc,
    chromosome_order,
    genome_coordinates,
    interval_roc,
    merge_intervals,
    qtl_peaks,
    qtl_recovery,
    variance_explained_correlation,
)
from ._tsne import LatentEmbedding, embed_latents
from ._vida import vida, vida_settings
from ._vida_candidates import (
    candidates_above_percentile,
    candidates_from_known_qtl,
    candidates_from_markers,
    candidates_from_truth,
    qtl_peak_markers,
    resolve_candidates,
)
from ._vida_clumpiness import clumpiness
from ._vida_eval import (
    VIDA_EVAL_SEED,
    VidaEvaluation,
    VidaTruthReport,
    best_of_grid,
    enrichment_curve,
    evaluate_vida,
    importance_by_class,
    interaction_labels,
    kurtosis_test,
    qq_data,
    roc_youden,
    vida_against_truth,
    vida_grid,
)

__all__ = [
    "COMPARISON_COLUMNS",
    "MODEL_LABELS",
    "VIDA_EVAL_SEED",
    "AblationCancelled",
    "CausalRoc",
    "ImportanceResult",
    "LassoCVResult",
    "LatentEmbedding",
    "Roc",
    "VidaEvaluation",
    "VidaTruthReport",
    "ablation_matrix",
    "best_of_grid",
    "candidates_above_percentile",
    "candidates_from_known_qtl",
    "candidates_from_markers",
    "candidates_from_truth",
    "causal_allele_roc",
    "chromosome_order",
    "clumpiness",
    "comparison_frame",
    "comparison_table",
    "compute_importance",
    "embed_latents",
    "enrichment_curve",
    "evaluate_vida",
    "genome_coordinates",
    "importance_by_class",
    "importance_column",
    "interaction_labels",
    "interval_roc",
    "known_qtl_hits",
    "kurtosis_test",
    "lasso_cv",
    "merge_intervals",
    "metrics_table",
    "prediction_shift",
    "qq_data",
    "qtl_peak_markers",
    "qtl_peaks",
    "qtl_recovery",
    "resolve_candidates",
    "roc_youden",
    "top_loci",
    "variance_explained_correlation",
    "verdict",
    "vida",
    "vida_against_truth",
    "vida_grid",
    "vida_settings",
]
