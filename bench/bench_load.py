"""Load test: N concurrent real browser sessions against one ``streamlit run app.py``.

Each session is its own headless chromium process (Playwright) and does what a lab demo user
does: open the app, load the yeast sample, train with the quick preset (training jobs queue
across sessions: ``GPATLAS_MAX_TRAINING_JOBS``), then open the Importance and Latent space
pages. Sessions run in waves (e.g. 5 then 10, repeated); between waves every browser is closed
and the server is left to drop the sessions.

Reported: failed sessions (must be 0), p50 / p95 of each step's time, the queue places users
saw, the server's peak RSS during each wave and its RSS after the sessions closed (must level
off from wave to wave: a growing number means session state is not freed).

    .venv/bin/python bench/bench_load.py --waves 5 10 5 10 [--epochs 3,1] [--hosted]

After each wave it waits for the session TTL (``--ttl``) and one pass of the server's memory
housekeeping (``--housekeeping``, GPATLAS_HOUSEKEEPING_S) before reading the memory.

``--epochs E1,E2`` overrides the quick preset's epochs per tier (set in the Train page's
advanced settings like a user would) to keep the run bounded on a small machine; say so when
reporting. Needs Playwright (python) and chromium (``--chromium``, default /usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from browser import (  # noqa: E402
    CHROMIUM_ARGS,
    free_port,
    idle,
    nav,
    page_problem,
    set_epochs,
    streamlit_command,
    wait_http,
)

from pages._lib.housekeeping import rss_mib  # noqa: E402

STEPS = ("open_app", "load_yeast", "train_page", "training", "importance_page", "latent_page")


# ------------------------------------------------------------------------------ server
def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MiB (NaN once the process is gone)."""
    value = rss_mib(pid)
    return float("nan") if value is None else value


class MemorySampler(threading.Thread):
    """Samples the server's RSS every ``every`` seconds; ``peak()`` since the last ``reset()``."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self._peak = 0.0
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        while not self._halt.is_set():
            value = rss_mib(self.pid)
            if value is None:  # the server is gone
                return
            with self._lock:
                self._peak = max(self._peak, value)
            self._halt.wait(self.every)

    def reset(self) -> None:
        with self._lock:
            self._peak = 0.0

    def peak(self) -> float:
        with self._lock:
            return self._peak

    def stop(self) -> None:
        self._halt.set()


def start_server(port: int, env: dict, ttl: int, log: Path) -> subprocess.Popen:
    cmd = streamlit_command(
        port, "--server.address", "127.0.0.1", "--server.disconnectedSessionTTL", str(ttl)
    )
    out = open(log, "w")
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


# ----------------------------------------------------------------------------- session
def _check(page) -> None:
    problem = page_problem(page)
    if problem:
        raise AssertionError(problem)


def _go(page, name: str, ready: str, timeout_s: float) -> None:
    nav(page, name)
    page.get_by_text(ready).first.wait_for(timeout=timeout_s * 1000)
    idle(page, timeout_s)


def session(index: int, url: str, chromium: str, epochs: str | None, timeout_s: float) -> dict:
    """One user's visit; returns step times (s), queue places seen and an error if any."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    times: dict[str, float] = {}
    places: set[int] = set()
    error = None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(timeout_s * 1000)

            t = time.perf_counter()
            page.goto(url)
            page.get_by_text("G-P Atlas Studio").first.wait_for()
            idle(page, timeout_s)
            times["open_app"] = time.perf_counter() - t

            t = time.perf_counter()
            page.get_by_role("button", name="Load the yeast sample").click()
            page.get_by_text("1,008 individuals", exact=False).first.wait_for()
            idle(page, timeout_s)
            times["load_yeast"] = time.perf_counter() - t
            _check(page)

            t = time.perf_counter()
            _go(page, "Train", "Start training", timeout_s)
            times["train_page"] = time.perf_counter() - t
            if epochs:
                set_epochs(page, epochs, timeout_s)
            t = time.perf_counter()
            page.get_by_role("button", name="Start training").click()
            done = page.get_by_text("Results on the test individuals").first
            deadline = time.monotonic() + timeout_s * 20
            estimate = None  # (seconds estimated, when first seen), then the actual wait
            while time.monotonic() < deadline:
                if done.is_visible():
                    break
                queued = page.get_by_text("in the queue", exact=False)
                try:  # the message goes away when the job leaves the queue: a race, ignored
                    if queued.count():
                        text = queued.first.inner_text(timeout=1000)
                        digits = [int(w) for w in text.replace(".", " ").split() if w.isdigit()]
                        places.update(digits[:1])
                        seconds = expected_wait(text)
                        if estimate is None and seconds is not None:
                            estimate = (seconds, time.monotonic())
                    elif estimate is not None and "wait" not in times:
                        times["wait"] = time.monotonic() - estimate[1]  # left the queue
                        times["wait_estimate"] = estimate[0]
                except PlaywrightTimeout:
                    pass
                page.wait_for_timeout(1000)
            idle(page, timeout_s)
            done.wait_for(timeout=timeout_s * 1000)
            times["training"] = time.perf_counter() - t
            _check(page)

            t = time.perf_counter()
            _go(page, "Importance", "Compute importance", timeout_s)
            times["importance_page"] = time.perf_counter() - t
            _check(page)

            t = time.perf_counter()
            _go(page, "Latent space", "Compute t-SNE", timeout_s)
            times["latent_page"] = time.perf_counter() - t
            _check(page)
        except Exception as err:  # a failed session is a result, not a crash of the bench
            error = f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"
            traceback.print_exc()
            try:  # what the user saw, for the post-mortem
                shot = ROOT / "bench" / f"bench_load_failure_{os.getpid()}.png"
                page.screenshot(path=str(shot), full_page=True)
                error += f" (screenshot {shot.name})"
            except Exception:
                pass
        finally:
            browser.close()
    return {"index": index, "times": times, "places": sorted(places), "error": error}


def expected_wait(text: str) -> float | None:
    """Seconds in the queue message's "Expected wait: about 1 min 05 s" (None if absent)."""
    found = re.search(r"Expected wait: about ([0-9a-z ]+?)(?:,|$)", text)
    if not found:
        return None
    total, units = 0.0, {"h": 3600, "min": 60, "s": 1}
    words = found.group(1).split()
    for number, unit in zip(words[::2], words[1::2], strict=False):
        if number.isdigit() and unit in units:
            total += int(number) * units[unit]
    return total


def _worker(args: tuple, out: mp.Queue) -> None:
    out.put(session(*args))


# -------------------------------------------------------------------------------- waves
def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def settle(
    pid: int, ttl: int, housekeeping: float, *, quiet_s: float = 10.0, max_s: float = 180.0
) -> float:
    """Wait for the session TTL and one housekeeping pass, then until RSS stops moving; return
    RSS (MiB)."""
    time.sleep(ttl + housekeeping + 5)
    end = time.monotonic() + max_s
    last = rss_mb(pid)
    stable_since = time.monotonic()
    while time.monotonic() < end:
        time.sleep(2)
        now = rss_mb(pid)
        if abs(now - last) > 2:
            stable_since = time.monotonic()
        last = now
        if time.monotonic() - stable_since >= quiet_s:
            break
    return last


def run_wave(n: int, url: str, args, sampler: MemorySampler, pid: int) -> dict:
    sampler.reset()
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=((i, url, args.chromium, args.epochs, args.timeout), out))
        for i in range(n)
    ]
    t0 = time.perf_counter()
    for proc in procs:
        proc.start()
        time.sleep(args.stagger)
    results = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    wall = time.perf_counter() - t0
    peak = sampler.peak()
    after = settle(pid, args.ttl, args.housekeeping)
    return {"n": n, "results": results, "wall": wall, "peak": peak, "after": after}


def machine() -> str:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    load = os.getloadavg()
    return (
        f"{platform.node()}: {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, "
        f"load average at start {load[0]:.1f}, Python {platform.python_version()}"
    )


def training_jobs(log: Path) -> list[tuple[float, float]]:
    """(running s, queued s) of each finished training, from the app's log lines."""
    found = re.findall(r"job train done: ([0-9.]+) s running, ([0-9.]+) s queued", log.read_text())
    return [(float(a), float(b)) for a, b in found]


def report(waves: list[dict], args, idle_rss: float, jobs: list[tuple[float, float]]) -> str:
    lines = [
        f"Machine: {machine()}",
        f"Server: hosted={args.hosted}, GPATLAS_MAX_TRAINING_JOBS={args.max_jobs}, "
        f"disconnectedSessionTTL={args.ttl} s, GPATLAS_HOUSEKEEPING_S={args.housekeeping:g}; "
        "epochs: "
        + (f"{args.epochs} (override of the quick preset)" if args.epochs else "quick preset"),
        f"Server RSS after start and one warm-up session: {idle_rss:.0f} MiB",
        "",
        "| wave | sessions | failed | wall (s) | peak RSS (MiB) | RSS after close (MiB) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for i, w in enumerate(waves, 1):
        failed = sum(r["error"] is not None for r in w["results"])
        lines.append(
            f"| {i} | {w['n']} | {failed} | {w['wall']:.0f} | {w['peak']:.0f} | {w['after']:.0f} |"
        )
    lines += [
        "",
        "| wave | step | p50 (s) | p95 (s) | max (s) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for i, w in enumerate(waves, 1):
        for step in STEPS:
            vals = [r["times"][step] for r in w["results"] if step in r["times"]]
            if vals:
                lines.append(
                    f"| {i} | {step} | {percentile(vals, 0.5):.1f} | "
                    f"{percentile(vals, 0.95):.1f} | {max(vals):.1f} |"
                )
    if jobs:
        run_s, queued_s = [j[0] for j in jobs], [j[1] for j in jobs]
        lines += [
            "",
            f"Training jobs in the server log: {len(jobs)}; running time p50 "
            f"{percentile(run_s, 0.5):.1f} s, max {max(run_s):.1f} s; time queued p50 "
            f"{percentile(queued_s, 0.5):.1f} s, max {max(queued_s):.1f} s",
        ]
    pairs = [
        (r["times"]["wait_estimate"], r["times"]["wait"])
        for w in waves
        for r in w["results"]
        if "wait" in r["times"]
    ]
    if pairs:
        errors = [abs(est - act) for est, act in pairs]
        lines += [
            "",
            f"Expected wait shown to queued users vs the wait that followed ({len(pairs)} "
            f"sessions, from the first estimate seen): median |error| "
            f"{percentile(errors, 0.5):.0f} s, max {max(errors):.0f} s; median wait "
            f"{percentile([a for _, a in pairs], 0.5):.0f} s",
            "",
            "| estimated (s) | actual (s) |",
            "| --- | --- |",
            *(f"| {est:.0f} | {act:.0f} |" for est, act in sorted(pairs)),
        ]
    places = sorted({p for w in waves for r in w["results"] for p in r["places"]})
    lines += ["", f"Queue places shown to users: {places or 'none seen'}"]
    errors = [(i, r["index"], r["error"]) for i, w in enumerate(waves, 1) for r in w["results"]]
    errors = [e for e in errors if e[2]]
    for wave, idx, err in errors:
        lines.append(f"- wave {wave}, session {idx}: {err}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waves", type=int, nargs="+", default=[5, 10, 5, 10])
    parser.add_argument("--epochs", help="E1,E2: override the quick preset's epochs per tier")
    parser.add_argument("--hosted", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--max-jobs", type=int, default=1, help="GPATLAS_MAX_TRAINING_JOBS")
    parser.add_argument("--ttl", type=int, default=15, help="server.disconnectedSessionTTL (s)")
    parser.add_argument("--housekeeping", type=float, default=30, help="GPATLAS_HOUSEKEEPING_S (s)")
    parser.add_argument("--timeout", type=float, default=120, help="per step (training: x20)")
    parser.add_argument("--stagger", type=float, default=0.5, help="seconds between starts")
    parser.add_argument(
        "--chromium", default=os.environ.get("GPATLAS_CHROMIUM", "/usr/bin/chromium")
    )
    parser.add_argument("--out", type=Path, help="also write the report here")
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup below
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        PYTHONUNBUFFERED="1",
        GPATLAS_MAX_TRAINING_JOBS=str(args.max_jobs),
        GPATLAS_HOUSEKEEPING_S=str(args.housekeeping),
    )
    if args.hosted:
        env["GPATLAS_HOSTED"] = "1"
    log = ROOT / "bench" / "bench_load_server.log"
    server = start_server(port, env, args.ttl, log)
    sampler = MemorySampler(server.pid)
    sampler.start()
    waves: list[dict] = []
    try:
        wait_http(url, 90)
        print(f"server on {url} (pid {server.pid}); warm-up session…", flush=True)
        warm = session(-1, url, args.chromium, args.epochs, args.timeout)
        if warm["error"]:
            print(f"warm-up failed: {warm['error']}", flush=True)
        idle_rss = settle(server.pid, args.ttl, args.housekeeping)
        print(f"after warm-up: RSS {idle_rss:.0f} MiB", flush=True)
        for n in args.waves:
            print(f"wave of {n} sessions…", flush=True)
            w = run_wave(n, url, args, sampler, server.pid)
            waves.append(w)
            failed = sum(r["error"] is not None for r in w["results"])
            print(
                f"  {failed} failed, wall {w['wall']:.0f} s, peak {w['peak']:.0f} MiB, "
                f"after close {w['after']:.0f} MiB",
                flush=True,
            )
    finally:
        sampler.stop()
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    text = report(waves, args, idle_rss, training_jobs(log))
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0 if all(r["error"] is None for w in waves for r in w["results"]) else 1


if __name__ == "__main__":
    sys.exit(main())
