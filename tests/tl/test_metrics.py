"""Accuracy metrics: values against scipy / scikit-learn, missing cells, the MAPE zero guard."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn.metrics import mean_absolute_percentage_error, mean_squared_error, r2_score

from gpatlas_core.tl._metrics import metrics_table, prediction_metrics


def test_per_trait_and_individual_values() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(3, 1, size=(30, 4))
    yhat = y + rng.normal(0, 0.5, size=y.shape)
    m = prediction_metrics(y, yhat, traits=list("abcd"), samples=[f"s{i}" for i in range(30)])
    for k, t in enumerate("abcd"):
        assert m["per_trait"]["r2"][t] == pytest.approx(r2_score(y[:, k], yhat[:, k]))
        assert m["per_trait"]["mse"][t] == pytest.approx(mean_squared_error(y[:, k], yhat[:, k]))
        assert m["per_trait"]["pearson"][t] == pytest.approx(pearsonr(y[:, k], yhat[:, k])[0])
        mape = 100 * mean_absolute_percentage_error(y[:, k], yhat[:, k])
        assert m["per_trait"]["mape"][t] == pytest.approx(mape)
    assert m["per_individual"]["r2"]["s3"] == pytest.approx(r2_score(y[3], yhat[3]))
    assert m["median"]["r2"] == pytest.approx(
        np.median([r2_score(y[:, k], yhat[:, k]) for k in range(4)])
    )
    assert m["median_per_individual"]["mse"] == pytest.approx(np.median(((y - yhat) ** 2).mean(1)))
    assert m["n_cells"] == 120


def test_missing_cells_and_zero_guard() -> None:
    y = np.array([[1.0, 0.0], [2.0, np.nan], [3.0, 2.0], [np.nan, 4.0]])
    yhat = np.array([[1.5, 1.0], [2.0, 5.0], [2.0, 2.0], [9.0, 3.0]])
    m = prediction_metrics(y, yhat, traits=["a", "b"], samples=list("wxyz"))
    a = ~np.isnan(y[:, 0])
    assert m["per_trait"]["r2"]["a"] == pytest.approx(r2_score(y[a, 0], yhat[a, 0]))
    # trait b: observed 0.0, 2.0, 4.0; the zero is left out of MAPE only
    assert m["per_trait"]["mape"]["b"] == pytest.approx(100 * (0 / 2 + 1 / 4) / 2)
    assert m["per_trait"]["mse"]["b"] == pytest.approx((1 + 0 + 1) / 3)
    # an individual with one observed trait has no R^2 / Pearson
    assert m["per_individual"]["r2"]["z"] is None and m["per_individual"]["pearson"]["z"] is None
    assert m["n_cells"] == 6


def test_constant_trait_is_none_and_table() -> None:
    y = np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 5.0]])
    m = prediction_metrics(y, y + 0.1, traits=["c", "d"], samples=list("abc"))
    assert m["per_trait"]["r2"]["c"] is None and m["per_trait"]["r2"]["d"] is not None
    assert m["median"]["r2"] == m["per_trait"]["r2"]["d"]
    rows = metrics_table({"genotype_to_phenotype": m, "ridge": m})
    assert [r["model"] for r in rows] == ["genotype_to_phenotype", "ridge"]
    with pytest.raises(ValueError, match="shapes"):
        prediction_metrics(y, y[:, :1], traits=["c"], samples=list("abc"))


def test_comparison_frame_labels_differences_and_qtl_column() -> None:
    from gpatlas_core.tl import COMPARISON_COLUMNS, comparison_frame

    def entry(r2):
        return {"per_trait": {"r2": r2}, "median": {"r2": float(np.median(list(r2.values())))}}

    metrics = {
        "genotype_to_phenotype": entry({"a": 0.5, "b": 0.2}),
        "ridge": entry({"a": 0.4, "b": 0.3}),
        "lasso": entry({"a": 0.6, "b": 0.1}),
        "qtl_linear": entry({"a": 0.35, "b": 0.05}),
    }
    table = comparison_frame(metrics, ["a", "b"])
    assert list(table.columns) == [
        "trait",
        *(COMPARISON_COLUMNS[k] for k in ("genotype_to_phenotype", "ridge", "lasso")),
        *(COMPARISON_COLUMNS[k] for k in ("diff_ridge", "diff_lasso", "qtl_linear")),
    ]
    np.testing.assert_allclose(table["G-P Atlas − ridge"], [0.1, -0.1])
    np.testing.assert_allclose(table["G-P Atlas − LASSO"], [-0.1, 0.1])
    np.testing.assert_allclose(table["QTL linear R²"], [0.35, 0.05])
    del metrics["qtl_linear"], metrics["lasso"]
    assert list(comparison_frame(metrics, ["a"]).columns) == [
        "trait",
        "G-P Atlas R²",
        "Ridge R²",
        "G-P Atlas − ridge",
    ]
