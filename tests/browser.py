"""Shared helpers for driving the app in headless Chromium (the end-to-end test and the
browser benchmarks in bench/): browser flags, a free port, server health, Streamlit idling,
sidebar navigation and the exception check."""

from __future__ import annotations

import os
import socket
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


def wait_http(url: str, timeout: float) -> None:
    """Wait for Streamlit's health endpoint to answer 200."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
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


def page_problem(page) -> str | None:
    """What is wrong on the page (an exception box or error text), or None."""
    if page.locator('[data-testid="stException"]').count():
        return "an exception box on the page"
    body = page.locator("body").inner_text()
    for bad in BAD_TEXT:
        if bad in body:
            return f"{bad!r} on the page:\n{body[:2000]}"
    return None
