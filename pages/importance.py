"""Importance: ablation importance of every allele and locus, Manhattan plot against known QTL,
top loci, recovery of known QTL and, for simulations, of the causal alleles; Captum's gradient
attributions of the same loss (integrated gradients, DeepLIFT, GradientSHAP) side by side."""

from __future__ import annotations

import numpy as np
import streamlit as st

from gpatlas_core import pl, tl
from gpatlas_core.io import DataError
from pages._lib import state, ui
from pages._lib.importance_jobs import start_importance_job


def start(ds, run, settings: dict) -> None:
    start_importance_job(ds, run, "ablation", settings, "importance", "Importance", "Ablating")


def start_attribution(ds, run, method: str, settings: dict) -> None:
    label = tl.METHOD_LABELS[method]
    start_importance_job(ds, run, method, settings, state.importance_stage(method), label, label)


def method_selector() -> str:
    method = st.radio(
        "Method",
        list(tl.METHODS),
        format_func=tl.METHOD_LABELS.get,
        horizontal=True,
        key=ui.remembered("importance-method", "ablation"),
        help="Exact ablation removes each allele in turn. The others are Captum's gradient "
        "attributions of the same per-individual loss (zero baseline; GradientSHAP draws its "
        "baselines around 0 with the seed above): much faster on big models, approximate.",
    )
    state.set_importance_method(method)
    return method


def attribution(ds, run, method: str, settings: dict):
    """The gradient method's result for these settings: computed once, in the background, the
    first time it is picked (again on request), then cached like the ablation."""
    stage = state.importance_stage(method)
    keyed = {k: settings[k] for k in ("individuals", "target", "n_bootstrap", "seed")}
    res = state.cached(stage, **keyed)
    job = state.job(stage)
    tried = job is not None and job.key == state.cache_key(stage, **keyed)
    if res is None and not tried:
        start_attribution(ds, run, method, keyed)
    elif res is None and not job.active:
        label = tl.METHOD_LABELS[method]
        if st.button(f"Compute {label}", icon=":material/calculate:"):
            start_attribution(ds, run, method, keyed)
    ui.poll_job(stage)
    return state.cached(stage, **keyed)


def agreement_section(ds, ablation) -> None:
    """Every method computed for this run, side by side: seconds, Spearman correlation of the
    allele importance with exact ablation and, with simulation truth, the causal-allele AUC."""
    results = {}
    for method in tl.METHODS:
        res = state.latest(state.importance_stage(method))
        if res is not None and (ablation is None or res.matrix.shape == ablation.matrix.shape):
            results[method] = res
    if len(results) < 2 and "ablation" in results:
        return
    st.subheader("Methods side by side")
    try:
        table = tl.attribution_agreement(results, reference=ablation, truth=ds.truth)
    except DataError as err:
        st.info(str(err))
        return
    fmt = {c: st.column_config.NumberColumn(c, format="%.3f") for c in table.columns[1:]}
    st.dataframe(table, hide_index=True, column_config=fmt)
    ui.download_table(table, "importance_methods.csv", label="Download the comparison (CSV)")
    st.caption(
        "Spearman: rank correlation of each method's allele importance with exact ablation's"
        + ("" if ablation is not None else " (compute the ablation above to see it)")
        + (
            "; causal AUC: ROC AUC of allele importance, causal vs non-causal alleles "
            "(simulation truth)."
            if ds.truth is not None
            else "."
        )
    )


INDIVIDUAL_LABELS = {
    "test": "Test individuals (held out)",
    "all": "All individuals (for VIDA)",
}
TARGET_LABELS = {
    "observed": "Observed phenotypes (the paper)",
    "prediction": "The model's own prediction (for VIDA)",
}


def settings_form(ds) -> dict:
    c1, c2, c3, c4 = st.columns([3, 2, 3, 2])
    individuals = c1.radio(
        "Individuals",
        list(tl.INDIVIDUALS),
        format_func=INDIVIDUAL_LABELS.get,
        key=ui.remembered("importance-individuals", "test"),
        help="Whose alleles are removed. Test individuals: the ones the model never saw (the "
        "paper's choice). All: training, validation and test, about five times the work; VIDA "
        "scores each allele over individuals, so more of them give it more power (on three "
        "paper-size simulations its AUC rose by 0.02 to 0.09, bench/RESULTS.md).",
    )
    per_trait = c2.checkbox(
        "Also per trait",
        value=ds.n_traits <= 60,
        help="The paper's prediction shift per trait: a Manhattan plot for each trait against "
        "its own known QTL. Slower.",
    )
    n_boot = c3.slider(
        "Bootstrap resamples (intervals)",
        0,
        1000,
        200,
        step=50,
        help="Resampling the scored individuals gives a 95% interval for each locus (0 = none).",
    )
    seed = int(c4.number_input("Seed", 0, 2**31 - 1, 0, help="Seed of the bootstrap"))
    target = c1.radio(
        "Error measured against",
        list(tl.TARGETS),
        format_func=TARGET_LABELS.get,
        key=ui.remembered("importance-target", "observed"),
        help="Observed phenotypes: the change in each individual's prediction error (the "
        "paper's measure). The model's own prediction: how far the predicted traits move when "
        "the allele is removed, without the noise of the observed values. For VIDA, all "
        "individuals measured against the model's prediction, with adaptive clumpiness, "
        "scored best on three paper-size simulations (bench/RESULTS.md).",
    )
    return {
        "individuals": individuals,
        "target": target,
        "per_trait": per_trait,
        "n_bootstrap": n_boot,
        "seed": seed,
    }


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
    qtl_traits = None
    if show_qtl and trait is None:
        qtl_traits = (
            st.multiselect(
                "Known QTL of these traits (none chosen: the peaks of every trait's QTL)",
                sorted(set(ds.known_qtl["trait"].astype(str))),
                key="qtl-traits",
                help="All traits' 1.5-LOD intervals together cover most of the genome, so by "
                "default only their peaks are marked; pick traits to see their intervals.",
            )
            or None
        )
    sig = significance_section(res) if trait is None else None
    if sig is not None:
        shown = res.loci.assign(neg_log10_p=-np.log10(sig.loci["p"].to_numpy()))
        fig = pl.manhattan(
            shown,
            column="neg_log10_p",
            known_qtl=ds.known_qtl if show_qtl else None,
            qtl_traits=qtl_traits,
            percentile=None,
            chromosome=chrom,
            scale=False,
            threshold=-np.log10(sig.threshold_p),
            threshold_label=f"genome-wide {sig.alpha:g}",
            y_title="-log10 p",
            title="Significance of each locus: does removing it raise the test error?",
        )
    else:
        fig = pl.manhattan(
            res,
            trait=trait,
            known_qtl=ds.known_qtl if show_qtl else None,
            qtl_traits=qtl_traits,
            percentile=pct,
            chromosome=chrom,
        )
    event = ui.figure(
        fig, f"manhattan_{trait or 'all'}_{chrom or 'genome'}.html", key="manhattan",
        select=("points", "box"),
    )  # fmt: skip
    picked, region = _selection(event, res.loci)
    st.subheader("Top loci")
    table = tl.top_loci(
        res.loci, trait=trait, percentile=pct, known_qtl=ds.known_qtl, chromosome=chrom
    )
    if region is not None:
        rc, lo, hi = region
        inside = res.loci[(res.loci["chromosome"].astype(str) == rc)
                          & res.loci["position"].between(lo, hi)]  # fmt: skip
        table = tl.top_loci(inside, trait=trait, percentile=0, known_qtl=ds.known_qtl)
        st.caption(
            f"Selected region: chromosome {rc}, {lo:,}-{hi:,} bp ({len(table)} loci). "
            "Clear the selection (double-click the plot) to see the genome again."
        )
    else:
        st.caption(
            f"{len(table)} loci at or above the {pct:g}th percentile"
            + (f" on chromosome {chrom}" if chrom else "")
            + f". Importance: {_meaning(res)} (locus = its most important allele); "
            "relative = share of the top locus. "
            "Click a point or a row for its effect plot; box-select a region to zoom into it."
        )
    if sig is not None and len(table):
        cols = sig.loci.set_index(sig.loci["marker"].astype(str))[["p", "p_genome", "significant"]]
        table = table.assign(**{c: table["marker"].astype(str).map(cols[c]) for c in cols})
        ui.download_table(sig.loci, "importance_significance.csv",
                          label="Download significance of every locus (CSV)")  # fmt: skip
    rows = st.dataframe(
        table, hide_index=True, height=min(36 * (len(table) + 1), 320),
        column_config=_number_formats(table), on_select="rerun", selection_mode="single-row",
        key="top-loci",
    )  # fmt: skip
    chosen = rows.selection.rows if rows is not None else []
    if chosen:
        picked = str(table["marker"].iloc[chosen[0]])
    ui.download_table(table, f"top_loci_{trait or 'all'}.csv")
    ui.download_table(res.alleles, "importance_alleles.csv", label="Download all alleles (CSV)")
    lead = picked or (str(table["marker"].iloc[0]) if len(table) else None)
    if lead is not None:
        effect_section(ds, res, lead, trait, table if region is not None else None, region)
    return trait, pct


def _meaning(res) -> str:
    if res.method == "ablation":
        return "mean squared change in the prediction error when the allele is removed"
    return f"mean squared {tl.METHOD_LABELS[res.method]} attribution of the prediction error"


def significance_section(res):
    """The genome-wide significance view's switch and caption; its result (None = off)."""
    if res.tier != "genotype" or res.matrix.shape[0] < 3:
        return None
    if res.method != "ablation":  # the test is of the rise in error when a locus is removed
        st.caption("The significance view tests exact ablation: pick it as the method to see it.")
        return None
    c1, c2 = st.columns([2, 3])
    view = c1.radio(
        "Y axis",
        ["Importance", "Significance (-log10 p)"],
        horizontal=True,
        key="manhattan-y",
        help="Importance says how much the model uses a locus; significance tests whether "
        "removing it raises the prediction error of the test individuals.",
    )
    if view == "Importance":
        return None
    alpha = c2.select_slider(
        "Genome-wide error level", [0.01, 0.05, 0.1], value=0.05, key="sig-alpha"
    )
    key = (id(res), res.params.get("seed"), alpha)
    cache = st.session_state.setdefault("_significance", {})
    if key not in cache:
        cache.clear()
        with st.spinner("Bootstrapping the test individuals…"):
            cache[key] = tl.locus_significance(res, alpha=alpha, n_bootstrap=1000, rng=0)
    sig = cache[key]
    st.caption(
        sig.describe()
        + " Per locus: the rise in each test individual's prediction error when its alleles "
        "there are removed; one-sided test of a mean rise above 0 (pointwise p, normal). The "
        "dashed line is the genome-wide threshold: the 1 - alpha quantile of the largest "
        "bootstrap z over all loci, so the chance that any locus with no real effect crosses "
        "it is about alpha. Loci the model does not use are not tested (p = 1). "
        "For the all-traits loss; per-trait significance is not computed."
    )
    return sig


def _number_formats(table) -> dict:
    """Significant digits, not fixed decimals (importance values span many orders)."""
    fmt = {}
    for c in ("importance", "ci_low", "ci_high", "p", "p_genome"):
        if c in table:
            fmt[c] = st.column_config.NumberColumn(c, format="%.3e")
    if "relative" in table:
        fmt["relative"] = st.column_config.NumberColumn("relative", format="%.3f")
    if "position" in table:
        fmt["position"] = st.column_config.NumberColumn("position (bp)", format="%d")
    return fmt


def _selection(event, loci) -> tuple[str | None, tuple[str, int, int] | None]:
    """The marker clicked and the region box-selected on the Manhattan plot, if any."""
    if event is None:
        return None, None
    sel = event.get("selection", {}) if isinstance(event, dict) else event.selection
    points = sel.get("points", []) if isinstance(sel, dict) else getattr(sel, "points", [])
    markers = [p["customdata"][0] for p in points if p.get("customdata")]
    if not markers:
        return None, None
    boxes = sel.get("box", []) if isinstance(sel, dict) else getattr(sel, "box", [])
    if not boxes or len(markers) < 2:
        return str(markers[0]), None
    lead, chrom, lo, hi = tl.region_of(loci, markers)
    return lead, (chrom, lo, hi)


def effect_section(ds, res, marker: str, trait: str | None, region_table, region) -> None:
    st.subheader(f"Effect plot at {marker}")
    effect_trait = trait
    if effect_trait is None:
        col = f"{tl.importance_column(None)}"
        per = [c for c in res.loci.columns if c.startswith("trait:")]
        row = res.loci[res.loci["marker"].astype(str) == marker]
        default = ds.traits[0]
        if per and len(row):  # the trait this marker matters most for
            default = max(per, key=lambda c: float(row[c].iloc[0]))[len("trait:") :]
        effect_trait = st.selectbox(
            "Trait", list(ds.traits), index=list(ds.traits).index(default), key="effect-trait",
            help=f"Default: the trait {marker} is most important for ({col} per trait)",
        )  # fmt: skip
    run = state.run()
    try:
        effect = tl.marker_effect(run, ds, marker, effect_trait)
    except DataError as err:
        st.info(str(err))
        return
    ui.figure(pl.effect_plot(effect), f"effect_{marker}_{effect_trait}.html")
    st.dataframe(effect.by_class, hide_index=True)
    if region is not None and region_table is not None and len(region_table) > 1:
        rc, lo, hi = region
        loci = res.loci[(res.loci["chromosome"].astype(str) == rc)
                        & res.loci["position"].between(lo, hi)]  # fmt: skip
        linkage = tl.linkage_with(ds, marker, loci["marker"].astype(str).tolist())
        qtl = None
        if ds.known_qtl is not None:
            q = ds.known_qtl
            qtl = q[
                (q["chromosome"].astype(str) == rc) & (q["ci_right"] >= lo) & (q["ci_left"] <= hi)
            ]
            if trait is not None:
                qtl = qtl[qtl["trait"].astype(str) == trait]
        column = tl.importance_column(trait)
        ui.figure(pl.region_plot(loci, column, linkage, marker, known_qtl=qtl), "region.html")
        if qtl is not None and len(qtl):
            st.markdown("**Known QTL in the region**")
            st.dataframe(qtl.drop(columns=[c for c in ("genes",) if c in qtl]), hide_index=True)


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


def groups_section(ds, run) -> None:
    """For a grouped (BINN-style) encoder: importance of whole groups (all their columns
    ablated together) and which groups' units each trait is most sensitive to."""
    st.subheader("Groups (grouped encoder)")
    key = {"groups": run.config.model.groups}
    found = state.cached("groups", **key)
    if found is None:
        try:
            with st.spinner("Ablating each group and taking gradients"):
                found = (tl.group_importance(run, ds), tl.latent_sensitivity(run, ds))
        except DataError as err:
            st.error(str(err))
            return
        state.store("groups", found, **key)
    table, sens = found
    st.caption(
        f"{len(table):,} groups ({run.config.model.groups}), {run.gq[0].units} units each. "
        "Importance: all allele columns of a group set to 0 together, the same loss-based "
        "measure as for single alleles. Sensitivity: the size of the gradient of each "
        "predicted trait (model scale) with respect to the group's units, averaged over the "
        "test individuals."
    )
    c1, c2 = st.columns(2)
    with c1:
        ui.figure(pl.group_importance_bar(table), "group_importance.html", key="group-bar")
        ui.download_table(table, "importance_groups.csv")
    with c2:
        ui.figure(pl.sensitivity_heatmap(sens), "latent_sensitivity.html", key="group-sens")
        ui.download_table(sens.reset_index(), "latent_sensitivity.csv")


st.title("Importance")
ds, run = ui.require_run()
st.markdown(
    "Each allele of each individual is removed in turn (set to 0) and the change in the "
    "prediction error is recorded: alleles whose removal hurts most matter most."
)
settings = settings_form(ds)
method = method_selector()
job = state.job("importance")
busy = job is not None and job.active
if st.button("Compute importance", type="primary", disabled=busy, icon=":material/calculate:"):
    start(ds, run, settings)
ui.poll_job("importance")
res = state.cached("importance", **settings)
if res is None and state.latest("importance") is not None:
    res = state.latest("importance")
    st.caption("Showing the last computed importance (its settings differ from those above).")
shown = res if method == "ablation" else attribution(ds, run, method, settings)
if shown is not None:
    st.caption(
        f"{tl.METHOD_LABELS[shown.method]}: "
        f"{shown.params.get('n_individuals', '?')} "
        f"{'test ' if shown.individuals == 'test' else ''}individuals, "
        f"{shown.params.get('n_columns', '?'):,} allele columns, "
        f"{shown.params.get('seconds', 0):.1f} s on {shown.params.get('device', '?')}."
    )
    trait, _ = manhattan_section(ds, shown)
    agreement_section(ds, res)
    recovery_section(ds, shown, trait)
    if run.grouped:
        groups_section(ds, run)
elif method == "ablation":
    st.info("Press **Compute importance** to score every allele (progress shows here).")
