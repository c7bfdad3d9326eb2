"""Experiments: allele swaps (what an allele does to every trait, in every background) and
crosses (the predicted progeny of two individuals, or parent pairs ranked by usefulness), with
G-P Atlas next to the additive ridge baseline."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from gpatlas_core import pl, tl
from gpatlas_core.io import DataError
from pages._lib import state, ui
from pages._lib.hosting import limits

SCALES = {"trait SDs": "sd", "trait units": "original"}
RATE_HELP = (
    "Recombination rate along every chromosome, in centimorgans per megabase (Haldane map, "
    f"no interference). {tl.DEFAULT_CM_PER_MB:g} is budding yeast's average (the sample); "
    "human ~1.2, mouse ~0.5, maize ~0.5, Arabidopsis ~4, Drosophila ~2.5."
)


# ------------------------------------------------------------------ shared
def within_limit(n_genotypes: int) -> bool:
    cap = limits().max_experiment_genotypes
    if cap is not None and n_genotypes > cap:
        st.warning(
            f"{n_genotypes:,} genotypes to predict; this server allows {cap:,} per experiment. "
            "Choose fewer swaps, individuals, offspring or candidates."
        )
        return False
    return True


def ridge_fit(job, ds, run, holder: dict, key: str):
    """The run's ridge baseline as coefficients, refitted once per run and session."""
    fit = holder.get(key)
    if fit is None:
        job.progress(0, 1, "Refitting the ridge baseline on the run's training individuals")
        fit = holder[key] = tl.ridge_for_run(run, ds)
    return fit


def start(stage: str, label: str, ds, run, settings: dict, compute) -> None:
    """Run ``compute(ridge, progress, should_stop)`` as this session's ``stage`` job."""
    holder, key = state.results(), state.cache_key("experiments-ridge")

    def work(job):
        ridge = ridge_fit(job, ds, run, holder, key)

        def progress(done, total):
            job.progress(done, total, f"{label}: {done} of {total}")

        try:
            return compute(ridge, progress, job.should_stop)
        except tl.ExperimentCancelled:
            return None

    state.start_job(stage, work, settings=settings, label=label)


def result_of(stage: str, settings: dict | None):
    res = state.cached(stage, **settings) if settings is not None else None
    if res is None and state.latest(stage) is not None:
        res = state.latest(stage)
        st.caption("Showing the last result (its settings differ from those above).")
    return res


def action(label: str, stage: str, *, ready: bool, icon: str) -> bool:
    job = state.job(stage)
    busy = job is not None and job.active
    return st.button(label, type="primary", disabled=not ready or busy, icon=icon)


# ------------------------------------------------------------------ allele swaps
def loci_form(ds) -> list[str]:
    imp = state.latest("importance")
    sources = ["Top loci by importance"] if imp is not None and imp.tier == "genotype" else []
    source = st.radio("Loci", [*sources, "Markers I name"], horizontal=True, key="swap-source")
    if source == "Markers I name":
        text = st.text_area(
            "Marker names",
            key="swap-markers",
            help="Separated by commas, spaces or new lines. Without an importance result, "
            "this is how loci are chosen.",
        )
        return [t for t in re.split(r"[\s,;]+", text) if t]
    c1, c2 = st.columns(2)
    trait = c1.selectbox("Importance for", ["All traits", *imp.traits], key="swap-imp-trait")
    n_top = c2.slider("Top loci", 1, 30, 5, key="swap-n-top")
    trait = None if trait == "All traits" else trait
    return list(tl.top_loci(imp.loci, trait=trait, percentile=0.0)["marker"].head(n_top))


def swap_form(ds, run) -> tuple[dict, pd.DataFrame, str] | None:
    markers = loci_form(ds)
    c1, c2, c3 = st.columns(3)
    which = c1.radio("Swap to", ["each allele", "the rarer allele"], key="swap-which")
    together = c2.checkbox(
        "All together (one multi-locus edit)",
        disabled=which == "each allele",
        key="swap-one-set",
        help="Edit all chosen loci at once (one allele per marker: the rarer one).",
    )
    who = c3.radio("In", ["test individuals", "all individuals"], key="swap-who")
    if not markers:
        st.info("Type or paste marker names to swap (or compute importance first).")
        return None
    alleles = "each" if which == "each allele" else "rarer"
    try:
        swaps = tl.swaps_for_markers(
            ds, markers, alleles=alleles, one_set=together and alleles == "rarer"
        )
    except DataError as err:
        st.error(str(err))
        return None
    individuals = "test" if who.startswith("test") else "all"
    n_ind = len(run.test_rows(ds)) if individuals == "test" else ds.n_samples
    n_sets = swaps["set"].nunique()
    st.caption(
        f"{len(swaps)} swap(s) in {n_sets} set(s) x {n_ind:,} individuals: "
        f"{n_sets * n_ind:,} edited genotypes to predict."
    )
    with st.expander("The swaps"):
        st.dataframe(swaps, hide_index=True)
    if not within_limit(n_sets * n_ind):
        return None
    settings = {"markers": markers, "alleles": alleles, "together": together, "who": individuals}
    return settings, swaps, individuals


def show_swaps(res) -> None:
    st.subheader("Mean change of every trait")
    scale = SCALES[st.radio("Changes in", list(SCALES), horizontal=True, key="swap-scale")]
    ui.figure(pl.swap_heatmap(res.summary, scale=scale), "swap_heatmap.html")
    st.caption(
        f"{res.params['n_individuals']:,} individuals ({res.params['individuals']}); each "
        "change is the edited genotype's prediction minus the individual's own, over the "
        "individuals the edit changes. Ridge is additive: its change is the same in every "
        "background, so where G-P Atlas differs from it, or varies between individuals, the "
        "network has learned an interaction."
    )
    st.dataframe(res.summary, hide_index=True, height=260)
    ui.download_table(res.summary, "allele_swaps.csv")
    st.subheader("One swap across individuals")
    label = st.selectbox("Swap", res.sets, key="swap-one")
    ui.figure(pl.swap_distribution(res, label, scale=scale), "swap_distribution.html")
    ui.download_table(
        res.per_individual(),
        "allele_swaps_per_individual.csv",
        label="Download every individual's change (CSV)",
    )


def swaps_section(ds, run) -> None:
    st.markdown(
        "Set chosen loci to an allele in every chosen individual and predict all traits: what "
        "does this allele do, in these backgrounds, to every trait?"
    )
    form = swap_form(ds, run)
    if action("Run the swaps", "swaps", ready=form is not None, icon=":material/swap_horiz:"):
        settings, swaps, individuals = form
        start(
            "swaps",
            "Allele swaps",
            ds,
            run,
            settings,
            lambda ridge, progress, stop: tl.allele_swaps(
                run,
                ds,
                swaps,
                individuals=individuals,
                ridge=ridge,
                on_progress=progress,
                should_stop=stop,
            ),
        )
    ui.poll_job("swaps")
    res = result_of("swaps", form[0] if form else None)
    if res is not None:
        show_swaps(res)


# ------------------------------------------------------------------ crosses
def meiosis_form(ds) -> tuple[dict, tl.CrossConfig] | None:
    c1, c2, c3, c4 = st.columns(4)
    cap = limits().max_experiment_genotypes or 100_000
    n = int(c1.number_input("Offspring per cross", 1, cap, min(200, cap), step=50, key="x-n"))
    rate = float(
        c2.number_input(
            "cM per Mb",
            0.0,
            100_000.0,
            tl.DEFAULT_CM_PER_MB,
            step=25.0,
            key="x-rate",
            help=RATE_HELP,
        )
    )
    seed = int(c3.number_input("Seed", 0, 2**31 - 1, 0, key="x-seed", help="Seed of the meioses"))
    try:
        ploidy = tl.ploidy_of(ds)
        gmap = tl.genetic_map(ds.markers, cm_per_mb=rate)
    except DataError as err:
        st.error(str(err))
        return None
    generation = "F2"
    if ploidy.ploidy == 2:
        generation = c4.radio(
            "Progeny", ["F2", "F1"], key="x-gen", help="F2: the A x B F1 selfed; F1: direct"
        )
    design = (
        "one meiotic product of the A x B diploid"
        if ploidy.ploidy == 1
        else (
            "F2: two recombinant gametes of the A x B F1"
            if generation == "F2"
            else "F1: one gamete of each parent"
        )
    )
    unlinked = gmap.unlinked.size
    note = f"; {unlinked:,} markers without a position are unlinked" if unlinked else ""
    st.caption(
        f"Data: {ploidy.describe()}. Each offspring is {design}. Map: {gmap.length_cm:,.0f} cM "
        f"over {len(gmap.names)} chromosome(s), about {gmap.length_cm / 100:.1f} crossovers "
        f"per meiosis{note}."
    )
    config = tl.CrossConfig(n_offspring=n, cm_per_mb=rate, generation=generation)
    return {"n": n, "rate": rate, "seed": seed, "generation": generation}, config


def show_cross(ds, res) -> None:
    st.subheader(f"Predicted progeny of {res.parents[0]} x {res.parents[1]}")
    p = res.params
    if p["unseen_genotypes"]:
        st.warning(
            f"{p['unseen_genotypes']:,} offspring genotype cells are states the training data "
            "never had; the models see no allele there."
        )
    scale = SCALES[st.radio("Values in", list(SCALES), horizontal=True, key="x-scale")]
    ui.figure(pl.progeny_distributions(res, scale=scale), "progeny.html")
    st.caption(
        f"{p['n_offspring']:,} offspring ({p['n_distinct_offspring']:,} distinct genotypes), "
        f"{p['crossovers_per_gamete']:.1f} crossovers per meiosis drawn, seed {p['seed']}, "
        f"{p['seconds']:.1f} s. Usefulness: the mean of the best 10% of the progeny."
    )
    st.dataframe(res.summary, hide_index=True, height=260)
    ui.download_table(res.summary, "cross.csv")
    trait = st.selectbox("One trait", res.traits, key="x-trait")
    ui.figure(pl.progeny_histogram(res, trait), "progeny_histogram.html")
    ui.download_table(
        res.progeny_frame(), "progeny.csv", label="Download every offspring's predictions (CSV)"
    )
    st.download_button(
        "Download the offspring genotypes (CSV)",
        data=lambda: res.genotypes(ds).to_csv(index=False).encode(),
        file_name="offspring_genotypes.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
    )


def cross_section(ds, run, meiosis) -> None:
    samples = [str(s) for s in ds.samples]
    c1, c2 = st.columns(2)
    a = c1.selectbox("Parent A", samples, index=0, key="x-a")
    b = c2.selectbox("Parent B", samples, index=min(1, len(samples) - 1), key="x-b")
    ready = meiosis is not None and within_limit(meiosis[1].n_offspring)
    settings = {**meiosis[0], "a": a, "b": b} if meiosis else None
    if action("Cross", "cross", ready=ready, icon=":material/call_split:"):
        start(
            "cross",
            "Cross",
            ds,
            run,
            settings,
            lambda ridge, progress, stop: tl.cross(
                run,
                ds,
                (a, b),
                config=meiosis[1],
                rng=meiosis[0]["seed"],
                ridge=ridge,
                on_progress=progress,
                should_stop=stop,
            ),
        )
    ui.poll_job("cross")
    res = result_of("cross", settings)
    if res is not None:
        show_cross(ds, res)


def rank_section(ds, run, meiosis) -> None:
    st.subheader("Rank parent pairs")
    st.caption(
        "Cross every pair among the K individuals predicted best and rank the pairs by the "
        "usefulness of their progeny (the mean of the best 10%)."
    )
    c1, c2 = st.columns(2)
    crit = c1.radio("Criterion", ["one trait", "an index of traits"], key="r-crit")
    k = c2.slider("Candidates K", 2, max(2, min(30, ds.n_samples)), min(6, ds.n_samples), key="r-k")
    trait, weights = None, None
    if crit == "one trait":
        trait = st.selectbox("Trait (higher is better)", ds.traits, key="r-trait")
    else:
        table = st.data_editor(
            pd.DataFrame({"trait": ds.traits, "weight": 0.0}),
            disabled=["trait"],
            hide_index=True,
            key="r-weights",
        )
        pairs = zip(table["trait"], table["weight"], strict=True)
        weights = {t: float(w) for t, w in pairs if pd.notna(w) and w != 0}
        st.caption("Weights on standardised traits; a negative weight favours low values.")
        if not weights:
            st.info("Give at least one trait a weight.")
    n_pairs = k * (k - 1) // 2
    ready = meiosis is not None and (trait is not None or bool(weights))
    if meiosis is not None:
        st.caption(f"{n_pairs} crosses x {meiosis[1].n_offspring:,} offspring.")
        ready = ready and within_limit(n_pairs * meiosis[1].n_offspring)
    settings = {**meiosis[0], "k": k, "trait": trait, "weights": weights} if meiosis else None
    if action("Rank pairs", "rank-parents", ready=ready, icon=":material/leaderboard:"):
        start(
            "rank-parents",
            "Ranking pairs",
            ds,
            run,
            settings,
            lambda ridge, progress, stop: tl.rank_parents(
                run,
                ds,
                k=k,
                trait=trait,
                weights=weights,
                config=meiosis[1],
                rng=meiosis[0]["seed"],
                ridge=ridge,
                on_progress=progress,
                should_stop=stop,
            ),
        )
    ui.poll_job("rank-parents")
    res = result_of("rank-parents", settings)
    if res is not None:
        ui.figure(pl.parent_ranking(res), "parent_ranking.html")
        st.dataframe(res.table, hide_index=True, height=260)
        ui.download_table(res.table, "parent_ranking.csv")


st.title("Experiments")
ds, run = ui.require_run()
st.markdown(
    "The trained model predicts every trait of any genotype, also genotypes nobody has grown. "
    "Edit alleles, or cross individuals, and compare G-P Atlas with the additive ridge "
    "baseline fitted on the same training individuals."
)
swaps_tab, cross_tab = st.tabs(["Allele swaps", "Crosses"])
with swaps_tab:
    swaps_section(ds, run)
with cross_tab:
    meiosis = meiosis_form(ds)
    cross_section(ds, run, meiosis)
    rank_section(ds, run, meiosis)
