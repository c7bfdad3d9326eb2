"""App benchmarks in a real headless browser (Debian chromium + Playwright).

1. Cold start: ``streamlit run app.py`` until the Home page is rendered in the browser,
   against a one-line Streamlit app started the same way (the floor Streamlit itself sets).
2. Page switch on the yeast sample with a trained model (Home -> Train with its results,
   Train -> Data with the QC figures), against a switch between two one-line pages.
3. The quick preset's training on yeast: clicked in the app until the results show, against
   ``gpatlas_core.train.train`` called directly on the same data in the same run.

Usage: ``.venv/bin/python bench/bench_app.py [--epochs A,B] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    nav,
    set_epochs,
    streamlit_command,
    wait_http,
)
from browser import idle as _idle  # noqa: E402

BARE_MAIN = """import streamlit as st
pg = st.navigation([st.Page("a.py", title="A", default=True), st.Page("b.py", title="B")])
pg.run()
"""


class Server:
    def __init__(self, script: Path, cwd: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            streamlit_command(self.port, script=script.name),
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_http(self.url, 60, poll=0.05)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def idle(page, timeout_s: float = 600) -> None:
    _idle(page, timeout_s, settle_ms=100)


def bench_bare(pw, repeats: int) -> tuple[list[float], list[float]]:
    starts, switches = [], []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "main.py").write_text(BARE_MAIN)
        (d / "a.py").write_text('import streamlit as st\nst.title("Page A")\n')
        (d / "b.py").write_text('import streamlit as st\nst.title("Page B")\n')
        for _ in range(repeats):
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            server = Server(d / "main.py", d)
            page = browser.new_page()
            page.goto(server.url)
            page.get_by_text("Page A").first.wait_for()
            starts.append(time.perf_counter() - server.t0)
            idle(page)
            for target in ("B", "A", "B"):
                t = time.perf_counter()
                nav(page, target)
                page.get_by_text(f"Page {target}").first.wait_for()
                idle(page)
                switches.append(time.perf_counter() - t)
            browser.close()
            server.close()
    return starts, switches


def bench_app(pw, repeats: int, epochs: str | None) -> dict:
    out: dict = {"start": [], "switch_train": [], "switch_data": []}
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    for i in range(repeats):
        server = Server(ROOT / "app.py", ROOT)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(600_000)
        page.goto(server.url)
        page.get_by_role("button", name="Load the yeast sample").wait_for()
        out["start"].append(time.perf_counter() - server.t0)
        idle(page)
        if i == repeats - 1:  # train once, in the last server
            page.get_by_role("button", name="Load the yeast sample").click()
            page.get_by_text("Dataset yeast", exact=False).first.wait_for()
            idle(page)
            nav(page, "Train")
            idle(page)
            if epochs:
                set_epochs(page, epochs, 600)
            t = time.perf_counter()
            page.get_by_role("button", name="Start training").click()
            page.get_by_text("Results on the test individuals").first.wait_for()
            out["train_app"] = time.perf_counter() - t
            idle(page)
            for _ in range(3):
                t = time.perf_counter()
                nav(page, "Data")
                page.get_by_text("Check the data").first.wait_for()
                page.locator(".js-plotly-plot").first.wait_for()
                idle(page)
                out["switch_data"].append(time.perf_counter() - t)
                t = time.perf_counter()
                nav(page, "Train")
                page.get_by_text("Results on the test individuals").first.wait_for()
                page.locator(".js-plotly-plot").first.wait_for()
                idle(page)
                out["switch_train"].append(time.perf_counter() - t)
        page.close()
        server.close()
    browser.close()
    return out


def bench_core_training(epochs: str | None) -> float:
    sys.path.insert(0, str(ROOT))
    from gpatlas_core import preset
    from gpatlas_core.io import load_yeast_sample
    from gpatlas_core.train import train

    ds = load_yeast_sample()
    over = {}
    if epochs:
        a, b = epochs.split(",")
        over = {"epochs_phenotype": int(a), "epochs_genotype": int(b)}
    t = time.perf_counter()
    train(ds, preset("quick", **over))
    return time.perf_counter() - t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", help="override the quick preset's epochs, 'A,B'")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print("chromium not found at /usr/bin/chromium")
        return 1
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        bare_start, bare_switch = bench_bare(pw, args.repeats)
        app = bench_app(pw, args.repeats, args.epochs)
    core_train = bench_core_training(args.epochs)
    med = statistics.median
    rows = [
        ("cold start to first page (s)", med(app["start"]), med(bare_start)),
        ("page switch -> Train with results (s)", med(app["switch_train"]), med(bare_switch)),
        ("page switch -> Data with QC figures (s)", med(app["switch_data"]), med(bare_switch)),
        ("quick preset training on yeast (s)", app["train_app"], core_train),
    ]
    print(
        f"machine: {os.cpu_count()} CPUs; repeats {args.repeats}; epochs {args.epochs or 'preset'}"
    )
    print(f"{'measure':44s} {'app':>8s} {'reference':>10s} {'ratio':>6s}")
    for name, value, ref in rows:
        print(f"{name:44s} {value:8.2f} {ref:10.2f} {value / ref:6.2f}")
    print("references: a one-line two-page Streamlit app; training: train() called directly")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
