"""VIDA: score candidate alleles for gene-gene interactions from how their per-individual
importances cluster; each scored allele's partners (the pairs VIDA found); with simulated truth,
ROC, enrichment, score distributions and Q-Q."""

from __future__ import annotations

import re

import numpy as np
import streamlit as st

from gpatlas_core import pl, tl
from gpatlas_core.io import DataError
from pages._lib import state, ui
from pages._lib.importance_jobs import start_importance_job

METHOD_HELP = (
    "How to measure whether an allele's extreme individuals concentrate on few partners: "
    "concentration (share held by the top percentile), Gini, entropy, or adaptive."
)
MAX_CANDIDATES = 5000


def candidate_form(ds, imp) -> tuple[dict, np.ndarray | None]:
    """Widgets -> (settings for the cache key, candidate column indices)."""
    options = ["Top alleles by importance"]
    if ds.known_qtl is not None:
        options.append("Known-QTL peak markers")
    if ds.truth is not None:
        options.append("Causal alleles (simulation truth)")
    options.append("A list of markers")
    choice = st.radio("Candidate alleles", options, horizontal=True)
    cols = ds.allele_columns
    try:
        if choice == "Top alleles by importance":
            top = st.slider("Top percent of alleles", 0.1, 20.0, 1.0, step=0.1, format="%.1f%%")
            cand = tl.candidates_above_percentile(
                imp.alleles["importance"].to_numpy(), percentile=100 - top
            )
            key = {"candidates": "top", "top": top}
        elif choice == "Known-QTL peak markers":
            cand, key = tl.candidates_from_known_qtl(ds), {"candidates": "qtl"}
        elif choice.startswith("Causal"):
            cand, key = tl.candidates_from_truth(ds), {"candidates": "truth"}
        else:
            text = st.text_area(
                "Marker names", help="Separated by commas, spaces or new lines; all alleles of each"
            )
            names = [t for t in re.split(r"[\s,;]+", text) if t]
            if not names:
                st.info("Type or paste marker names to analyse.")
                return {}, None
            cand = tl.candidates_from_markers(cols, names)
            key = {"candidates": "list", "names": sorted(names)}
    except DataError as err:
        st.error(str(err))
        return {}, None
    st.caption(f"{len(cand):,} candidate allele columns.")
    if len(cand) < 4:
        st.warning("VIDA needs at least 4 candidate alleles.")
        return {}, None
    if len(cand) > MAX_CANDIDATES:
        st.warning(
            f"{len(cand):,} candidates is too many (cost grows with its square); "
            f"narrow the set to at most {MAX_CANDIDATES:,}."
        )
        return {}, None
    return key, cand


def parameter_form(imp) -> dict:
    c1, c2, c3 = st.columns(3)
    z = c1.slider(
        "z threshold",
        1.0,
        4.0,
        2.0,
        step=0.1,
        help="An individual is extreme for an allele when |z| of its importance is above this",
    )
    pct = c2.slider(
        "Clumpiness percentile",
        1.0,
        50.0,
        5.0,
        step=1.0,
        help="Top share used by the concentration measure",
    )
    methods = ["concentration", "gini", "entropy", "adaptive"]
    recommended = tl.VIDA_INPUT_METHOD if tl.is_vida_input(imp.params) else "concentration"
    method = c3.selectbox(
        "Clumpiness method",
        methods,
        index=methods.index(recommended),
        help=METHOD_HELP
        + " Default: adaptive on VIDA's recommended input, concentration (the paper's) otherwise.",
    )
    return {"z_threshold": z, "clumpiness_percentile": pct, "method": method}


def start(ds, imp, cand, params: dict, key: dict) -> None:
    def work(job):
        job.progress(0, 2, "Scoring candidate alleles")
        scores = tl.vida(imp.matrix, ds.allele_columns, candidates=cand, **params)
        out = {"scores": scores, "has_truth": ds.truth is not None}
        out["partners"] = tl.vida_partners(
            imp.matrix, ds.allele_columns, scores, markers=ds.markers
        )
        if ds.truth is not None:
            job.progress(1, 2, "Comparing with the simulation truth")
            try:  # the CLI's evaluation, with its default seed: the same numbers as `vida`
                out["truth_report"] = tl.vida_against_truth(
                    imp.matrix,
                    ds.allele_columns,
                    scores,
                    ds.truth,
                    rng=np.random.default_rng(tl.VIDA_EVAL_SEED),
                )
            except DataError as err:
                out["evaluation_error"] = str(err)
        return out

    state.start_job("vida", work, settings={**params, **key}, label="VIDA")


def start_grid(ds, imp, cand, key: dict) -> None:
    def work(job):
        job.progress(0, 1, "Running VIDA over the parameter grid")
        return tl.vida_grid(imp.matrix, ds.allele_columns, candidates=cand, truth=ds.truth)

    state.start_job("vida-grid", work, settings=key, label="VIDA grid")


NUMBERS = ["avg_extreme_ratio_diff", "avg_clumpiness_diff", "vida_score"]
PARTNER_HELP = (
    "VIDA scores an allele by comparing its extreme individuals' importance on its partners "
    "with that on the other candidates. Its partners are the tenth of the candidates most "
    "similar to it (rule 3 of the method): similarity = (|rho| + phi) / 2, with rho the "
    "correlation of the two alleles' importance z-scores over the individuals where both are "
    "non-zero, and phi how much more often the two are extreme (|z| above the threshold) in the "
    "same individuals than chance predicts (1 = chance). Mutual: each is among the other's "
    "partners. The other allele of the same marker (same locus) and alleles of linked markers "
    "are expected partners; pairs on different chromosomes are the candidate interactions."
)


def ranked_tables(scores) -> int:
    """The scored alleles (numbers only) and the skipped ones (with why); returns how many
    were scored."""
    ranked = scores.sort_values("vida_score", ascending=False, na_position="last")
    ok = np.isfinite(ranked["vida_score"].to_numpy(dtype=float))
    n_scored = int(ok.sum())
    st.caption(
        f"{n_scored} of {len(ranked)} candidates scored. Higher scores: the allele's extreme "
        "individuals are also extreme for its partners, in a clumped way, a sign of interaction."
    )
    scored = ranked[ok].drop(columns="status").astype({c: float for c in NUMBERS})
    fmt = {c: st.column_config.NumberColumn(c, format="%.3g") for c in NUMBERS}
    if n_scored:
        st.dataframe(
            scored, hide_index=True, height=min(36 * (n_scored + 1), 320), column_config=fmt
        )
    skipped = ranked[~ok][["marker", "allele", "n_extreme_samples", "status"]]
    if len(skipped):
        with st.expander(f"{len(skipped)} candidates not scored, and why"):
            st.dataframe(skipped, hide_index=True, height=min(36 * (len(skipped) + 1), 250))
    ui.download_table(ranked, "vida_scores.csv")
    return n_scored


def partners_section(result: dict, ds, imp) -> None:
    """Each scored allele's partners: a table (all, or one allele's) and a heatmap."""
    partners = result.get("partners")
    if partners is None:  # a result from before partners were kept
        partners = tl.vida_partners(
            imp.matrix, ds.allele_columns, result["scores"], markers=ds.markers
        )
        result["partners"] = partners
    if partners.empty:
        return
    st.subheader("Partners: the pairs VIDA found")
    st.caption(PARTNER_HELP)
    labels = list(dict.fromkeys(partners["marker"].astype(str) + " " + partners["allele"]))
    pick = st.selectbox(
        "Allele",
        ["all scored alleles", *labels],
        help="Scored alleles, best VIDA score first",
        key="vida-partner-allele",
    )
    shown = partners
    if pick != "all scored alleles":
        shown = partners[(partners["marker"].astype(str) + " " + partners["allele"]) == pick]
    cross = int((~shown["same_locus"]).sum())
    if "chromosome" in shown:
        cross = int((shown["chromosome"] != shown["partner_chromosome"]).sum())
    st.caption(
        f"{len(shown):,} pairs for {shown[['marker', 'allele']].drop_duplicates().shape[0]:,} "
        f"alleles; {cross:,} join alleles on different chromosomes."
    )
    numbers = ["vida_score", "similarity", "rho", "phi"]
    display = shown.astype({c: float for c in numbers})
    # a partner VIDA skipped has no score: say so rather than show an empty cell
    display["partner_vida_score"] = [
        f"{v:.3g}" if np.isfinite(v) else "not scored"
        for v in shown["partner_vida_score"].to_numpy(dtype=float)
    ]
    fmt = {c: st.column_config.NumberColumn(c, format="%.3g") for c in numbers}
    st.dataframe(display, hide_index=True, height=300, column_config=fmt)
    ui.download_table(shown, "vida_partners.csv", label="Download partners (CSV)")
    ui.figure(
        pl.vida_partner_heatmap(shown, top_alleles=25, partners_each=8),
        "vida_partners.html",
    )


def show(result: dict, ds, imp) -> None:
    st.subheader("Ranked alleles")
    n_scored = ranked_tables(result["scores"])
    n_cand = len(result["scores"])
    if n_scored < 3:
        st.warning(
            f"Only {n_scored} of {n_cand} candidates could be scored: VIDA needs at least "
            "3 individuals whose importance is extreme (|z| above the threshold) for an "
            "allele. Lower the z threshold, widen the candidate set, or train with more test "
            "individuals (a larger test fraction or a larger dataset).",
            icon=":material/warning:",
        )
    if n_scored:
        partners_section(result, ds, imp)
    if "evaluation_error" in result:
        st.info(result["evaluation_error"])
    report = result.get("truth_report")
    if report is None:
        if result.get("has_truth") is False:
            st.info(
                "This dataset has no known interacting alleles, so VIDA's scores cannot be "
                "checked here: the ROC curve, the enrichment of interacting alleles and the score "
                "distributions need simulated truth (simulate a population on the Data page). "
                "On real data the ranked alleles and their partners above are the result.",
                icon=":material/info:",
            )
        return
    ev = report.evaluation
    if ev.n_interacting < 2 or ev.n_non_interacting < 2:
        st.warning(
            f"Too few scored causal alleles to judge VIDA ({ev.n_interacting} interacting, "
            f"{ev.n_non_interacting} non-interacting): no ROC or enrichment is drawn. Lower "
            "the z threshold or use a larger simulation.",
            icon=":material/warning:",
        )
        return
    st.subheader("Against the simulation truth")
    st.caption(
        f"{ev.n_interacting} interacting and {ev.n_non_interacting} non-interacting "
        f"causal alleles scored. Mann-Whitney p = {ev.mann_whitney.get('p_value', float('nan')):.3g}."
    )
    c1, c2 = st.columns(2)
    with c1:
        ui.figure(pl.vida_roc(ev.roc, auc=ev.auc, youden=ev.youden), "vida_roc.html")
    with c2:
        ui.figure(pl.vida_enrichment(ev.enrichment), "vida_enrichment.html")
    c1, c2 = st.columns(2)
    with c1:
        ui.figure(pl.vida_score_distributions(ev.labelled), "vida_scores.html")
    with c2:
        if report.qq is not None:
            ui.figure(pl.vida_qq(report.qq, kurtosis=report.kurtosis), "vida_qq.html")


VIDA_IMPORTANCE = {**tl.VIDA_INPUT, "per_trait": False, "n_bootstrap": 0, "seed": 0}


def recommend_input(ds, run, imp) -> None:
    """When VIDA runs on another importance than its recommended input, offer to compute it."""
    if tl.is_vida_input(imp.params):
        st.caption(
            f"On the importance of all {imp.params.get('n_individuals', '?')} individuals, "
            "measured against the model's own prediction (VIDA's recommended input)."
        )
        return
    who = "test" if imp.individuals == "test" else "all"
    against = "observed phenotypes" if imp.target == "observed" else "the model's prediction"
    with st.container(border=True):
        st.markdown(
            f"This importance is of the {imp.params.get('n_individuals', '?')} {who} "
            f"individuals, against the {against}. VIDA separates interacting alleles better "
            "from the importance of **all individuals against the model's own prediction** "
            "with adaptive clumpiness: ROC AUC 0.68-0.73 on three paper-size simulations, "
            "against 0.50-0.61 for the paper's input (bench/RESULTS.md)."
        )
        job = state.job("importance")
        if st.button(
            "Compute VIDA's input",
            icon=":material/calculate:",
            disabled=job is not None and job.active,
            help="Exact ablation of every allele of every individual, against the model's own "
            "prediction (about five times the work of the test individuals alone).",
        ):
            start_importance_job(
                ds, run, "ablation", VIDA_IMPORTANCE, "importance", "Importance", "Ablating"
            )
            if not state.job("importance").active:  # finished already: show VIDA on it
                st.rerun()
        ui.poll_job("importance")


st.title("VIDA: interaction screen")
ds, run = ui.require_run()
imp = state.chosen_importance()
if imp is None or imp.tier != "genotype":
    st.info("VIDA needs the per-individual importance of the genotype tier. Compute it first.")
    st.page_link("pages/importance.py", label="Go to Importance", icon=":material/bar_chart:")
    st.stop()
if imp.method != "ablation":
    st.caption(
        f"On the per-individual {tl.METHOD_LABELS[imp.method]} attributions (the method picked on "
        "the Importance page)."
    )
if imp.method == "ablation":
    recommend_input(ds, run, imp)
key, cand = candidate_form(ds, imp)
if cand is not None and imp.method != "ablation":
    key = {**key, "importance": imp.method}  # results of each method are kept apart
if cand is not None:  # results on each importance input are kept apart
    key = {
        **key,
        "input": f"{imp.individuals}/{imp.target}",
    }
params = parameter_form(imp)
job = state.job("vida")
ready = cand is not None
if st.button(
    "Run VIDA",
    type="primary",
    disabled=not ready or (job is not None and job.active),
    icon=":material/hub:",
):
    start(ds, imp, cand, params, key)
ui.poll_job("vida")
result = state.cached("vida", **params, **key) if ready else None
if result is None and state.latest("vida") is not None:
    result = state.latest("vida")
    st.caption("Showing the last VIDA run (its settings differ from those above).")
if result is not None:
    show(result, ds, imp)
if ds.truth is not None and ready:
    with st.expander("Parameter search (grid over z threshold, percentile and method)"):
        st.caption(
            "Runs VIDA for every setting and reports the AUC against the simulation truth. "
            "The best setting is chosen on this data's truth, so its AUC is optimistic: on two "
            "paper-size simulations the best setting of one did not carry over to the other "
            "(AUC 0.50-0.59 there; the default setting did as well or better in 3 of 4 "
            "comparisons, bench/RESULTS.md)."
        )
        gjob = state.job("vida-grid")
        if st.button("Run the grid search", disabled=gjob is not None and gjob.active):
            start_grid(ds, imp, cand, key)
        ui.poll_job("vida-grid")
        grid = state.cached("vida-grid", **key)
        if grid is not None:
            best = tl.best_of_grid(grid)
            if best:
                st.success(
                    f"Best AUC {best['auc']:.3f}: z = {best['z_threshold']}, "
                    f"percentile {best['clumpiness_percentile']}, {best['method']}."
                )
            ui.figure(pl.vida_grid_heatmap(grid), "vida_grid.html")
            ui.download_table(grid, "vida_grid.csv")
