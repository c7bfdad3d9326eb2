"""The variational tier in the app: the Train page's option, its coverage and interval bars,
and the Latent page's traversal heatmap (for any run)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("streamlit")
from apptest import app, button, texts, tiny


def _train(variational: bool):
    at = app("pages/train.py", dataset=tiny())
    at.number_input(key="e1-studio").set_value(3)
    at.number_input(key="e2-studio").set_value(2)
    if variational:
        at.checkbox(key="variational-studio").check().run()
        at.number_input(key="beta-studio").set_value(0.3)
    button(at, "Start training").click().run()
    assert not at.exception, at.exception
    return at


def test_train_page_variational_shows_coverage_and_interval_bars():
    at = _train(variational=True)
    run = at.session_state["run"]
    assert run.variational and run.config.train.beta == 0.3
    assert "90% prediction intervals" in texts(at)
    labels = [m.label for m in at.metric]
    assert "Coverage on the test individuals" in labels
    shown = next(m for m in at.metric if m.label == "Coverage on the test individuals").value
    median = run.metrics["genotype_to_phenotype"]["interval_coverage"]["median"]
    assert shown == f"{median:.1%}"
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    scatter = next(s for s in specs if "predicted vs real" in str(s["layout"].get("title")))
    assert scatter["data"][0]["error_y"]["array"], "interval bars on G-P Atlas's points"


def test_train_page_default_has_no_intervals():
    at = _train(variational=False)
    assert not at.session_state["run"].variational
    assert "Coverage on the test individuals" not in [m.label for m in at.metric]


def test_latent_page_traversal_heatmap_for_a_deterministic_run():
    at = _train(variational=False)
    at.switch_page("pages/latent.py")
    at.run()
    assert not at.exception, at.exception
    before = len(at.get("plotly_chart"))
    at.checkbox(key="traversal-show").check().run()
    assert not at.exception, at.exception
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(specs) == before + 2  # the heatmap and one dimension's curves
    heat = next(s for s in specs if s["data"][0]["type"] == "heatmap")
    run = at.session_state["run"]
    assert len(heat["data"][0]["y"]) == len(run.traits)
    assert len(heat["data"][0]["x"]) == run.config.model.latent
    assert "A column with one strong cell" in texts(at)
    at.selectbox(key="traversal-dim").set_value(0).run()
    assert not at.exception, at.exception
    curves = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert "z1" in curves["layout"]["title"]["text"]
