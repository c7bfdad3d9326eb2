"""Bad uploads (tests/bad_inputs.py) through the core reader and through the app's Data page.

Each case either loads (awkward but valid: encodings, NaN, chromosome spellings, ...) or is
refused with a DataError that names the file and what was expected. Through the app (AppTest
drives ``st.file_uploader`` natively since Streamlit 1.4x: ``set_value`` registers the bytes
with the test runtime), the same message is shown with ``st.error``, no exception escapes, and
the dataset loaded before stays loaded. Hostile payloads never run.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from apptest import APP
from bad_inputs import CASE_IDS, BadInput, build_corpus

from gpatlas_core.io import DataError, ReadLimits, read_uploaded
from gpatlas_core.sim import SimulationConfig, simulate

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, BadInput]:
    cases = build_corpus(tmp_path_factory.mktemp("bad_inputs"))
    return {c.id: c for c in cases}


def previous_dataset():
    cfg = SimulationConfig(n_individuals=40, n_loci=20, n_traits=3, causal_per_trait=3)
    ds = simulate(cfg, rng=np.random.default_rng(3))
    ds.name = "previous"
    return ds


def data_page(**state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["sync_jobs"] = True
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception, at.exception
    return at


def upload(at: AppTest, files: list[tuple[str, bytes]]) -> AppTest:
    """Choose ``files`` in the Data page's uploader and press 'Read the files'."""
    (uploader,) = [u for u in at.file_uploader if u.label == "Files"]
    uploader.set_value([(name, data, "application/octet-stream") for name, data in files])
    at.run()
    (read,) = [b for b in at.button if b.label == "Read the files"]
    read.click().run()
    return at


def test_corpus_has_every_case(corpus):
    assert tuple(corpus) == CASE_IDS
    assert all((c.error is None) != (c.check is None) for c in corpus.values())


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_core_reader(corpus, case_id):
    case = corpus[case_id]
    limits = ReadLimits(**case.limits)
    if case.error is not None:
        with pytest.raises(DataError, match=case.error):
            read_uploaded(case.uploads(), limits=limits)
    else:
        case.check(read_uploaded(case.uploads(), limits=limits))
    if case.sentinel is not None:
        assert not case.sentinel.exists(), "a payload was unpickled"


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_data_page_upload(corpus, case_id, hosted):
    case = corpus[case_id]
    if case.env:
        hosted(**case.env)
    before = previous_dataset()
    at = data_page(dataset=before)
    upload(at, list(case.files))
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    if case.error is not None:
        assert len(errors) == 1, errors
        assert errors[0].startswith("Could not load the data: ")
        assert re.search(case.error, errors[0]), errors[0]
        assert "Still using the previous dataset, previous." in errors[0]
        assert at.session_state["dataset"] is before
        assert "Check the data: previous" in [h.value for h in at.header]
    else:
        assert not errors, errors
        loaded = at.session_state["dataset"]
        # named after its files (a folder upload: the genotype table, else the file names)
        assert loaded is not before and loaded.name != "uploaded dataset"
        assert "genotypes" in loaded.name or loaded.name in {n for n, _ in case.files}, loaded.name
        case.check(loaded)
        assert f"Check the data: {loaded.name}" in [h.value for h in at.header]
    if case.sentinel is not None:
        assert not case.sentinel.exists(), "a payload was unpickled"


def test_reader_notes_are_shown(corpus):
    """Loaded with something worth knowing: the page says so next to the QC."""
    at = data_page(dataset=previous_dataset())
    upload(at, list(corpus["known-qtl-unknown-traits"].files))
    notes = " ".join(w.value for w in at.warning)
    assert "no_such_trait" in notes and "height" in notes, notes
    at = data_page()
    upload(at, list(corpus["single-allele-state"].files))
    notes = " ".join(w.value for w in at.warning)
    assert "1 marker has a single allele state" in notes and "m2" in notes, notes
