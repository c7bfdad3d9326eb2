"""Small shared widgets: guards, downloads, job progress, user-facing errors."""

from __future__ import annotations

import io
from collections.abc import Callable

import pandas as pd
import streamlit as st

from . import state
from .jobs import Job


def require_dataset():
    """The dataset, or a pointer to the Data page and stop the page."""
    ds = state.dataset()
    if ds is None:
        st.info("No dataset yet. Load the yeast sample, upload files or simulate on the Data page.")
        st.page_link("pages/data.py", label="Go to Data", icon=":material/database:")
        st.stop()
    return ds


def require_run():
    """The trained run for the current dataset, or a pointer to the Train page and stop."""
    ds = require_dataset()
    run = state.run()
    if run is None or not state.run_matches_dataset():
        msg = "No trained model for this dataset yet. Train one (or load a run bundle) first."
        st.info(msg)
        st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
        st.stop()
    return ds, run


def download_table(
    df: pd.DataFrame, filename: str, *, label: str = "Download CSV", key=None
) -> None:
    st.download_button(
        label,
        data=lambda: df.to_csv(index=False).encode(),
        file_name=filename,
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key=key or f"dl-{filename}",
    )


def download_figure(fig, filename: str, *, key=None) -> None:
    """Interactive HTML of the figure, built only when clicked (plotly.js embedded: works offline)."""

    def build() -> bytes:
        buf = io.StringIO()
        fig.write_html(buf, include_plotlyjs=True, full_html=True)
        return buf.getvalue().encode()

    st.download_button(
        "Download figure (HTML)",
        data=build,
        file_name=filename,
        mime="text/html",
        on_click="ignore",
        icon=":material/download:",
        key=key or f"dl-{filename}",
    )


def figure(fig, filename: str, *, key: str | None = None, select: tuple[str, ...] = ()):
    """Show a plotly figure with its HTML download below; the modebar's camera saves a PNG
    (twice the screen resolution; SVG when chosen in the sidebar) named after ``filename``. With ``select`` (plotly selection
    modes, e.g. ``("points", "box")``) a click or box selection reruns the page and the
    selection is returned (else None)."""
    stem = filename.rsplit(".", 1)[0]
    fmt = str(st.session_state.get("figure-format", "PNG")).lower()
    config = {"toImageButtonOptions": {"format": fmt, "filename": stem, "scale": 2}}
    if select:
        event = st.plotly_chart(
            fig, width="stretch", key=key, on_select="rerun", selection_mode=select, config=config
        )
        download_figure(fig, filename)
        return event
    st.plotly_chart(fig, width="stretch", key=key, config=config)
    download_figure(fig, filename)
    return None


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    m, s = divmod(seconds, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def job_status(job: Job, *, eta: Callable[[Job], float | None] | None = None) -> None:
    """Progress bar, what it is doing, time left, queue place and a Stop button."""
    if job.status == "queued":
        place = job.queue_position
        text = "Starting…"
        if place:
            text = f"Waiting for a free slot: you are number {place} in the queue."
            wait = job.queue.wait_estimate(job) if job.queue is not None else None
            if wait is not None:
                text += (
                    f" Expected wait: about {_duration(wait)}, judging by the last trainings "
                    "on this server."
                )
        st.info(text, icon=":material/hourglass_top:")
    elif job.status == "running":
        left = eta(job) if eta is not None else job.eta_seconds()
        text = job.message or job.label or "Working…"
        if left is not None:
            text += f" — about {_duration(left)} left"
        st.progress(job.fraction, text=text)
    if job.active and st.button(
        "Stop", key=f"stop-{job.kind}", icon=":material/stop_circle:", help="Stop at the next step"
    ):
        job.stop()
    if job.status == "failed":
        st.error(job.error or "The job failed.")
    elif job.status == "stopped":
        st.warning(f"Stopped after {_duration(job.elapsed)}.")


def duration(seconds: float) -> str:
    return _duration(seconds)


def poll_job(
    kind: str, *, body: Callable[[Job], None] | None = None, eta=None, every: float = 1.0
) -> None:
    """Show this session's ``kind`` job and refresh it every second while it runs.

    Only this block reruns while polling (``st.fragment``); when the job ends, the whole page
    reruns once so its results appear. A finished job shows nothing (its results do).
    """
    job = state.job(kind)
    if job is None or job.status == "done":
        return
    polling = job.active

    @st.fragment(run_every=every if polling else None)
    def panel() -> None:
        current = state.job(kind)
        job_status(current, eta=eta)
        if body is not None:
            body(current)
        if polling and not current.active:
            st.rerun()

    panel()


def remembered(key: str, default, *, lo=None, hi=None) -> str:
    """Give widget ``key`` the value the user last chose in this session (else ``default``).

    Streamlit forgets a widget's state when the user leaves its page; the value is kept under
    ``st.session_state["remembered"]`` and put back before the widget is drawn again. Create the
    widget with ``key=`` and no ``value=``. ``lo`` / ``hi`` clip a kept value into the widget's
    current range (limits can change between visits).
    """
    ss = st.session_state
    kept = ss.setdefault("remembered", {})
    if key not in ss:
        value = kept.get(key, default)
        if lo is not None and value < lo:
            value = lo
        if hi is not None and value > hi:
            value = hi
        ss[key] = value
    kept[key] = ss[key]
    return key
