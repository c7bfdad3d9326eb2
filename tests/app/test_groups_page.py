"""The grouped (BINN-style) encoder through the app: the Train page option, the run bundle,
and the group sections of the Importance page."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("streamlit")
from apptest import app, button, texts, tiny


def _grouped_app():
    ds = tiny()
    at = app("pages/train.py", dataset=ds)
    at.number_input(key="e1-studio").set_value(3)
    at.number_input(key="e2-studio").set_value(2)
    at.toggle(key="groups-on").set_value(True).run()
    assert not at.exception, at.exception
    at.text_input[0].set_value("20kb").run()
    at.number_input(key="groups-k").set_value(2).run()
    assert "groups (" in texts(at) and "warm start" in texts(at)
    button(at, "Start training").click().run()
    assert not at.exception, at.exception
    return at, ds


def test_train_page_trains_a_grouped_encoder_and_importance_shows_groups():
    from gpatlas_core.io import window_groups
    from pages._lib import bundle

    at, ds = _grouped_app()
    run = at.session_state["run"]
    assert run.grouped and run.gq[0].units == 2
    assert run.config.model.groups == "windows:20kb"
    assert run.gq[0].n_groups == window_groups(ds.markers, "20kb").n_groups
    back = bundle.run_from_zip(bundle.run_to_zip(run))
    assert back.grouped
    np.testing.assert_array_equal(back.predict_dataset(ds), run.predict_dataset(ds))
    at.switch_page("pages/importance.py")
    at.run()
    at.slider[0].set_value(0)
    button(at, "Compute importance").click().run()
    assert not at.exception, at.exception
    assert "Groups (grouped encoder)" in [s.value for s in at.subheader]
    labels = [b.label for b in at.get("download_button")]
    assert labels.count("Download CSV") >= 2


def test_train_page_bad_window_size_is_an_error():
    at = app("pages/train.py", dataset=tiny())
    at.toggle(key="groups-on").set_value(True).run()
    at.text_input[0].set_value("lots").run()
    assert not at.exception, at.exception
    assert any("window size" in e.value for e in at.error)
