"""Every page of the app runs (AppTest) on a tiny simulation and shows its key elements."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("streamlit")
from apptest import app, button, texts, tiny
from streamlit.testing.v1 import AppTest

from gpatlas_core import tl


def test_home_without_data():
    at = app()
    assert at.title[0].value == "G-P Atlas Studio"
    assert "No dataset loaded yet." in texts(at)
    button(at, "Load the yeast sample")


def test_data_simulate_and_qc():
    at = app("pages/data.py")
    assert "Choose a source above" in texts(at)
    button(at, "Simulate")  # present
    at.slider[0].set_value(100)  # individuals
    at.slider[1].set_value(40)  # loci
    at.slider[3].set_value(5)  # traits
    button(at, "Simulate").click().run()
    assert not at.exception, at.exception
    assert "Check the data" in texts(at)
    assert at.session_state["dataset"].n_samples == 100
    assert len(at.metric) >= 5


def test_failed_load_shows_error_and_keeps_previous_dataset(monkeypatch):
    from pages._lib import hosting

    monkeypatch.setenv("GPATLAS_HOSTED", "1")
    monkeypatch.setenv("GPATLAS_MAX_INDIVIDUALS", "500")
    hosting.limits.cache_clear()
    try:
        at = app("pages/data.py", dataset=tiny())
        assert "Check the data: tiny" in texts(at)
        button(at, "Load the yeast sample").click().run()  # 1,008 individuals > 500
        assert not at.exception, at.exception
        errors = " ".join(e.value for e in at.error)
        assert "at most 500 individuals" in errors and "previous dataset, tiny" in errors
        assert at.session_state["dataset"].name == "tiny"
    finally:
        monkeypatch.delenv("GPATLAS_HOSTED")
        hosting.limits.cache_clear()


def test_train_page_requires_data():
    at = app("pages/train.py")
    assert "No dataset yet" in texts(at)


def trained_app(page: str = "pages/train.py", dataset=None) -> AppTest:
    """Train a tiny model through the Train page (2 + 2 epochs, synchronous)."""
    at = app("pages/train.py", dataset=dataset if dataset is not None else tiny())
    at.number_input(key="e1-studio").set_value(3)
    at.number_input(key="e2-studio").set_value(2)
    button(at, "Start training").click().run()
    assert not at.exception, at.exception
    assert at.session_state["run"] is not None
    if page != "pages/train.py":
        at.switch_page(page)
        at.run()
        assert not at.exception, at.exception
    return at


def test_train_page_trains_and_shows_results():
    at = trained_app()
    body = texts(at)
    assert "Results on the test individuals" in body
    assert any("Ridge" in str(c) for df in at.dataframe for c in df.value.columns)
    assert any("G-P Atlas − LASSO" in str(c) for df in at.dataframe for c in df.value.columns)
    assert any("predicts best" in i.value or "are level" in i.value for i in at.info)
    assert at.session_state["run"].status == "finished"
    labels = [b.label for b in at.get("download_button")]
    assert "Download the run bundle (zip)" in labels


def test_latent_page_one_map_of_both_encoders():
    at = trained_app("pages/latent.py")
    button(at, "Compute t-SNE").click().run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 1, "one map of both code sets"
    assert "A line joins an individual's two points" in texts(at)
    table = at.dataframe[0].value
    assert {"map_distance", "latent_distance", "neighbour_rank"} <= set(table.columns)
    emb = next(v for k, v in at.session_state["latest"].items() if '"stage": "tsne"' in k)
    assert len(table) == len(emb.samples)
    at.radio[0].set_value("the genotype at a locus").run()
    assert not at.exception, at.exception
    at.toggle[0].set_value(False).run()  # without the links
    assert not at.exception, at.exception


def test_run_bundle_round_trip(tmp_path):
    import io
    import zipfile

    from gpatlas_core.io import DataError
    from pages._lib import bundle

    at = trained_app()
    run = at.session_state["run"]
    data = bundle.run_to_zip(run)
    back = bundle.run_from_zip(data)
    assert back.dataset_fingerprint == run.dataset_fingerprint
    assert back.traits == run.traits
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("run/weights.pkl", b"\x80\x04")
    with pytest.raises(DataError, match="not allowed"):
        bundle.run_from_zip(evil.getvalue())
    with pytest.raises(DataError, match="not a zip"):
        bundle.run_from_zip(b"hello")


def importance_app(page: str = "pages/importance.py", dataset=None) -> AppTest:
    at = trained_app("pages/importance.py", dataset)
    at.slider[0].set_value(20)  # fewer bootstrap resamples
    button(at, "Compute importance").click().run()
    assert not at.exception, at.exception
    if page != "pages/importance.py":
        at.switch_page(page)
        at.run()
        assert not at.exception, at.exception
    return at


def test_importance_page_manhattan_top_loci_and_truth():
    at = importance_app()
    body = texts(at) + "\n".join(s.value for s in at.subheader)
    assert "Top loci" in body and "Recovery of what is known" in body
    assert len(at.get("plotly_chart")) >= 3  # Manhattan, causal ROC, importance vs weight
    table = at.dataframe[0].value
    assert {"marker", "chromosome", "position", "importance"} <= set(table.columns)
    # the lead locus's effect plot: phenotype by genotype class, observed and predicted
    lead = table["marker"].iloc[0]
    assert f"Effect plot at {lead}" in [s.value for s in at.subheader]
    by_class = next(d.value for d in at.dataframe if "observed_mean" in d.value.columns)
    assert {"gpatlas_mean", "ridge_mean", "n"} <= set(by_class.columns)
    at.selectbox[0].set_value(at.session_state["dataset"].traits[0]).run()  # one trait
    assert not at.exception, at.exception
    at.selectbox[1].set_value("1").run()  # zoom to chromosome 1
    assert not at.exception, at.exception


def test_importance_page_significance_view():
    at = importance_app()
    at.radio(key="manhattan-y").set_value("Significance (-log10 p)").run()
    assert not at.exception, at.exception
    body = texts(at)
    assert "genome-wide threshold" in body and "raise the test prediction error" in body
    fig = at.get("plotly_chart")[0].proto.spec
    assert "-log10 p" in fig and "genome-wide 0.05" in fig
    table = at.dataframe[0].value
    assert {"p", "p_genome", "significant"} <= set(table.columns)
    assert table["p"].between(0, 1).all()


def test_vida_page_runs_and_evaluates_against_truth():
    at = importance_app("pages/vida.py")
    at.radio[0].set_value("Causal alleles (simulation truth)").run()
    button(at, "Run VIDA").click().run()
    assert not at.exception, at.exception
    assert "Ranked alleles" in "\n".join(s.value for s in at.subheader)
    assert any("vida_score" in d.value.columns for d in at.dataframe) or any(
        "Only 0 of" in w.value for w in at.warning
    )
    no_missing_cells(at)
    # the page's evaluation is the CLI's: the same core call with the CLI's default seed
    result = at.session_state["latest"]
    result = next(v for k, v in result.items() if '"stage": "vida"' in k)
    ds, imp = (
        at.session_state["dataset"],
        next(v for k, v in at.session_state["latest"].items() if '"stage": "importance"' in k),
    )
    again = tl.vida_against_truth(
        imp.matrix, ds.allele_columns, result["scores"], ds.truth, rng=np.random.default_rng(0)
    )
    assert result["truth_report"].to_dict() == again.to_dict()
    ev = result["truth_report"].evaluation
    if ev.n_interacting >= 2 and ev.n_non_interacting >= 2:
        assert "Against the simulation truth" in "\n".join(s.value for s in at.subheader)
    else:  # a degenerate evaluation is said, not drawn
        assert any("Too few scored causal alleles" in w.value for w in at.warning)
        assert "Against the simulation truth" not in "\n".join(s.value for s in at.subheader)


def test_vida_page_computes_its_recommended_input():
    """On the Importance page's default (test individuals, observed phenotypes) the VIDA page
    offers VIDA's recommended input; one click computes it for every individual against the
    model's prediction, and the clumpiness method then defaults to adaptive."""
    at = importance_app("pages/vida.py")
    body = "\n".join(m.value for m in at.markdown)
    assert "all individuals against the model's own prediction" in body
    method = next(s for s in at.selectbox if s.label == "Clumpiness method")
    assert method.value == "concentration"
    button(at, "Compute VIDA's input").click().run()
    assert not at.exception, at.exception
    ds = at.session_state["dataset"]
    latest = [v for k, v in at.session_state["latest"].items() if '"stage": "importance"' in k]
    imp = latest[-1]
    assert tl.is_vida_input(imp.params) and imp.matrix.shape[0] == ds.n_samples
    assert (imp.matrix <= 1e-6).all()  # minus squared prediction shifts
    assert "VIDA's recommended input" in texts(at)
    method = next(s for s in at.selectbox if s.label == "Clumpiness method")
    assert method.value == "adaptive"
    at.radio[0].set_value("Causal alleles (simulation truth)").run()
    button(at, "Run VIDA").click().run()
    assert not at.exception, at.exception
    result = next(v for k, v in at.session_state["latest"].items() if '"stage": "vida"' in k)
    assert result["scores"].attrs["vida"]["method"] == "adaptive"
    assert result["scores"].attrs["vida"]["n_individuals"] == ds.n_samples


def no_missing_cells(at: AppTest) -> None:
    """No table on the page shows an empty ("None") cell."""
    for df in at.dataframe:
        assert not df.value.isna().any().any(), df.value[df.value.isna().any(axis=1)]


def test_vida_page_without_truth_shows_each_alleles_partners():
    from gpatlas_core.sim import SimulationConfig, simulate

    cfg = SimulationConfig(
        n_individuals=200, n_loci=30, n_alleles=2, n_traits=4, causal_per_trait=4
    )
    ds = simulate(cfg, rng=np.random.default_rng(3))
    ds.truth, ds.name = None, "simulation without truth"
    at = importance_app("pages/vida.py", dataset=ds)
    at.radio[0].set_value("A list of markers").run()
    at.text_area[0].set_value(" ".join(ds.markers["marker"])).run()  # all 60 alleles
    at.slider[0].set_value(1.0).run()  # z threshold: enough extreme individuals on 40
    button(at, "Run VIDA").click().run()
    assert not at.exception, at.exception
    assert any("need simulated truth" in i.value for i in at.info)
    result = next(v for k, v in at.session_state["latest"].items() if '"stage": "vida"' in k)
    scores, partners = result["scores"], result["partners"]
    n_scored = int(scores["vida_score"].notna().sum())
    assert n_scored > 0, scores["status"].value_counts()
    assert set(zip(partners["marker"], partners["allele"], strict=True)) == set(
        zip(
            *scores.loc[scores["vida_score"].notna(), ["marker", "allele"]].T.to_numpy(),
            strict=True,
        )
    )
    assert "Partners: the pairs VIDA found" in [s.value for s in at.subheader]
    shown = next(d.value for d in at.dataframe if "partner_marker" in d.value.columns)
    assert len(shown) == len(partners)
    assert len(at.get("plotly_chart")) == 1  # the partner heatmap; no ROC without truth
    no_missing_cells(at)
    labels = [b.label for b in at.get("download_button")]
    assert "Download partners (CSV)" in labels
    allele = f"{partners['marker'].iloc[0]} {partners['allele'].iloc[0]}"
    at.selectbox(key="vida-partner-allele").set_value(allele).run()  # one allele's partners
    assert not at.exception, at.exception
    shown = next(d.value for d in at.dataframe if "partner_marker" in d.value.columns)
    assert (shown["marker"] + " " + shown["allele"] == allele).all()
    assert shown["partner_rank"].tolist() == list(range(1, len(shown) + 1))


def test_vida_page_asks_for_importance_first():
    at = trained_app("pages/vida.py")
    assert "Compute it first" in texts(at)
