"""Hosted mode (GPATLAS_HOSTED=1): hidden error details, size / epoch / upload limits, and the
process-wide training queue with the user's place in it (README, section Hosting)."""

from __future__ import annotations

import re
import threading
import time
import tomllib

import numpy as np
import pytest

from gpatlas_core.io import DataError
from gpatlas_core.sim import SimulationConfig, simulate

pytest.importorskip("streamlit")
from apptest import APP, ROOT, button, page
from streamlit.testing.v1 import AppTest

GENO = "sample,m1,m2,m3\ns1,A,B,A\ns2,B,B,A\ns3,A,A,B\n"
PHENO = "sample,t1,t2\ns1,1.0,2\ns2,0.5,NA\ns3,2,3\n"
SECRET = "/srv/secret/path.py line 42"


@pytest.fixture
def restore_error_details():
    """app.py sets client.showErrorDetails in hosted mode (a process-wide option)."""
    from streamlit import config

    before = config.get_option("client.showErrorDetails")
    yield
    config.set_option("client.showErrorDetails", before)


def small():
    cfg = SimulationConfig(n_individuals=40, n_loci=20, n_traits=3, causal_per_trait=3)
    ds = simulate(cfg, rng=np.random.default_rng(5))
    ds.name = "small"
    return ds


def upload(at: AppTest, files: dict[str, bytes]) -> AppTest:
    (uploader,) = [u for u in at.file_uploader if u.label == "Files"]
    uploader.set_value([(n, d, "text/csv") for n, d in files.items()]).run()
    button(at, "Read the files").click().run()
    assert not at.exception, at.exception
    return at


def errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


# ----------------------------------------------------------------------- error details
@pytest.mark.parametrize("is_hosted", [False, True])
def test_page_bug_details_hidden_only_when_hosted(
    hosted, monkeypatch, restore_error_details, is_hosted
):
    """A bug on a page: one line, the data kept; hosted mode shows no detail of it.

    Uses Home (the default page): AppTest runs other pages without app.py's wrapper because
    the app's pages live in a folder named ``pages/`` (Streamlit's MPA v1 path).
    """
    from gpatlas_core.io import Dataset

    if is_hosted:
        hosted()

    def bug(self):
        raise RuntimeError(SECRET)

    monkeypatch.setattr(Dataset, "summary", bug)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["dataset"] = small()
    at.run()
    assert not at.exception, at.exception
    shown = errors(at)
    assert "Something went wrong on this page" in shown
    assert "Your data and results are kept" in shown
    assert (SECRET in shown) is not is_hosted, shown
    assert at.session_state["dataset"].name == "small"
    if is_hosted:
        from streamlit import config

        assert config.get_option("client.showErrorDetails") == "none"


def test_out_of_memory_on_a_page_or_while_reading_is_a_message(monkeypatch):
    """MemoryError is no bug: a plain message (what ran out, what to do), the data kept."""
    import gpatlas_core.io as core_io
    from gpatlas_core.io import Dataset

    def too_big(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(core_io, "read_uploaded", too_big)
    at = upload(page("pages/data.py", dataset=small()), {"genotypes.csv": GENO.encode(),
                                                          "phenotypes.csv": PHENO.encode()})  # fmt: skip
    shown = errors(at)
    assert "out of memory during reading the uploaded files" in shown, shown
    assert "Still using the previous dataset, small." in shown
    monkeypatch.setattr(Dataset, "summary", lambda self: too_big())
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["dataset"] = small()
    at.run()
    assert not at.exception, at.exception
    shown = errors(at)
    assert "out of memory during the Home page" in shown and "Something went wrong" not in shown
    assert "Your data and results are kept" in shown
    assert at.session_state["dataset"].name == "small"


def test_job_bug_details_hidden_when_hosted(hosted):
    from pages._lib import jobs

    def bug(job):
        raise KeyError(SECRET)

    local = jobs.run_job(jobs.Job(kind="x", key=""), bug, synchronous=True)
    assert local.status == "failed" and SECRET in local.error
    hosted()
    job = jobs.run_job(jobs.Job(kind="x", key=""), bug, synchronous=True)
    assert job.status == "failed" and SECRET not in job.error
    assert job.error.startswith("Unexpected error")
    user = jobs.run_job(
        jobs.Job(kind="x", key=""),
        lambda job: (_ for _ in ()).throw(DataError("phenotypes.csv, line 3: expected a number")),
        synchronous=True,
    )
    assert user.error == "phenotypes.csv, line 3: expected a number"  # user errors stay verbatim
    numpy_bug = jobs.run_job(  # a library's ValueError is a bug: hidden like any other
        jobs.Job(kind="x", key=""),
        lambda job: (_ for _ in ()).throw(ValueError(SECRET)),
        synchronous=True,
    )
    assert SECRET not in numpy_bug.error and numpy_bug.error.startswith("Unexpected error")


# ------------------------------------------------------------------------------ sizes
def test_max_individuals_and_markers_refuse_uploads(hosted):
    hosted(GPATLAS_MAX_INDIVIDUALS="2")
    at = upload(page("pages/data.py", dataset=small()), {"genotypes.csv": GENO.encode(),
                                                          "phenotypes.csv": PHENO.encode()})  # fmt: skip
    assert "3 samples" in errors(at) and "2 samples" in errors(at), errors(at)
    assert "Still using the previous dataset, small." in errors(at)
    hosted(GPATLAS_MAX_INDIVIDUALS="100", GPATLAS_MAX_MARKERS="2")
    at = upload(page("pages/data.py", dataset=small()), {"genotypes.csv": GENO.encode(),
                                                          "phenotypes.csv": PHENO.encode()})  # fmt: skip
    assert "3 markers" in errors(at) and "2 markers" in errors(at), errors(at)
    assert at.session_state["dataset"].name == "small"


def test_upload_too_large_is_refused_before_reading(hosted, monkeypatch):
    from gpatlas_core.io import _limits

    hosted(GPATLAS_MAX_UPLOAD_MB="1")

    def never(*args, **kwargs):
        raise AssertionError("the upload was read although it is too large")

    monkeypatch.setattr(_limits, "_raw_blocks", never)  # where every input's bytes are read
    big = GENO.encode() + b"s9,A,B,A\n" * 150_000  # 1.4 MB
    at = upload(page("pages/data.py", dataset=small()), {"genotypes.csv": big,
                                                          "phenotypes.csv": PHENO.encode()})  # fmt: skip
    assert re.search(r"genotypes\.csv: 1,[0-9,]+ bytes is larger than the upload limit of "
                     r"1,048,576 bytes", errors(at)), errors(at)  # fmt: skip
    half = GENO.encode() + b"s9,A,B,A\n" * 70_000  # two files of 0.6 MB: 1.2 MB in total
    at = upload(page("pages/data.py", dataset=small()), {"genotypes.csv": half,
                                                          "phenotypes.csv": half})  # fmt: skip
    assert "in total" in errors(at) and "1 MB" in errors(at), errors(at)
    assert at.session_state["dataset"].name == "small"


def test_streamlit_upload_cap_matches_the_default():
    conf = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert conf["server"]["maxUploadSize"] == 200  # = GPATLAS_MAX_UPLOAD_MB's default
    assert conf["server"].get("enableXsrfProtection", True) is True


# ----------------------------------------------------------------------------- epochs
def test_epoch_inputs_are_capped(hosted):
    hosted(GPATLAS_MAX_EPOCHS="7")
    at = page("pages/train.py", dataset=small())
    for key in ("e1-studio", "e2-studio"):
        widget = at.number_input(key=key)
        assert widget.max == 7 and widget.value <= 7


def test_continue_training_respects_the_epoch_cap(hosted):
    from gpatlas_core import preset
    from gpatlas_core.train import train

    ds = small()
    cfg = preset("paper-simulated", epochs_phenotype=9, epochs_genotype=9, device="cpu")
    stopped = train(ds, cfg, should_stop=lambda: True, baselines=False)
    assert stopped.status == "stopped"
    hosted(GPATLAS_MAX_EPOCHS="5")
    at = page("pages/train.py", dataset=ds, run=stopped, run_id="r1")
    button(at, "Continue training").click().run()
    assert not at.exception, at.exception
    assert "at most 5 epochs per tier" in errors(at), errors(at)
    assert at.session_state["run"] is stopped and stopped.status == "stopped"


# ------------------------------------------------------------------------------ queue
def test_training_waits_in_the_queue_and_shows_its_place(hosted, monkeypatch):
    from pages._lib import jobs, state

    hosted(GPATLAS_MAX_TRAINING_JOBS="1")
    queue = jobs.SlotQueue(1)
    jobs.run_job(
        jobs.Job(kind="train", key="earlier"), lambda j: None, queue=queue, synchronous=True
    )
    gate = threading.Event()
    other = jobs.run_job(jobs.Job(kind="train", key="other"), lambda j: gate.wait(30), queue=queue)
    monkeypatch.setattr(state, "training_queue", lambda: queue)
    try:
        at = page("pages/train.py", dataset=small(), sync_jobs=False)
        at.number_input(key="e1-studio").set_value(1)
        at.number_input(key="e2-studio").set_value(1)
        button(at, "Start training").click().run()
        mine = at.session_state["jobs"]["train"]
        end = time.monotonic() + 10
        while mine.queue_position != 1 and time.monotonic() < end:
            time.sleep(0.02)
        at.run()
        assert not at.exception, at.exception
        info = "\n".join(i.value for i in at.info)
        assert "you are number 1 in the queue" in info, info
        assert "Expected wait: about" in info, info  # one earlier training to judge by
        button(at, "Stop").click().run()
        end = time.monotonic() + 10
        while mine.active and time.monotonic() < end:
            time.sleep(0.02)
        assert mine.status == "stopped" and queue.n_waiting == 0
    finally:
        gate.set()
    while other.active:
        time.sleep(0.01)
