"""The Experiments page (AppTest): allele swaps from named markers and from the top loci of
the importance result, a cross next to its parents, parent ranking, and the hosted limit."""

from __future__ import annotations

import pytest

pytest.importorskip("streamlit")
from apptest import app, button, texts, tiny
from experiment_toys import random_linear_run

pytestmark = pytest.mark.usefixtures("one_thread")
PAGE = "pages/experiments.py"


def session():
    ds = tiny()
    return {"dataset": ds, "run": random_linear_run(ds), "run_id": "toy-run"}


def headers(at) -> str:
    return "\n".join(s.value for s in at.subheader)


def test_page_needs_a_run():
    at = app(PAGE, dataset=tiny())
    assert "No trained model for this dataset yet" in texts(at)


def test_swaps_from_named_markers_and_crosses():
    at = app(PAGE, **session())
    assert [t.label for t in at.tabs] == ["Allele swaps", "Crosses"]
    assert "Type or paste marker names" in texts(at)  # no importance yet: name the loci
    at.text_area(key="swap-markers").set_value("locus_0002, locus_0007").run()
    assert "6 swap(s) in 6 set(s) x 12 individuals" in texts(at)
    button(at, "Run the swaps").click().run()
    assert not at.exception, at.exception
    assert "Mean change of every trait" in headers(at)
    summary = at.session_state["latest"]
    res = next(v for k, v in summary.items() if '"stage": "swaps"' in k)
    assert len(res.summary) == 6 * 4 and res.params["ridge"]
    at.selectbox(key="swap-one").set_value(res.sets[3]).run()
    at.radio(key="swap-scale").set_value("trait units").run()
    assert not at.exception, at.exception
    n_figures = len(at.get("plotly_chart"))
    assert n_figures >= 2  # heatmap + one swap's distribution

    at.selectbox(key="x-b").set_value("ind_0005").run()
    button(at, "Cross").click().run()
    assert not at.exception, at.exception
    assert "Predicted progeny of ind_0001 x ind_0005" in headers(at)
    assert "haploid" in texts(at) and "crossovers per meiosis" in texts(at)
    labels = [b.label for b in at.get("download_button")]
    assert "Download the offspring genotypes (CSV)" in labels
    at.selectbox(key="x-trait").set_value(at.session_state["dataset"].traits[2]).run()
    assert not at.exception, at.exception

    at.slider(key="r-k").set_value(4).run()
    button(at, "Rank pairs").click().run()
    assert not at.exception, at.exception
    ranking = next(v for k, v in at.session_state["latest"].items() if "rank-parents" in k)
    assert len(ranking.table) == 6 and ranking.params["criterion"] == "trait_01"
    # the ridge fit is made once per run and session, then reused
    assert sum("experiments-ridge" in k for k in at.session_state["results"]) == 1


def test_swaps_from_top_loci_of_importance():
    at = app("pages/importance.py", **session())
    at.slider[0].set_value(0)  # no bootstrap
    button(at, "Compute importance").click().run()
    assert not at.exception, at.exception
    at.switch_page(PAGE).run()
    assert at.radio(key="swap-source").value == "Top loci by importance"
    at.slider(key="swap-n-top").set_value(3)
    at.radio(key="swap-which").set_value("the rarer allele").run()
    at.checkbox(key="swap-one-set").check().run()
    assert "3 swap(s) in 1 set(s)" in texts(at)
    button(at, "Run the swaps").click().run()
    assert not at.exception, at.exception
    res = next(v for k, v in at.session_state["latest"].items() if '"stage": "swaps"' in k)
    assert res.sets[0].count("+") == 2  # one three-locus edit


def test_hosted_limit_disables_large_experiments(hosted):
    hosted(GPATLAS_MAX_EXPERIMENT_GENOTYPES="20")
    at = app(PAGE, **session())
    at.text_area(key="swap-markers").set_value("locus_0002 locus_0003").run()
    warnings = " ".join(w.value for w in at.warning)
    assert "72 genotypes to predict; this server allows 20" in warnings
    assert button(at, "Run the swaps").disabled
    assert button(at, "Rank pairs").disabled  # 15 crosses x 20 offspring
    assert not button(at, "Cross").disabled  # 20 offspring: within the limit
