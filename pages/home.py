"""Home: what the tool does, the workflow, where the user is, and the one-click yeast sample."""

from __future__ import annotations

import streamlit as st

from gpatlas_core.io import DataError
from pages._lib import loaders, state

st.title("G-P Atlas Studio")
st.markdown(
    "G-P Atlas learns to predict many traits at once from an individual's genotype, using a "
    "two-step neural network: first it learns a compact summary of all traits together, then "
    "it learns to reach that summary from the genotype. "
    "It then scores every allele and locus by how much the predictions suffer without it, so "
    "you can see which parts of the genome drive which traits, next to known QTL. "
    "Finally, VIDA looks for alleles whose effects cluster in the same individuals, a hint of "
    "gene-gene interactions."
)

STEPS = [
    ("dataset", "Data", "pages/data.py", "Load your files, the yeast sample, or a simulation."),
    (
        "model",
        "Train",
        "pages/train.py",
        "Fit the two-tier model and compare it with ridge and LASSO.",
    ),
    ("importance", "Importance", "pages/importance.py", "Find the loci that matter."),
    ("vida", "VIDA", "pages/vida.py", "Screen candidate alleles for interactions."),
]
flags = state.stage_flags()
st.subheader("Workflow")
cols = st.columns(len(STEPS) + 1)
for col, (flag, title, path, text) in zip(cols, STEPS, strict=False):
    with col:
        icon = ":material/check_circle:" if flags[flag] else ":material/radio_button_unchecked:"
        st.markdown(f"**{icon} {title}**")
        st.caption(text)
        st.page_link(path, label=f"Open {title}")
with cols[-1]:
    st.markdown("**:material/scatter_plot: Latent space**")
    st.caption("See how individuals sit in the learned code.")
    st.page_link("pages/latent.py", label="Open Latent space")

ds = state.dataset()
st.subheader("Where you are")
if ds is None:
    st.info("No dataset loaded yet.")
else:
    s = ds.summary()
    st.success(
        f"Dataset **{s['name']}**: {s['samples']:,} individuals, {s['markers']:,} markers, "
        f"{s['traits']} traits" + (f", {s['known_qtl']} known QTL." if s["known_qtl"] else ".")
    )
    st.write("Model trained: " + ("yes" if flags["model"] else "not yet"))
    st.write("Importance computed: " + ("yes" if flags["importance"] else "not yet"))

if st.button(
    "Load the yeast sample",
    type="primary",
    icon=":material/science:",
    help="Bloom et al. 2013: 1,008 BY x RM segregants, 11,623 markers, 46 growth traits, "
    "591 known QTL. Shipped with the app, no download.",
):
    try:
        state.set_dataset(loaders.yeast_sample())
        st.rerun()
    except DataError as err:
        st.error(str(err))
