"""G-P Atlas Studio: the Streamlit entry point. Declares the pages; each page calls the core."""

from __future__ import annotations

import logging
import os

import streamlit as st

from pages._lib import state
from pages._lib.hosting import limits

log = logging.getLogger("gpatlas.studio")

st.set_page_config(page_title="G-P Atlas Studio", page_icon=":material/genetics:", layout="wide")
if limits().hosted:
    st.set_option("client.showErrorDetails", "none")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/database:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/importance.py", title="Importance", icon=":material/bar_chart:"),
    st.Page("pages/vida.py", title="VIDA", icon=":material/hub:"),
    st.Page("pages/latent.py", title="Latent space", icon=":material/scatter_plot:"),
    st.Page("pages/experiments.py", title="Experiments", icon=":material/science:"),
]
page = st.navigation(PAGES)
state.server_housekeeping()  # once per process (see pages/_lib/housekeeping.py)
state.adopt_finished_jobs()  # results of background work that finished since the last run
DONE, TODO = ":material/check_circle:", ":material/radio_button_unchecked:"

with st.sidebar:
    flags = state.stage_flags()
    ds = state.dataset()
    st.caption("Your progress")
    st.markdown(
        "  \n".join(
            [
                f"{DONE if flags['dataset'] else TODO} Data"
                + (f": {ds.name}" if ds is not None else ""),
                f"{DONE if flags['model'] else TODO} Model trained",
                f"{DONE if flags['importance'] else TODO} Importance computed",
                f"{DONE if flags['vida'] else TODO} VIDA scores",
            ]
        )
    )
    st.radio(
        "Figure image format",
        ["PNG", "SVG"],
        horizontal=True,
        key="figure-format",
        help="What the camera button above each figure saves (SVG: vector, for papers).",
    )
    if limits().hosted:
        st.caption("Hosted mode: size and time limits apply.")

try:
    page.run()
except MemoryError:  # not a bug: the data or the model is too large for this machine
    from gpatlas_core.io import out_of_memory_message

    log.warning("page %s ran out of memory", page.title)
    st.error(out_of_memory_message(f"the {page.title} page") + ". Your data and results are kept.")
except Exception as err:  # a bug: log the traceback, show one line, keep the app usable
    if os.environ.get("GPATLAS_DEBUG") == "1" or st.session_state.get("debug"):
        raise
    log.exception("page %s failed", page.title)
    detail = "" if limits().hosted else f" ({type(err).__name__}: {err})"  # hosted: log only
    st.error(
        f"Something went wrong on this page{detail}. "
        "Your data and results are kept; try again or reload the page."
    )
