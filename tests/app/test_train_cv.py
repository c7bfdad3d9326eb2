"""Train page: cross-validation (the core's numbers, shown with SEs and win/loss), settings
loaded from a JSON file, and the grid search on a local Ray whose best settings can be used."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("streamlit")
from apptest import app, button, texts, tiny

from gpatlas_core import tl
from gpatlas_core.config import preset


def _small_epochs(at, name: str = "studio"):
    at.number_input(key=f"e1-{name}").set_value(2)
    at.number_input(key=f"e2-{name}").set_value(1)
    return at


def _settings_upload(at, name: str, data: bytes):
    (up,) = [u for u in at.file_uploader if u.label == "Load settings from a file"]
    up.set_value([(name, data, "application/json")]).run()
    assert not at.exception, at.exception
    return at


def test_cross_validate_shows_the_cores_result():
    ds = tiny()
    at = _small_epochs(app("pages/train.py", dataset=ds))
    at.number_input(key="cv-folds").set_value(3).run()
    button(at, "Cross-validate").click().run()
    assert not at.exception, at.exception
    body = texts(at)
    assert "Median test R² over traits, mean ± SE over 3 folds" in body
    assert "G-P Atlas vs LASSO: better on" in body
    table = next(d.value for d in at.dataframe if "G-P Atlas R² SE" in d.value.columns)
    assert table["trait"].iloc[0] == tl.MEDIAN and len(table) == 1 + ds.n_traits
    cfg = preset("studio", epochs_phenotype=2, epochs_genotype=1)
    direct = tl.cross_validate(ds, cfg, folds=3, rng=np.random.default_rng(cfg.train.seed))
    np.testing.assert_allclose(table["G-P Atlas R²"].iloc[0], direct.score, atol=1e-6)


def test_settings_file_becomes_the_form_and_a_bad_file_changes_nothing():
    at = app("pages/train.py", dataset=tiny())
    cfg = preset("quick", epochs_phenotype=4)
    cfg.model.latent = 12
    _settings_upload(at, "best_config.json", json.dumps({"config": cfg.to_dict()}).encode())
    assert at.selectbox(key="preset").value == "from-file"
    assert at.number_input(key="e1-from-file").value == 4
    at2 = app("pages/train.py", dataset=tiny())
    _settings_upload(at2, "config.json", b"\x80\x04\x95 not json")  # e.g. a pickle
    assert any("not valid JSON" in e.value for e in at2.error)
    assert at2.selectbox(key="preset").value == "studio"


def test_grid_search_runs_trials_and_its_best_settings_are_used(local_ray):
    at = _small_epochs(app("pages/train.py", dataset=tiny()))
    at.text_area(key="grid").set_value('{"latent": [4, 8]}').run()
    at.number_input(key="tune-folds").set_value(2).run()
    assert "2 trials of 2 folds each" in texts(at)
    button(at, "Run grid search").click().run()
    assert not at.exception, at.exception
    assert any("Best: latent=" in s.value for s in at.success)
    button(at, "Use the best settings").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="preset").value == "from-file"
    assert at.number_input(key="e1-from-file").value == 2  # the searched settings, kept


def test_grid_search_is_off_when_hosted(hosted):
    hosted()
    at = app("pages/train.py", dataset=tiny())
    assert not [t for t in at.text_area if t.key == "grid"]


def test_mape_only_for_positive_traits_and_earlier_runs_can_be_overlaid():
    ds = tiny()
    ds.phenotypes = ds.phenotypes - np.nanmean(ds.phenotypes, axis=0)  # centred traits
    at = _small_epochs(app("pages/train.py", dataset=ds))
    button(at, "Start training").click().run()
    medians = next(d.value for d in at.dataframe if "r2_individual" in d.value.columns)
    assert "mape" not in medians.columns
    assert "percentage error means nothing" in texts(at)
    assert not [m for m in at.multiselect if m.key == "overlay-runs"]  # nothing earlier yet
    button(at, "Start training").click().run()
    (overlay,) = [m for m in at.multiselect if m.key == "overlay-runs"]
    assert overlay.options and overlay.options[0].startswith("run 1 (studio, seed 47)")
    overlay.set_value([overlay.options[0]]).run()
    at.radio(key="curves-scale").set_value("linear").run()
    assert not at.exception, at.exception
    positive = tiny()
    assert np.nanmin(positive.phenotypes) > 0  # the simulator's traits are positive
    at2 = _small_epochs(app("pages/train.py", dataset=positive))
    button(at2, "Start training").click().run()
    medians = next(d.value for d in at2.dataframe if "r2_individual" in d.value.columns)
    assert "mape" in medians.columns
