"""Shared helpers for the AppTest suites: open a page of the app with session state set,
and find a button by its label."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
"""The repository root."""
APP = str(ROOT / "app.py")
"""The app's entry point, for ``AppTest.from_file``."""


def page(path: str, **state) -> AppTest:
    """Run the app (background jobs synchronous unless told otherwise) and switch to ``path``."""
    at = AppTest.from_file(APP, default_timeout=60)
    state.setdefault("sync_jobs", True)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(path)
    at.run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}; have {[b.label for b in at.button]}"
    return matches[0]
