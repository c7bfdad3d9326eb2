"""Server housekeeping: the memory janitor, start-up freezing, per-job thread limits, job log."""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time

import pytest
import torch

from pages._lib import housekeeping, jobs


def test_janitor_releases_memory_periodically_and_stops(monkeypatch):
    calls = []
    monkeypatch.setattr(housekeeping, "release_memory", lambda: calls.append(time.monotonic()))
    janitor = housekeeping.Janitor(every=0.05)
    janitor.start()
    deadline = time.monotonic() + 5
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    janitor.stop()
    janitor.join(2)
    assert len(calls) >= 3
    assert not janitor.is_alive()


def test_janitor_survives_a_failing_release(monkeypatch, caplog):
    calls = []

    def boom():
        calls.append(threading.get_ident())
        raise RuntimeError("trim failed")

    monkeypatch.setattr(housekeeping, "release_memory", boom)
    janitor = housekeeping.Janitor(every=3600)  # rounds driven by hand, not by the clock
    logger = logging.getLogger("gpatlas")  # configure_logging may have stopped propagation
    monkeypatch.setattr(logger, "propagate", True)
    with caplog.at_level(logging.ERROR, logger="gpatlas"):
        janitor.tick()
        janitor.tick()  # kept going after the first failure
    # only this thread's rounds: the app tests' server janitor may run meanwhile
    me = threading.get_ident()
    assert calls.count(me) == 2
    mine = [r for r in caplog.records if r.thread == me]
    # distinct records (a handler the app added may pass each record on twice)
    assert len({id(r) for r in mine if r.getMessage() == "housekeeping failed"}) == 2


def test_release_memory_collects_cycles():
    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    probe = [a]
    gc.collect()
    import weakref

    ref = weakref.ref(a)
    del a, b, probe
    housekeeping.release_memory()
    assert ref() is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and glibc")
def test_rss_is_read_and_trim_is_available_on_linux():
    rss = housekeeping.rss_mib()
    assert rss is not None and 10 < rss < 100_000
    # glibc's malloc_trim is found (returns whether it released anything: either is fine)
    assert housekeeping._malloc_trim() in (True, False)


def test_freeze_moves_live_objects_out_of_the_collector():
    before = gc.get_freeze_count()
    housekeeping.freeze_imports()  # left frozen, as in the app (unfreezing would undo its freeze)
    assert gc.get_freeze_count() > before


def test_threads_per_job_applies_inside_the_job_thread(hosted):
    hosted(GPATLAS_THREADS_PER_JOB="1")
    seen = {}
    main_threads = torch.get_num_threads()

    def work(job):
        seen["threads"] = torch.get_num_threads()
        seen["thread"] = threading.current_thread().name
        return 1

    try:
        job = jobs.run_job(jobs.Job(kind="probe", key="k"), work)
        deadline = time.monotonic() + 10
        while job.active and time.monotonic() < deadline:
            time.sleep(0.01)
        assert job.status == "done"
        assert seen["threads"] == 1 and seen["thread"] == "gpatlas-probe"
        assert torch.get_num_threads() == main_threads  # the caller's threads are untouched
    finally:
        torch.set_num_threads(main_threads)


def test_finished_jobs_are_logged_with_their_times(caplog):
    logger = logging.getLogger("gpatlas")  # configure_logging() may have stopped propagation
    with caplog.at_level(logging.INFO, logger="gpatlas.studio"):
        propagate, logger.propagate = logger.propagate, True
        try:
            jobs.run_job(jobs.Job(kind="probe", key="k"), lambda job: 1, synchronous=True)
        finally:
            logger.propagate = propagate
    lines = [r.getMessage() for r in caplog.records if r.name == "gpatlas.studio"]
    assert any(line.startswith("job probe done:") and "queued" in line for line in lines), lines


def test_the_app_starts_housekeeping_once_per_process():
    from apptest import page

    from pages._lib import state

    at = page("pages/home.py")
    at.run()
    assert not at.exception, at.exception
    janitor = state.server_housekeeping()  # cached: the one the app started
    assert janitor.is_alive() and janitor.name == "gpatlas-janitor"
    assert [t for t in threading.enumerate() if t.name == "gpatlas-janitor"] == [janitor]
    assert gc.get_freeze_count() > 0
    page("pages/home.py").run()  # another session: no second janitor
    assert [t for t in threading.enumerate() if t.name == "gpatlas-janitor"] == [janitor]
