"""Shared helpers for driving the app in headless Chromium (the end-to-end test and the
browser benchmarks in bench/): browser flags, a free port, server health, Streamlit idling,
sidebar navigation and the exception check."""

from __future__ import annotations

import os
import socket
import sys
import time
import urllib.request

CHROMIUM = os.environ.get("GPATLAS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BAD_TEXT = ("Traceback (most recent call last)", "Something went wrong", "Unexpected error")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def streamlit_command(port: int, *options: str, script: str = "app.py") -> list[str]:
    """``python -m streamlit run SCRIPT`` headless on ``port``, with more ``--option value``s."""
    return [
        sys.executable, "-m", "streamlit", "run", script,
        "--server.headless", "true",
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        *options,
    ]  # fmt: skip


def wait_http(url: str, timeout: float, *, poll: float = 0.3) -> None:
    """Wait for Streamlit's health endpoint to answer 200 (checked every ``poll`` s)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(poll)
    raise TimeoutError(f"streamlit did not answer on {url}")


def idle(page, timeout_s: float = 60, *, settle_ms: int = 300) -> None:
    """Wait until the app has finished its script run (no 'Running…' status)."""
    page.wait_for_timeout(settle_ms)
    page.locator('[data-testid="stStatusWidget"]').wait_for(
        state="detached", timeout=timeout_s * 1000
    )


def nav(page, name: str) -> None:
    """Click a page in the sidebar navigation."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=name).first.click()


def set_epochs(page, epochs: str, timeout_s: float = 60) -> None:
    """On the Train page: type ``"E1,E2"`` into the advanced settings' epochs per tier."""
    e1, e2 = epochs.split(",")
    page.get_by_text("Advanced settings").click()
    page.get_by_label("Epochs, tier 1 (phenotypes)").fill(e1)
    page.get_by_label("Epochs, tier 2 (genotypes)").fill(e2)
    page.keyboard.press("Tab")
    idle(page, timeout_s)


def page_problem(page) -> str | None:
    """What is wrong on the page (an exception box or error text), or None."""
    if page.locator('[data-testid="stException"]').count():
        return "an exception box on the page"
    body = page.locator("body").inner_text()
    for bad in BAD_TEXT:
        if bad in body:
            return f"{bad!r} on the page:\n{body[:2000]}"
    return None
