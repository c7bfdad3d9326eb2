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


def test_top_loci_with_known_qtl_and_per_trait():
    import pandas as pd

    from gpatlas_core.tl import top_loci

    loci = pd.DataFrame(
        {
            "marker": ["m1", "m2", "m3", "m4"],
            "chromosome": ["1", "1", "2", "2"],
            "position": [100, 500, 100, 900],
            "importance": [0.1, 0.9, 0.5, 0.2],
            "ci_low": [0.0, 0.7, 0.3, 0.1],
            "ci_high": [0.2, 1.0, 0.6, 0.3],
            "trait:a": [0.0, 0.1, 0.8, 0.0],
        }
    )
    qtl = pd.DataFrame(
        {"trait": ["a", "b"], "chromosome": ["1", "2"], "position": [450, 120],
         "ci_left": [400, 50], "ci_right": [600, 150]}
    )  # fmt: skip
    table = top_loci(loci, percentile=50, known_qtl=qtl)
    assert table["marker"].tolist() == ["m2", "m3"]
    assert table["known_qtl"].tolist() == ["a", "b"]
    assert table["relative"].iloc[0] == 1.0 and "ci_low" in table
    per = top_loci(loci, trait="a", percentile=75, known_qtl=qtl)
    assert per["marker"].tolist() == ["m3"] and per["known_qtl"].tolist() == [""]
    zoom = top_loci(loci, percentile=0, chromosome="2")
    assert set(zoom["chromosome"]) == {"2"}


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


def test_queue_wait_estimate_from_recent_durations():
    queue = jobs.SlotQueue(1)
    assert queue.typical_duration() is None
    for seconds in (0.2, 0.6, 0.4):  # three finished runs: median 0.4 s
        wait(
            jobs.run_job(
                jobs.Job(kind="t", key=""), lambda j, s=seconds: time.sleep(s), queue=queue
            )
        )
    typical = queue.typical_duration()
    assert 0.39 <= typical < 0.55

    gate = threading.Event()
    running = jobs.run_job(jobs.Job(kind="a", key=""), lambda j: gate.wait(5), queue=queue)
    while running.status != "running":
        time.sleep(0.01)
    waiting = [jobs.run_job(jobs.Job(kind=k, key=""), lambda j: None, queue=queue) for k in "bc"]
    while queue.n_waiting < 2:
        time.sleep(0.01)
    try:
        # the running job: the mean of (d - elapsed) over recent durations d longer than it
        first = queue.wait_estimate(waiting[0])
        elapsed = running.elapsed
        assert 0 < first <= 0.6 + 0.05 - elapsed
        second = queue.wait_estimate(waiting[1])
        assert second == pytest.approx(first + typical, abs=0.05)  # one typical run later
        running.progress(1, 1000)  # its own progress is not used (too noisy early on)
        assert queue.wait_estimate(waiting[0]) == pytest.approx(first, abs=0.05)
        while running.elapsed < 0.75:  # it has outrun every recent run
            time.sleep(0.01)
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
