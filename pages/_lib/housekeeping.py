"""Memory and CPU housekeeping for a long-running, multi-user server process.

Two measured problems of one ``streamlit run`` serving many sessions (``bench/bench_load.py``,
``bench/RESULTS.md``):

* **Garbage collection held the GIL.** Streamlit runs a full ``gc.collect(2)`` after every
  script run (``runner.postScriptGC``), fragments included. With the app's imports alone that is
  about 0.15 s; with 10 sessions polling their jobs it took most of the GIL and starved the
  training thread. ``.streamlit/config.toml`` turns it off, and :func:`freeze_imports` moves the
  ~300k objects alive after start-up (modules, classes, functions) out of the collector's way.
* **Freed memory stayed with the process.** glibc keeps freed heap pages in its arenas (one per
  thread that allocated), so the server's resident size after sessions ended stayed far above
  its idle size. :class:`Janitor` collects cycles and gives free pages back (``malloc_trim``)
  every minute; with it, memory after a wave of sessions returns to the same level.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import sys
import threading

log = logging.getLogger("gpatlas.studio")


def rss_mib(pid: int | str = "self") -> float | None:
    """Resident set size of process ``pid`` (default: this one) in MiB, from Linux's /proc;
    None where it cannot be read (another system, or the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _malloc_trim() -> bool:
    """Give free heap pages back to the system (glibc only); False where unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # musl and others have no malloc_trim
        return False
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return bool(trim(0))


def release_memory() -> None:
    """Collect reference cycles, then return free heap pages to the system."""
    gc.collect()
    _malloc_trim()


def freeze_imports() -> None:
    """Exclude every object alive now from future collections (call once, after imports).

    Later full collections then only walk what sessions create. Frozen objects are never
    collected, which is right for modules, classes and functions that live as long as the
    process.
    """
    gc.collect()
    gc.freeze()


class Janitor(threading.Thread):
    """Every ``every`` seconds: :func:`release_memory`, and log the resident size (debug)."""

    def __init__(self, every: float = 60.0) -> None:
        super().__init__(name="gpatlas-janitor", daemon=True)
        self.every = float(every)
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.every):
            self.tick()

    def tick(self) -> None:
        """One round of housekeeping; never raises (it must not take the server down)."""
        try:
            release_memory()
            log.debug("housekeeping: RSS %.0f MiB", rss_mib() or float("nan"))
        except Exception:
            log.exception("housekeeping failed")

    def stop(self) -> None:
        self._halt.set()


def configure_logging() -> None:
    """Send the app's ``gpatlas.*`` log lines to stderr (level ``GPATLAS_LOG_LEVEL``, INFO)."""
    logger = logging.getLogger("gpatlas")
    if logger.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    level = os.environ.get("GPATLAS_LOG_LEVEL", "INFO").strip().upper()
    logger.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    logger.propagate = False


def start(every: float | None = None) -> Janitor:
    """Set up logging, freeze start-up objects and start the janitor (once per process).

    ``GPATLAS_HOUSEKEEPING_S`` sets the period in seconds (default 60).
    """
    if every is None:
        raw = os.environ.get("GPATLAS_HOUSEKEEPING_S", "").strip()
        try:
            every = max(1.0, float(raw)) if raw else 60.0
        except ValueError:
            every = 60.0
    configure_logging()
    freeze_imports()
    janitor = Janitor(every)
    janitor.start()
    return janitor
