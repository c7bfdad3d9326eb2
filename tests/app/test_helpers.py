"""App-side helpers: background jobs, training queue, hosted-mode limits, top-loci tables."""

from __future__ import annotations

import threading
import time

import pytest

from gpatlas_core.io import DataError
from pages._lib import hosting, jobs


def wait(job: jobs.Job, timeout: float = 10) -> None:
    end = time.monotonic() + timeout
    while job.active and time.monotonic() < end:
        time.sleep(0.01)
    assert not job.active


def test_job_runs_in_a_thread_and_reports():
    def work(job):
        assert threading.current_thread().name.startswith("gpatlas-")
        for i in range(3):
            job.progress(i + 1, 3, f"step {i + 1}")
        return 42

    job = jobs.run_job(jobs.Job(kind="demo", key="k"), work)
    wait(job)
    assert job.status == "done" and job.result == 42 and job.fraction == 1.0
    assert job.message == "step 3"


def test_stop_and_errors_become_statuses():
    def slow(job):
        while not job.should_stop():
            time.sleep(0.01)
        return "partial"

    job = jobs.run_job(jobs.Job(kind="slow", key=""), slow)
    job.stop()
    wait(job)
    assert job.status == "stopped" and job.result == "partial"

    def bad_input(job):
        raise DataError("phenotypes.csv, row 3: expected a number")

    job = jobs.run_job(jobs.Job(kind="x", key=""), bad_input, synchronous=True)
    assert job.status == "failed" and job.error == "phenotypes.csv, row 3: expected a number"

    def bug(job):
        raise KeyError("oops")

    job = jobs.run_job(jobs.Job(kind="x", key=""), bug, synchronous=True)
    assert job.status == "failed" and job.error.startswith("Unexpected error (KeyError)")

    def numpy_bug(job):  # a ValueError from a library is a bug, not the user's mistake
        import numpy as np

        np.zeros(3).reshape(2, 2)

    job = jobs.run_job(jobs.Job(kind="x", key=""), numpy_bug, synchronous=True)
    assert job.status == "failed" and job.error.startswith("Unexpected error (ValueError)")


def test_queue_runs_one_at_a_time_and_shows_places():
    queue = jobs.SlotQueue(1)
    gate = threading.Event()

    def blocked(job):
        gate.wait(5)
        return job.kind

    first = jobs.run_job(jobs.Job(kind="a", key=""), blocked, queue=queue)
    while first.status != "running":
        time.sleep(0.01)
    second = jobs.run_job(jobs.Job(kind="b", key=""), blocked, queue=queue)
    third = jobs.run_job(jobs.Job(kind="c", key=""), blocked, queue=queue)
    while queue.n_waiting < 2:
        time.sleep(0.01)
    assert (second.status, second.queue_position) == ("queued", 1)
    assert (third.status, third.queue_position) == ("queued", 2)
    third.stop()  # leaving the queue
    wait(third)
    assert third.status == "stopped" and queue.n_waiting == 1
    gate.set()
    wait(first)
    wait(second)
    assert first.result == "a" and second.result == "b"


def test_hosted_limits_from_environment(monkeypatch):
    monkeypatch.setenv("GPATLAS_HOSTED", "1")
    monkeypatch.setenv("GPATLAS_MAX_EPOCHS", "40")
    monkeypatch.setenv("GPATLAS_MAX_INDIVIDUALS", "not a number")
    hosting.limits.cache_clear()
    try:
        lim = hosting.limits()
        assert lim.hosted and lim.max_epochs == 40
        assert lim.max_individuals == 5000  # bad value -> documented default
        assert lim.max_training_jobs == 1
    finally:
        monkeypatch.delenv("GPATLAS_HOSTED")
        hosting.limits.cache_clear()
    assert not hosting.limits().hosted and hosting.limits().max_epochs is None


@pytest.mark.parametrize("hosted", [False, True])
def test_size_check(monkeypatch, hosted, tiny_dataset):
    from pages._lib import loaders

    if hosted:
        monkeypatch.setenv("GPATLAS_HOSTED", "1")
        monkeypatch.setenv("GPATLAS_MAX_INDIVIDUALS", "10")
    hosting.limits.cache_clear()
    try:
        if hosted:
            with pytest.raises(DataError, match="at most 10 individuals"):
                loaders.check_size(tiny_dataset)
        else:
            loaders.check_size(tiny_dataset)
    finally:
        monkeypatch.delenv("GPATLAS_HOSTED", raising=False)
        hosting.limits.cache_clear()


def test_uploaded_dataset_folder_files_are_read(tiny_folder, tiny_dataset):
    import io

    from pages._lib import loaders

    class Upload(io.BytesIO):  # what st.file_uploader hands over: bytes with a name
        def __init__(self, path):
            super().__init__(path.read_bytes())
            self.name = path.name

    files = [Upload(p) for p in sorted(tiny_folder.glob("*.csv*"))]
    ds = loaders.read_uploaded(files, "own_state")
    assert ds.n_samples == tiny_dataset.n_samples and ds.traits == tiny_dataset.traits
    with pytest.raises(DataError):
        loaders.read_uploaded([], "own_state")


class FakeClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_queue_wait_estimate_from_recent_durations():
    clock = FakeClock()
    queue = jobs.SlotQueue(1, clock=clock)
    assert queue.typical_duration() is None
    for seconds in (0.2, 0.6, 0.4):  # three finished runs: median 0.4 s
        job = jobs.Job(kind="t", key="", clock=clock)
        jobs.run_job(job, lambda j, s=seconds: clock.advance(s), queue=queue, synchronous=True)
        assert job.elapsed == pytest.approx(seconds)
    typical = queue.typical_duration()
    assert typical == pytest.approx(0.4)

    gate = threading.Event()
    running = jobs.run_job(
        jobs.Job(kind="a", key="", clock=clock), lambda j: gate.wait(5), queue=queue
    )
    while running.status != "running":
        time.sleep(0.01)
    waiting = [
        jobs.run_job(jobs.Job(kind=k, key="", clock=clock), lambda j: None, queue=queue)
        for k in "bc"
    ]
    while queue.n_waiting < 2:
        time.sleep(0.01)
    try:
        clock.advance(0.1)  # the running job has run 0.1 s
        # the running job: the mean of (d - elapsed) over recent durations d longer than it
        first = queue.wait_estimate(waiting[0])
        assert first == pytest.approx(((0.2 - 0.1) + (0.6 - 0.1) + (0.4 - 0.1)) / 3)
        second = queue.wait_estimate(waiting[1])
        assert second == pytest.approx(first + typical)  # one typical run later
        running.progress(1, 1000)  # its own progress is not used (too noisy early on)
        assert queue.wait_estimate(waiting[0]) == pytest.approx(first)
        clock.advance(0.35)  # 0.45 s: only the 0.6 s run is still longer
        assert queue.wait_estimate(waiting[0]) == pytest.approx(0.15)
        clock.advance(0.3)  # 0.75 s: it has outrun every recent run
        assert queue.wait_estimate(waiting[0]) == 0.0
        assert queue.wait_estimate(waiting[1]) == pytest.approx(typical)
        assert queue.wait_estimate(running) is None  # not waiting
    finally:
        gate.set()
    for job in (running, *waiting):
        wait(job)
    assert len(queue._durations) == 6  # every finished run counts
    # a failed or stopped run does not
    wait(jobs.run_job(jobs.Job(kind="x", key=""), lambda j: 1 / 0, queue=queue))
    stopped = jobs.Job(kind="y", key="")
    stopped.stop()
    wait(jobs.run_job(stopped, lambda j: None, queue=queue))
    assert len(queue._durations) == 6


def _figure_page():
    import plotly.graph_objects as go
    import streamlit as st

    from pages._lib import ui

    st.radio("Figure image format", ["PNG", "SVG"], key="figure-format")
    ui.figure(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])), "my_plot.html")


def test_figure_camera_saves_png_or_svg_named_after_the_file():
    import json

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_figure_page).run()
    config = json.loads(at.get("plotly_chart")[0].proto.config)["toImageButtonOptions"]
    assert config == {"format": "png", "filename": "my_plot", "scale": 2}
    at.radio(key="figure-format").set_value("SVG").run()
    config = json.loads(at.get("plotly_chart")[0].proto.config)["toImageButtonOptions"]
    assert config["format"] == "svg"
