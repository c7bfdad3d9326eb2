"""Shared helpers for the AppTest suites: open a page of the app with session state set,
and find a button by its label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from gpatlas_core.sim import SimulationConfig, simulate

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


TIMEOUT = 120


def tiny():
    cfg = SimulationConfig(
        n_individuals=60, n_loci=30, n_alleles=3, n_traits=4, causal_per_trait=4, p_interaction=0.3
    )
    ds = simulate(cfg, rng=np.random.default_rng(7))
    ds.name = "tiny"
    return ds


def app(page: str | None = None, **state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["sync_jobs"] = True  # background jobs run in the script thread
    at.session_state["debug"] = True  # page errors surface as at.exception
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    parts = (
        [m.value for m in at.markdown] + [t.value for t in at.title] + [h.value for h in at.header]
    )
    parts += [i.value for i in at.info] + [c.value for c in at.caption]
    return "\n".join(map(str, parts))
