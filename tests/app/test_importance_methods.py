"""The Importance page's method selector (AppTest): a gradient attribution replaces the
Manhattan plot, the methods are compared, and the VIDA page follows the chosen method."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("streamlit")
from apptest import app, button, texts, tiny
from streamlit.testing.v1 import AppTest

from gpatlas_core import tl


def importance_app() -> AppTest:
    """Train a tiny model (3 + 2 epochs) and compute its ablation on the Importance page."""
    at = app("pages/train.py", dataset=tiny())
    at.number_input(key="e1-studio").set_value(3)
    at.number_input(key="e2-studio").set_value(2)
    button(at, "Start training").click().run()
    at.switch_page("pages/importance.py")
    at.run()
    at.slider[0].set_value(20)  # fewer bootstrap resamples
    button(at, "Compute importance").click().run()
    assert not at.exception, at.exception
    return at


def latest(at: AppTest, stage: str):
    return next(v for k, v in at.session_state["latest"].items() if json.loads(k)["stage"] == stage)


def manhattan_y(at: AppTest) -> list:
    """The y values of the Manhattan plot's traces (as plotly encodes them)."""
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    return [trace.get("y") for trace in spec["data"]]


def test_method_selector_changes_the_plot_and_compares_methods():
    at = importance_app()
    before = manhattan_y(at)
    assert "Methods side by side" not in [s.value for s in at.subheader]
    at.radio(key="importance-method").set_value("integrated-gradients").run()
    assert not at.exception, at.exception
    ig = latest(at, "importance-integrated-gradients")
    assert ig.method == "integrated-gradients"
    after = manhattan_y(at)
    assert after != before  # the plot now shows the attributions
    assert "Integrated gradients: " in texts(at)
    assert "Methods side by side" in [s.value for s in at.subheader]
    table = next(d.value for d in at.dataframe if "spearman_vs_ablation" in d.value.columns)
    assert list(table["method"]) == ["Ablation (exact)", "Integrated gradients"]
    abl = latest(at, "importance")
    assert table["spearman_vs_ablation"].iloc[1] == pytest.approx(tl.spearman_agreement(ig, abl))
    assert table["causal_auc"].iloc[0] == pytest.approx(
        tl.causal_allele_roc(abl.alleles, at.session_state["dataset"].truth).auc
    )
    # significance is a test of the ablation: off for the other methods, back with ablation
    assert not [r for r in at.radio if r.key == "manhattan-y"]
    assert "The significance view tests exact ablation" in texts(at)
    at.radio(key="importance-method").set_value("ablation").run()
    at.radio(key="manhattan-y").set_value("Significance (-log10 p)").run()
    assert not at.exception, at.exception
    assert "-log10 p" in at.get("plotly_chart")[0].proto.spec


def test_vida_page_uses_the_chosen_methods_matrix():
    at = importance_app()
    at.radio(key="importance-method").set_value("deeplift").run()
    assert not at.exception, at.exception
    at.switch_page("pages/vida.py")
    at.run()
    assert not at.exception, at.exception
    assert "per-individual DeepLIFT attributions" in texts(at)
    at.radio[0].set_value("Causal alleles (simulation truth)").run()
    button(at, "Run VIDA").click().run()
    assert not at.exception, at.exception
    ds, dl = at.session_state["dataset"], latest(at, "importance-deeplift")
    result = latest(at, "vida")
    again = tl.vida(dl.matrix, ds.allele_columns, candidates=tl.candidates_from_truth(ds))
    np.testing.assert_array_equal(
        result["scores"]["vida_score"].to_numpy(float), again["vida_score"].to_numpy(float)
    )
