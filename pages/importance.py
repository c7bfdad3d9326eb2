"""Importance: ablation importance of every allele and locus, Manhattan plot against known QTL,
top loci, recovery of known QTL and, for simulations, of the causal alleles."""

from __future__ import annotations

import streamlit as st

from gpatlas_core import pl, tl
from gpatlas_core.io import DataError
from pages._lib import state, ui


def start(ds, run, settings: dict) -> None:
    def work(job):
        def progress(done, total):
            job.progress(done, total, f"Ablating: individual {done} of {total}")

        try:
            return tl.compute_importance(
                run,
                ds,
                per_trait=settings["per_trait"],
                n_bootstrap=settings["n_bootstrap"],
                rng=settings["seed"],
                on_progress=progress,
                should_stop=job.should_stop,
            )
        except tl.AblationCancelled:
            return None

    state.start_job("importance", work, settings=settings, label="Importance")


def settings_form(ds) -> dict:
    c1, c2, c3 = st.columns(3)
    per_trait = c1.checkbox(
        "Also per trait",
        value=ds.n_traits <= 60,
        help="The paper's prediction shift per trait: a Manhattan plot for each trait against "
        "its own known QTL. Slower.",
    )
    n_boot = c2.slider(
        "Bootstrap resamples (intervals)",
        0,
        1000,
        200,
        step=50,
        help="Resampling test individuals gives a 95% interval for each locus (0 = none).",
    )
    seed = int(c3.number_input("Seed", 0, 2**31 - 1, 0, help="Seed of the bootstrap"))
    return {"per_trait": per_trait, "n_bootstrap": n_boot, "seed": seed}


def manhattan_section(ds, res) -> tuple[str | None, float]:
    st.subheader("Manhattan plot")
    c1, c2, c3, c4 = st.columns([2, 2, 1, 1])
    choices = ["All traits", *res.traits]
    trait = c1.selectbox(
        "Trait",
        choices,
        help="All traits: importance for predicting every trait. One trait: that trait's "
        "own importance (needs 'Also per trait') with its own known QTL.",
    )
    trait = None if trait == "All traits" else trait
    chroms = tl.chromosome_order(res.loci["chromosome"])
    chrom = c2.selectbox("Zoom to chromosome", ["Whole genome", *chroms])
    chrom = None if chrom == "Whole genome" else chrom
    pct = c3.slider("Percentile line", 50.0, 99.9, 95.0, step=0.5, help="Loci above it are listed")
    show_qtl = c4.toggle("Known QTL", value=ds.known_qtl is not None, disabled=ds.known_qtl is None)
    fig = pl.manhattan(
        res,
        trait=trait,
        known_qtl=ds.known_qtl if show_qtl else None,
        percentile=pct,
        chromosome=chrom,
    )
    ui.figure(fig, f"manhattan_{trait or 'all'}_{chrom or 'genome'}.html")
    st.subheader("Top loci")
    table = tl.top_loci(
        res.loci, trait=trait, percentile=pct, known_qtl=ds.known_qtl, chromosome=chrom
    )
    st.caption(
        f"{len(table)} loci at or above the {pct:g}th percentile"
        + (f" on chromosome {chrom}" if chrom else "")
        + ". Importance: mean squared change in the prediction error when the allele is removed "
        "(locus = its most important allele); relative = share of the top locus."
    )
    st.dataframe(table, hide_index=True, height=320)
    ui.download_table(table, f"top_loci_{trait or 'all'}.csv")
    ui.download_table(res.alleles, "importance_alleles.csv", label="Download all alleles (CSV)")
    return trait, pct


def recovery_section(ds, res, trait: str | None) -> None:
    if ds.known_qtl is None and ds.truth is None:
        return
    st.subheader("Recovery of what is known")
    try:
        if ds.known_qtl is not None:
            c1, c2 = st.columns(2)
            with c1:
                rec = tl.qtl_recovery(res.loci, ds.known_qtl, trait=trait)
                ui.figure(pl.qtl_recovery_curve(rec), "qtl_recovery.html")
            with c2:
                ui.figure(
                    pl.interval_roc_curve(tl.interval_roc(res.loci, ds.known_qtl, trait=trait)),
                    "qtl_interval_roc.html",
                )
            if "variance_explained" in ds.known_qtl:
                corr = tl.variance_explained_correlation(res.loci, ds.known_qtl, trait=trait)
                ui.figure(pl.variance_explained_scatter(corr), "variance_explained.html")
        if ds.truth is not None:
            roc = tl.causal_allele_roc(res.alleles, ds.truth, trait=trait)
            c1, c2 = st.columns(2)
            with c1:
                ui.figure(pl.causal_roc(roc), "causal_allele_roc.html")
            with c2:
                ui.figure(pl.importance_vs_weight(roc), "importance_vs_weight.html")
            st.caption(
                f"Causal-allele ROC AUC {roc.auc:.3f}; {roc.n_detected_loci} of "
                f"{roc.n_causal_loci} causal loci above the {roc.fpr_level:.0%} false-positive cut."
            )
    except DataError as err:
        st.info(str(err))


st.title("Importance")
ds, run = ui.require_run()
st.markdown(
    "Each allele of each test individual is removed in turn (set to 0) and the change in the "
    "prediction error is recorded: alleles whose removal hurts most matter most."
)
settings = settings_form(ds)
job = state.job("importance")
busy = job is not None and job.active
if st.button("Compute importance", type="primary", disabled=busy, icon=":material/calculate:"):
    start(ds, run, settings)
ui.poll_job("importance")
res = state.cached("importance", **settings)
if res is None and state.latest("importance") is not None:
    res = state.latest("importance")
    st.caption("Showing the last computed importance (its settings differ from those above).")
if res is not None:
    st.caption(
        f"{res.params.get('n_individuals', '?')} test individuals, "
        f"{res.params.get('n_columns', '?'):,} allele columns, "
        f"{res.params.get('seconds', 0):.1f} s on {res.params.get('device', '?')}."
    )
    trait, _ = manhattan_section(ds, res)
    recovery_section(ds, res, trait)
else:
    st.info("Press **Compute importance** to score every allele (progress shows here).")
