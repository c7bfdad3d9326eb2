"""Latent space: t-SNE of test individuals' latent codes from phenotypes and from genotypes."""

from __future__ import annotations

import numpy as np
import streamlit as st

from gpatlas_core import pl
from pages._lib import state, ui


def start_tsne(ds, run, perplexity: float, seed: int) -> None:
    from gpatlas_core.tl import embed_latents

    def work(job):
        job.progress(0, 2, "Embedding the phenotype encoder's codes…")

        def step(done, total):
            job.progress(done, total, "Embedding the genotype encoder's codes…")

        return embed_latents(run, ds, perplexity=perplexity, seed=seed, on_progress=step)

    state.start_job("tsne", work, settings={"perplexity": perplexity, "seed": seed}, label="t-SNE")


def top_markers(ds) -> list[str]:
    """Markers of the top loci by importance when computed, else all markers."""
    imp = state.latest("importance")
    if imp is not None:
        loci = imp.loci.sort_values("importance", ascending=False)
        return loci["marker"].astype(str).head(50).tolist()
    return ds.markers["marker"].astype(str).head(200).tolist()


def colour_values(ds, emb):
    by = st.radio("Colour by", ["a trait", "the genotype at a locus", "nothing"], horizontal=True)
    if by == "a trait":
        trait = st.selectbox("Trait", ds.traits)
        values = ds.phenotypes[emb.rows, list(ds.traits).index(trait)]
        return values, trait, False
    if by == "the genotype at a locus":
        src = "top loci by importance" if state.latest("importance") is not None else "markers"
        marker = st.selectbox(f"Locus ({src})", top_markers(ds))
        j = int(np.flatnonzero(ds.markers["marker"].astype(str).to_numpy() == marker)[0])
        codes = ds.genotype_codes[emb.rows, j]
        labels = np.array([ds.alleles[j][c] if c >= 0 else "missing" for c in codes])
        return labels, marker, True
    return None, "", False


st.title("Latent space")
ds, run = ui.require_run()
st.markdown(
    "Each point is a test individual. Left: where the phenotype encoder puts it from its trait "
    "values; right: where the genotype encoder puts it from its genotype alone. Similar layouts "
    "mean the genotype encoder has learned the same structure."
)
n_test = len(run.test_rows(ds))
c1, c2 = st.columns(2)
max_perp = max(2.0, min(50.0, n_test - 1.0))
perplexity = c1.slider(
    "Perplexity",
    2.0,
    max_perp,
    min(30.0, max_perp),
    step=1.0,
    help="Roughly the number of neighbours each point pays attention to",
)
seed = int(c2.number_input("Seed", 0, 2**31 - 1, 0, help="Same seed, same picture"))
emb = state.cached("tsne", perplexity=perplexity, seed=seed)
job = state.job("tsne")
if emb is None and st.button(
    "Compute t-SNE", type="primary", disabled=job is not None and job.active
):
    start_tsne(ds, run, perplexity, seed)
    emb = state.cached("tsne", perplexity=perplexity, seed=seed)
ui.poll_job("tsne")
if emb is not None:
    values, label, categorical = colour_values(ds, emb)
    ui.figure(
        pl.latent_tsne(emb, color=values, color_label=label, categorical=categorical),
        "latent_tsne.html",
    )
    ui.download_table(emb.to_frame(), "latent_tsne.csv", label="Download coordinates (CSV)")
