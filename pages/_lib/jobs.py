"""Background jobs: long work runs in a thread, the page polls it.

A :class:`Job` is owned by one browser session (it lives in that session's
``st.session_state``), so one user's work never mixes with another's. The core reports through
callbacks; a job turns them into progress and a stop flag. A process-wide :class:`SlotQueue`
limits how many heavy jobs (training) run at once across all sessions; waiting jobs see their
place in the queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from gpatlas_core.io import DataError

log = logging.getLogger("gpatlas.studio")

Status = Literal["queued", "running", "done", "failed", "stopped"]
Clock = Callable[[], float]
"""Seconds on a monotonic scale; ``time.monotonic`` unless a test passes its own."""


class JobStopped(Exception):
    """Raised inside a job when the user pressed Stop while it waited in the queue."""


@dataclass
class Job:
    """One piece of background work and what it has reported so far."""

    kind: str
    key: str
    label: str = ""
    status: Status = "queued"
    done: float = 0.0
    total: float = 0.0
    message: str = ""
    result: Any = None
    error: str | None = None
    events: list = field(default_factory=list)
    queue_position: int | None = None
    queue: SlotQueue | None = field(default=None, repr=False)
    meta: dict = field(default_factory=dict)
    clock: Clock = field(default=time.monotonic, repr=False, compare=False)
    created: float | None = None
    started: float | None = None
    finished: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def __post_init__(self) -> None:
        if self.created is None:
            self.created = self.clock()

    # ------------------------------------------------------------ callbacks
    def stop(self) -> None:
        """Ask the job to stop at the next check (the core polls ``should_stop``)."""
        self._stop.set()

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def progress(self, done: float, total: float, message: str | None = None) -> None:
        self.done, self.total = float(done), float(total)
        if message is not None:
            self.message = message

    # ------------------------------------------------------------- reading
    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total > 0 else 0.0

    @property
    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or self.clock()) - self.started

    def eta_seconds(self) -> float | None:
        """Time left if work goes on at the average pace so far (None before any progress)."""
        if self.status != "running" or self.done <= 0 or self.total <= 0:
            return None
        return self.elapsed * (self.total - self.done) / self.done


class SlotQueue:
    """At most ``capacity`` jobs hold a slot at once; the others wait first come, first served.

    The queue remembers how long its last jobs held a slot, to tell a waiting user roughly how
    long the wait will be (:meth:`wait_estimate`), timed on ``clock``.
    """

    def __init__(self, capacity: int, *, history: int = 20, clock: Clock = time.monotonic) -> None:
        self.capacity = max(1, int(capacity))
        self.clock = clock
        self._cond = threading.Condition()
        self._running: list[Job] = []
        self._waiting: list[Job] = []
        self._durations: deque[float] = deque(maxlen=history)

    def _update_positions(self) -> None:
        for i, job in enumerate(self._waiting):
            job.queue_position = i + 1

    @contextmanager
    def slot(self, job: Job) -> Iterator[None]:
        with self._cond:
            self._waiting.append(job)
            self._update_positions()
            while self._waiting[0] is not job or len(self._running) >= self.capacity:
                if job.should_stop():
                    self._waiting.remove(job)
                    self._update_positions()
                    self._cond.notify_all()
                    raise JobStopped
                self._cond.wait(timeout=0.5)
            self._waiting.remove(job)
            self._running.append(job)
            job.queue_position = None
            self._update_positions()
            self._cond.notify_all()
        held_from, completed = self.clock(), False
        try:
            yield
            completed = not job.should_stop()  # failed or stopped runs are not typical
        finally:
            with self._cond:
                self._running.remove(job)
                if completed:
                    self._durations.append(self.clock() - held_from)
                self._cond.notify_all()

    def typical_duration(self) -> float | None:
        """Median time the recent finished jobs held a slot (None before the first one)."""
        with self._cond:
            done = sorted(self._durations)
        return done[len(done) // 2] if done else None

    def wait_estimate(self, job: Job) -> float | None:
        """Seconds until ``job`` gets a slot, if the jobs ahead take the typical time.

        A job running now counts with the mean residual time of the recent jobs that ran
        longer than it has so far (0 once it has outrun them all). Its own progress is not
        used: early in a training it counts the set-up time against a few fast tier-1 epochs
        and overshoots many times over (measured: ``bench/RESULTS.md``, load test). None when
        ``job`` is not waiting or no job has finished yet.
        """
        typical = self.typical_duration()
        with self._cond:
            if typical is None or job not in self._waiting:
                return None
            ahead = self._waiting.index(job)
            done = list(self._durations)
            left = []
            for other in self._running:
                longer = [d - other.elapsed for d in done if d > other.elapsed]
                left.append(sum(longer) / len(longer) if longer else 0.0)
        # slots free up as the running jobs end; then each round of `capacity` jobs takes
        # the typical time
        left += [0.0] * (self.capacity - len(left))
        left.sort()
        rounds, slot = divmod(ahead, self.capacity)
        return left[slot] + rounds * typical

    @property
    def n_running(self) -> int:
        return len(self._running)

    @property
    def n_waiting(self) -> int:
        return len(self._waiting)


def _limit_threads() -> None:
    """Apply ``GPATLAS_THREADS_PER_JOB`` to torch's intra-op threads, from the job's thread.

    Torch keeps the setting per thread and also uses it for threads started later, so with
    the variable set every job (and script run) of the process works with that many threads.
    """
    from .hosting import limits

    n = limits().threads_per_job
    if n is not None:
        import torch

        torch.set_num_threads(n)


def _execute(
    job: Job, fn: Callable[[Job], Any], queue: SlotQueue | None, user_errors: tuple
) -> None:
    try:
        _limit_threads()
        if queue is not None:
            with queue.slot(job):
                job.status, job.started = "running", job.clock()
                job.result = fn(job)
        else:
            job.status, job.started = "running", job.clock()
            job.result = fn(job)
        job.status = "stopped" if job.should_stop() else "done"
    except JobStopped:
        job.status = "stopped"
    except user_errors as err:
        job.status, job.error = "failed", str(err)
    except MemoryError:  # not a bug: the data or the model is too large for this machine
        from gpatlas_core.io import out_of_memory_message

        log.warning("background job %s ran out of memory", job.kind)
        job.status = "failed"
        job.error = out_of_memory_message(f"the {job.kind}")
    except Exception as err:  # a bug, not the user's fault: log it, show a short message
        from .hosting import limits

        log.exception("background job %s failed", job.kind)
        job.status = "failed"
        if limits().hosted:  # no internals for strangers; the traceback is in the server log
            job.error = (
                "Unexpected error; the details are in the server log. Earlier results are kept."
            )
        else:
            job.error = f"Unexpected error ({type(err).__name__}): {err}"
    finally:
        if job.started is None:
            job.started = job.clock()
        job.finished = job.clock()
        log.info(
            "job %s %s: %.1f s running, %.1f s queued",
            job.kind,
            job.status,
            job.finished - job.started,
            job.started - job.created,
        )


def run_job(
    job: Job,
    fn: Callable[[Job], Any],
    *,
    queue: SlotQueue | None = None,
    synchronous: bool = False,
    user_errors: tuple[type[BaseException], ...] = (DataError,),
) -> Job:
    """Run ``fn(job)`` in a daemon thread (or right here when ``synchronous``) and return the job.

    ``fn`` reports through ``job.progress`` / ``job.events`` and checks ``job.should_stop``; its
    return value becomes ``job.result``. Errors of the types in ``user_errors`` (our own input
    errors, :class:`~gpatlas_core.io.DataError`) become ``job.error`` verbatim; any other error,
    a plain ``ValueError`` from numpy or torch included, is a bug: logged with its traceback and
    summarised in one line.
    """
    job.queue = queue
    if synchronous:
        _execute(job, fn, queue, user_errors)
    else:
        thread = threading.Thread(
            target=_execute,
            args=(job, fn, queue, user_errors),
            name=f"gpatlas-{job.kind}",
            daemon=True,
        )
        thread.start()
    return job
