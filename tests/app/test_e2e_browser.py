"""End to end in a real headless browser: yeast sample -> train (default preset) -> importance -> VIDA ->
latent space -> experiments (allele swaps, a cross), with a screenshot of each page under
tests/artifacts/.

Skipped when chromium or Playwright is missing. ``GPATLAS_E2E_EPOCHS=a,b`` overrides the default
preset's epochs per tier (for a faster local check).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from apptest import ROOT
from browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    idle,
    nav,
    page_problem,
    set_epochs,
    streamlit_command,
    wait_http,
)

ARTIFACTS = ROOT / "tests" / "artifacts"

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def server():
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.skip("chromium not installed")
    pytest.importorskip("playwright.sync_api")
    port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    log = open(artifacts_log(), "w")  # closed in the finally below
    proc = subprocess.Popen(
        streamlit_command(port),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url, 60)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def artifacts_log() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / "e2e_server.log"


def no_exception(page) -> None:
    """Fail on a Streamlit exception box or our own 'Something went wrong' message."""
    problem = page_problem(page)
    assert problem is None, problem


def go(page, name: str) -> None:
    nav(page, name)
    page.wait_for_timeout(500)
    idle(page)


def shot(page, name: str) -> None:
    """Screenshot of the whole page: Streamlit scrolls inside its main block, so the viewport is
    made as tall as that block for the picture."""
    height = page.evaluate(
        "() => (document.querySelector('[data-testid=\"stMain\"]') || document.body).scrollHeight"
    )
    page.set_viewport_size({"width": 1400, "height": int(min(max(height, 1000), 9000))})
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_whole_workflow_in_a_browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        try:
            workflow(page, server)
        except Exception:
            shot(page, "failure")
            raise
        finally:
            browser.close()


def workflow(page, server: str) -> None:
    """The clicks of a first-time user, one page after the other."""
    page.goto(server)
    page.get_by_text("G-P Atlas Studio").first.wait_for()
    idle(page)
    page.get_by_role("button", name="Load the yeast sample").click()
    page.get_by_text("1,008 individuals", exact=False).first.wait_for(timeout=120_000)
    idle(page)
    no_exception(page)
    shot(page, "1_home")

    go(page, "Data")
    page.get_by_text("Check the data").first.wait_for()
    idle(page)
    no_exception(page)
    shot(page, "2_data")

    go(page, "Train")
    epochs = os.environ.get("GPATLAS_E2E_EPOCHS")
    if epochs:
        set_epochs(page, epochs)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Results on the test individuals").first.wait_for(timeout=600_000)
    idle(page)
    no_exception(page)
    shot(page, "3_train")

    go(page, "Importance")
    page.get_by_role("button", name="Compute importance").click()
    page.get_by_text("Top loci").first.wait_for(timeout=300_000)
    idle(page)
    no_exception(page)
    shot(page, "4_importance")
    page.get_by_text("Significance (-log10 p)").first.click()  # the genome-wide threshold view
    page.get_by_text("genome-wide threshold").first.wait_for(timeout=60_000)
    idle(page)
    no_exception(page)
    shot(page, "4b_significance")

    go(page, "VIDA")
    page.get_by_role("button", name="Run VIDA").click()
    page.get_by_text("Ranked alleles").first.wait_for(timeout=300_000)
    idle(page)
    no_exception(page)
    shot(page, "5_vida")

    go(page, "Latent space")
    page.get_by_role("button", name="Compute t-SNE").click()
    page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
    idle(page)
    no_exception(page)
    shot(page, "6_latent")

    go(page, "Experiments")  # top loci of the importance above, a cross of the first two
    page.get_by_role("button", name="Run the swaps").click()
    page.get_by_text("Mean change of every trait").first.wait_for(timeout=180_000)
    idle(page)
    no_exception(page)
    page.get_by_role("tab", name="Crosses").click()
    page.get_by_role("button", name="Cross", exact=True).click()
    page.get_by_text("Predicted progeny of").first.wait_for(timeout=180_000)
    idle(page)
    no_exception(page)
    shot(page, "7_experiments")
