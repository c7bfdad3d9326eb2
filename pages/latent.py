"""Latent space: one t-SNE map of the test individuals' latent codes from phenotypes and from
genotypes, an individual's two points linked; and a latent traversal (what each latent
dimension does to each trait)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from gpatlas_core import pl, tl
from pages._lib import state, ui


def start_tsne(ds, run, perplexity: float, seed: int) -> None:
    from gpatlas_core.tl import embed_latents

    def work(job):
        job.progress(0, 2, "Embedding the phenotype encoder's codes…")

        def step(done, total):
            job.progress(done, total, "Placing the genotype encoder's codes into the map…")

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


LINK_CAPTION = (
    "Circles: where the phenotype encoder Q puts each individual from its trait values (the "
    "t-SNE map is fitted to these). Crosses: the genotype encoder GQ's code for the same "
    "individual, from its genotype alone, placed into the same map (openTSNE's transform, "
    "against the phenotype codes only). A line joins an individual's two points. A short line "
    "means the genotype code lands among the trait codes of individuals whose traits resemble "
    "this one's, so the decoder predicts traits close to its own from its genotype alone; a "
    "long line means its genotype code resembles other individuals' trait codes (its traits "
    "are predicted as theirs). Distances in a t-SNE map are only "
    "meaningful locally: the table gives the distance in the latent space itself and how many "
    "other individuals' phenotype codes lie nearer the genotype code (0 = its own is nearest)."
)


def tsne_section(ds, run) -> None:
    n_test = len(run.test_rows(ds))
    max_perp = float(min(50.0, np.floor(tl.tsne_max_perplexity(n_test))))
    if max_perp < 2:
        st.info(f"A t-SNE map needs at least 7 test individuals; this run has {n_test}.")
        return
    c1, c2 = st.columns(2)
    perplexity = c1.slider(
        "Perplexity",
        1.0,
        max_perp,
        min(30.0, max_perp),
        step=1.0,
        help="Roughly the number of neighbours each point pays attention to "
        f"(at most a third of the {n_test} test individuals)",
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
        links = st.toggle("Link each individual's two points", value=True)
        ui.figure(
            pl.latent_tsne(
                emb, color=values, color_label=label, categorical=categorical, links=links
            ),
            "latent_tsne.html",
        )
        st.caption(LINK_CAPTION)
        frame = emb.to_frame()
        rank = emb.neighbour_rank
        st.markdown(
            f"For {int((rank == 0).sum())} of {len(rank)} test individuals the genotype code is "
            "nearest its own phenotype code; median latent distance "
            f"{float(np.median(emb.latent_distance)):.3g}."
        )
        st.dataframe(
            frame.sort_values("latent_distance", ascending=False),
            hide_index=True,
            height=250,
            column_config={
                c: st.column_config.NumberColumn(c, format="%.3g")
                for c in frame.columns
                if c not in ("sample", "neighbour_rank")
            },
        )
        ui.download_table(frame, "latent_tsne.csv", label="Download coordinates (CSV)")


TRAVERSAL_CAPTION = (
    "Starting from the mean phenotype code of the training individuals, one latent dimension "
    "at a time is moved from -span to +span standard deviations of that dimension's codes and "
    "decoded. Each cell: how much the trait changes along the way, in the trait's standard "
    "deviations (red up, blue down). A column with one strong cell is a dimension that "
    "controls one trait; a blank column is a dimension the decoder ignores."
)


def traversal_section(ds, run) -> None:
    st.header("What each latent dimension does")
    if not st.checkbox("Show the latent traversal", key="traversal-show"):
        return
    span = st.slider(
        "Span (standard deviations of each dimension's codes)", 0.5, 3.0, 2.0, step=0.5,
        key="traversal-span",
    )  # fmt: skip
    trav = tl.run_latent_traversal(run, ds, span=span)  # one decoder pass: milliseconds
    ui.figure(pl.latent_traversal_heatmap(trav), "latent_traversal.html")
    st.caption(TRAVERSAL_CAPTION)
    strongest = np.argsort(-np.abs(trav.response).max(axis=0))
    dim = st.selectbox(
        "Dimension", [int(d) for d in strongest], format_func=lambda d: f"z{d + 1}",
        help="Ordered by the strongest response of any trait", key="traversal-dim",
    )  # fmt: skip
    ui.figure(pl.latent_traversal_curves(trav, dim), f"latent_traversal_z{dim + 1}.html")
    ui.download_table(trav.to_frame(), "latent_traversal.csv", label="Download the heatmap (CSV)")


st.title("Latent space")
ds, run = ui.require_run()
tsne_section(ds, run)
traversal_section(ds, run)
