"""Train: choose a preset, train both tiers in the background with live loss curves, then
compare test accuracy with ridge and LASSO, look at predictions, and save or load the run bundle."""

from __future__ import annotations

import copy
import dataclasses
import os

import numpy as np
import pandas as pd
import streamlit as st

from gpatlas_core import pl, preset, tl
from gpatlas_core.config import PRESET_DESCRIPTIONS, PRESETS, config_from_json
from gpatlas_core.io import DataError
from pages._lib import bundle, state, ui
from pages._lib.hosting import limits

METRIC_HELP = {
    "r2": "R²: share of the trait's variance explained on test individuals (1 is perfect)",
    "pearson": "Pearson r between predicted and real values",
    "mse": "Mean squared error, in the trait's units squared",
    "mape": "Mean absolute percentage error",
}


FROM_FILE = "from-file"


def settings_file() -> None:
    """Settings from a JSON file (a run's config.json, tune's best_config.json): parsed as JSON
    only, every field checked; a bad file leaves the current settings as they were."""
    up = st.file_uploader(
        "Load settings from a file",
        type=["json"],
        help="A run's config.json or the grid search's best_config.json",
        key="settings-file",
    )
    if up is None or st.session_state.get("settings-file-id") == up.file_id:
        return
    st.session_state["settings-file-id"] = up.file_id
    try:
        cfg = config_from_json(up.getvalue().decode("utf-8", errors="replace"), name=up.name)
    except DataError as err:
        st.error(f"{err}. The settings are unchanged.")
        return
    use_settings(cfg, f"file {up.name}")


def use_settings(cfg, label: str) -> None:
    """Make ``cfg`` the settings the form starts from (shown as its own preset entry)."""
    st.session_state["loaded-settings"] = (label, cfg)
    st.session_state["preset-pending"] = FROM_FILE  # applied before the selectbox is drawn


def settings_form():
    """Widgets -> GPAtlasConfig."""
    loaded = st.session_state.get("loaded-settings")
    options = list(PRESETS) + ([FROM_FILE] if loaded else [])
    if st.session_state.pop("preset-pending", None):
        st.session_state["preset"] = FROM_FILE
    if st.session_state.get("preset") not in options:
        st.session_state.pop("preset", None)
    name = st.selectbox(
        "Preset",
        options,
        format_func=lambda n: (
            f"Loaded: {loaded[0]}" if n == FROM_FILE else PRESET_DESCRIPTIONS.get(n, n)
        ),
        help="Which is most accurate on which data is measured in bench/RESULTS.md",
        key="preset",
    )
    base = copy.deepcopy(loaded[1]) if name == FROM_FILE else preset(name)
    tr = base.train
    cap = limits().max_epochs or 5000
    with st.expander("Advanced settings"):
        c1, c2, c3 = st.columns(3)
        e1 = c1.number_input(
            "Epochs, tier 1 (phenotypes)", 1, cap, min(tr.epochs_phenotype, cap), key=f"e1-{name}"
        )
        e2 = c1.number_input(
            "Epochs, tier 2 (genotypes)", 1, cap, min(tr.epochs_genotype, cap), key=f"e2-{name}"
        )
        seed = c1.number_input(
            "Seed", 0, 2**31 - 1, tr.seed, help="Same seed, same split and same model"
        )
        std = c2.checkbox(
            "Standardise traits",
            tr.standardize,
            help="Train on z-scores; results stay in the traits' own units",
        )
        mask = c2.checkbox(
            "Leave missing trait values out of the loss",
            tr.mask_missing,
            help="Off = the reference's fill-with-0",
        )
        device = c2.selectbox(
            "Device", ["auto", "cpu", "cuda"], help="auto uses a GPU when there is one"
        )
        val = c3.slider(
            "Validation share (early stopping)",
            0.0,
            0.3,
            tr.validation_fraction,
            step=0.05,
            help="Part of the training individuals held out to decide when to stop",
        )
        patience = c3.number_input(
            "Stop after epochs without improvement (0 = off)",
            0,
            1000,
            tr.early_stopping_patience,
            disabled=val == 0,
        )
        variational = c3.checkbox(
            "Variational tier (prediction intervals)",
            tr.variational,
            key=f"variational-{name}",
            help="The phenotype code becomes a distribution (a VAE); the genotype encoder "
            "predicts a mean and a spread, giving 90% prediction intervals per trait",
        )
        beta = c3.number_input(
            "KL weight β",
            0.0,
            100.0,
            float(tr.beta),
            step=0.05,
            format="%.3g",
            disabled=not variational,
            key=f"beta-{name}",
            help="How strongly tier 1 pulls the codes toward a standard normal",
        )
    train = dataclasses.replace(
        tr,
        epochs_phenotype=int(e1),
        epochs_genotype=int(e2),
        seed=int(seed),
        standardize=bool(std),
        mask_missing=bool(mask),
        device=device,
        validation_fraction=float(val),
        early_stopping_patience=int(patience) if val > 0 else 0,
        variational=bool(variational),
        beta=float(beta),
    )
    return dataclasses.replace(base, train=train)


def groups_form(ds, cfg):
    """The grouped (BINN-style) genotype encoder: off, windows of the marker map, or an
    uploaded ``marker,group`` table. Returns ``(config, groups)``; groups None = dense."""
    from gpatlas_core.config import with_groups
    from gpatlas_core.io import read_groups, window_groups

    with st.expander("Grouped genotype encoder (knowledge-informed, BINN)"):
        on = st.toggle(
            "Group the markers",
            False,
            key="groups-on",
            help="GQ's first layer becomes block-sparse: each marker feeds only its group's "
            "units (genes, pathways, windows), the next layer mixes the groups. Trains from a "
            "random start (no LASSO warm start).",
        )
        if not on:
            return cfg, None
        c1, c2 = st.columns(2)
        how = c1.radio("Groups from", ["Windows of the marker map", "A marker,group file"])
        units = c2.number_input("Units per group", 1, 64, cfg.model.group_units, key="groups-k")
        try:
            if how.startswith("Windows"):
                size = c1.text_input("Window size", "50kb", help="e.g. 50kb, 1mb or 20000 (bp)")
                groups = window_groups(ds.markers, size)
            else:
                up = c1.file_uploader(
                    "marker,group CSV",
                    type=["csv", "tsv", "txt"],
                    help="Markers it does not list get a group each",
                    key="groups-file",
                )
                if up is None:
                    st.info("Upload a marker,group table to train with it.")
                    return cfg, None
                groups = read_groups(up, ds.markers["marker"])
        except DataError as err:
            st.error(str(err))
            return cfg, None
        cfg, note = with_groups(cfg, groups.spec, units=int(units))
        sizes = np.bincount(groups.group)
        st.caption(
            f"{groups.n_groups:,} groups ({sizes.min()}-{sizes.max()} markers, median "
            f"{int(np.median(sizes))}) x {int(units)} units." + (f" Note: {note}." if note else "")
        )
        return cfg, groups


def start_training(ds, cfg, *, resume=None, groups=None) -> bool:
    """Queue a training job; False (with a message) when it exceeds this server's epoch cap."""
    from gpatlas_core.train import train

    n1, n2 = cfg.train.epochs_phenotype, cfg.train.epochs_genotype
    cap = limits().max_epochs
    if cap is not None and max(n1, n2) > cap:  # e.g. continuing a loaded run's long schedule
        st.error(
            f"This server trains at most {cap:,} epochs per tier; this run asks for "
            f"{n1:,} + {n2:,}. Train a new run with fewer epochs, or continue it on your own "
            "machine with the command line."
        )
        return False

    if resume is not None:
        # train a copy: the session's run stays intact for the other pages (and the bundle
        # download) while the job runs, and is replaced only by the job's result
        resume = copy.deepcopy(resume)

    def work(job):
        def on_epoch(info):
            job.events.append(info)
            tier = 1 if info.tier == "phenotype" else 2
            msg = f"Tier {tier} of 2 ({info.tier}s): epoch {info.epoch} of {info.n_epochs}"
            warm = cfg.train.genotype_init == "lasso"
            if info.tier == "phenotype" and info.epoch == info.n_epochs and warm:
                msg = "Fitting the per-trait LASSO (5-fold CV) that starts tier 2"
                if cfg.train.lasso_multitrait > 0:
                    msg = (
                        "Fitting the per-trait and the multi-trait LASSO (5-fold CV) that start "
                        "tier 2"
                    )
            if info.tier == "genotype" and info.epoch == info.n_epochs:
                msg = "Evaluating on the test individuals and fitting the ridge and LASSO baselines"
            # the bar shows the current tier: epochs of the two tiers cost very differently
            job.progress(info.epoch, info.n_epochs, msg)

        if resume is not None:
            return train(ds, on_epoch=on_epoch, should_stop=job.should_stop, resume=resume)
        return train(ds, cfg, on_epoch=on_epoch, should_stop=job.should_stop, groups=groups)

    state.start_job(
        "train", work, settings=cfg.to_dict(), queue=state.training_queue(), label="Training"
    )
    return True


def _losses(events) -> pd.DataFrame:
    cols = ["tier", "epoch", "train_loss", "test_loss", "validation_loss", "seconds"]
    return pd.DataFrame([{c: getattr(e, c, None) for c in cols} for e in events], columns=cols)


def _eta(job) -> float | None:
    """Time left in the current tier at its own pace (tier-2 epochs are far slower)."""
    if not job.events:
        return None
    last = job.events[-1]
    same = [e.seconds for e in job.events if e.tier == last.tier]
    return float(np.mean(same)) * (last.n_epochs - last.epoch) if same else None


def live_curves(job) -> None:
    if job.status == "running" and job.events and job.events[-1].tier == "phenotype":
        st.caption(
            "The bar and the time left are for tier 1; then the LASSO warm start is fitted and "
            "tier 2 (genotypes) follows, slower per epoch."
        )
    events = list(job.events)
    if not events:
        return
    # Redraw only when an epoch was added or the view changed: tier-2 epochs take many polls.
    options = curve_options()
    stamp = (len(events), tuple(sorted(options.items())))
    if job.meta.get("figure_stamp") != stamp:
        n = {e.tier: e.n_epochs for e in events}
        job.meta["figure"] = pl.loss_curves(_losses(events), n_epochs=n, **options)
        job.meta["figure_stamp"] = stamp
    st.plotly_chart(job.meta["figure"], width="stretch", key="live-loss")


def results(ds, run) -> None:
    st.header("Results on the test individuals")
    n_test = len(run.test_rows(ds))
    st.caption(
        f"Run status: {run.status}. {n_test} test individuals, never seen in training. Preset: {run.config.preset}, seed {run.config.train.seed}."
    )
    if run.metrics.get("genotype_to_phenotype"):
        st.info(tl.verdict(run.metrics, list(run.traits)), icon=":material/balance:")
    note = tl.warm_start_note(run.info)
    if note:
        st.caption(note)
    med = pd.DataFrame(tl.metrics_table(run.metrics))
    positive = bool(np.nanmin(ds.phenotypes) > 0) if ds.phenotypes.size else False
    if not positive and "mape" in med:
        med = med.drop(columns="mape")
    if len(med):
        med["model"] = med["model"].map(lambda m: tl.MODEL_LABELS.get(m, m))
        st.markdown("**Medians across traits** (and across individuals)")
        st.dataframe(
            med,
            hide_index=True,
            column_config={
                "r2": st.column_config.NumberColumn("R²", help=METRIC_HELP["r2"], format="%.3f"),
                "pearson": st.column_config.NumberColumn(
                    "Pearson r", help=METRIC_HELP["pearson"], format="%.3f"
                ),
                "mse": st.column_config.NumberColumn("MSE", help=METRIC_HELP["mse"], format="%.3g"),
                "r2_individual": st.column_config.NumberColumn(
                    "R² (individuals)", help="Median across test individuals", format="%.3f"
                ),
                "pearson_individual": st.column_config.NumberColumn(
                    "Pearson r (individuals)", help="Median across test individuals", format="%.3f"
                ),
                "mape": st.column_config.NumberColumn(
                    "MAPE (%)", help=METRIC_HELP["mape"], format="%.1f"
                ),
            },
        )
    table = tl.comparison_frame(run.metrics, list(run.traits))
    st.markdown(
        "**Per trait**: test R² of G-P Atlas next to ridge and LASSO fitted on the same "
        "training individuals, and the differences (positive: G-P Atlas is better)"
    )
    fmt = {c: st.column_config.NumberColumn(c, format="%.3f") for c in table.columns[1:]}
    st.dataframe(table, hide_index=True, height=min(36 * (len(table) + 1), 420), column_config=fmt)
    ui.download_table(table, "per_trait_metrics.csv")
    interval_summary(run)
    c1, c2 = st.columns(2)
    with c1:
        trait = st.selectbox("Trait", run.traits, help="Predicted from the genotype alone")
        obs, pred, base, samples = run.test_predictions(ds, trait)
        fig = pl.predicted_vs_real(
            obs, pred, trait=trait, samples=samples, baseline=base,
            interval=run.test_intervals(trait),
        )  # fmt: skip
        ui.figure(fig, f"predicted_vs_real_{trait}.html")
    with c2:
        measures = ["mse", "mape", "r2", "pearson"] if positive else ["mse", "r2", "pearson"]
        if not positive:
            st.caption(
                "MAPE is left out: some trait values are 0 or negative (e.g. centred traits), "
                "where a percentage error means nothing."
            )
        metric = st.selectbox(
            "Error measure",
            measures,
            format_func=lambda m: METRIC_HELP[m].split(":")[0],
        )
        ui.figure(pl.error_densities(run.metrics, metric=metric), f"error_density_{metric}.html")
    st.markdown("**Loss curves**")
    history = dict(state.run_history())
    overlay = st.multiselect(
        "Overlay earlier runs of this session (their test loss, dashed)",
        list(history),
        key="overlay-runs",
    ) if history else []  # fmt: skip
    fig = pl.loss_curves(
        run.losses, earlier={k: history[k] for k in overlay}, **curve_options(key="curves")
    )
    ui.figure(fig, "loss_curves.html")


def interval_summary(run) -> None:
    """A variational run's 90% prediction intervals: coverage and width, per trait."""
    g2p = run.metrics.get("genotype_to_phenotype", {})
    cover = g2p.get("interval_coverage")
    if not cover:
        return
    level = g2p.get("interval_level", 0.9)
    width = g2p["interval_width"]
    st.markdown(f"**{level:.0%} prediction intervals** (variational tier)")
    c1, c2 = st.columns(2)
    med = cover.get("median")
    c1.metric(
        "Coverage on the test individuals",
        "-" if med is None else f"{med:.1%}",
        help=f"Median over traits of the share of observed test values inside their "
        f"{level:.0%} interval; near {level:.0%} means the intervals are honest",
    )
    mw = width.get("median")
    c2.metric(
        "Median interval width", "-" if mw is None else f"{mw:.3g}",
        help="In each trait's own units (median over traits)",
    )  # fmt: skip
    frame = pd.DataFrame(
        {
            "trait": list(run.traits),
            "coverage": [cover["per_trait"].get(t) for t in run.traits],
            "width": [width["per_trait"].get(t) for t in run.traits],
        }
    )
    with st.expander("Coverage and width per trait"):
        st.dataframe(
            frame, hide_index=True,
            column_config={
                "coverage": st.column_config.NumberColumn("Coverage", format="%.3f"),
                "width": st.column_config.NumberColumn("Mean width", format="%.3g"),
            },
        )  # fmt: skip
        ui.download_table(frame, "interval_coverage.csv")


def curve_options(key: str = "live") -> dict:
    """The loss-axis scale and the smoothing the user chose (shared by live and final curves)."""
    c1, c2 = st.columns(2)
    scale = c1.radio("Loss axis", ["log", "linear"], horizontal=True, key=f"{key}-scale")
    weight = c2.slider(
        "Smoothing", 0.0, 0.95, 0.0, step=0.05, key=f"{key}-smoothing",
        help="TensorBoard-style exponential moving average (0 = raw values)",
    )  # fmt: skip
    return {"log_y": scale == "log", "smoothing": float(weight)}


def start_cv(ds, cfg, folds: int, seeds: int) -> None:
    """Queue a cross-validation (it waits for a training slot like a training)."""

    def work(job):
        n = folds * seeds
        job.progress(0, n, f"Training fold 1 of {folds}")

        def on_fold(part, done, total):
            job.progress(done, total, f"{done} of {total} fold trainings done")

        try:
            return tl.cross_validate(
                ds,
                cfg,
                folds=folds,
                seeds=seeds,
                rng=np.random.default_rng(cfg.train.seed),
                on_fold=on_fold,
                should_stop=job.should_stop,
            )
        except tl.CVStopped:
            return None

    settings = {"config": cfg.to_dict(), "folds": folds, "seeds": seeds}
    state.start_job(
        "cv", work, settings=settings, queue=state.training_queue(), label="Cross-validation"
    )


def cv_section(ds, cfg) -> None:
    st.header("Cross-validation")
    st.caption(
        "Each of k folds is held out once as the test set; G-P Atlas (the settings above), "
        "ridge and LASSO are trained on the same other individuals. Means ± standard errors "
        "over folds tell a real difference from the scatter of one split."
    )
    cap = limits().max_cv_trainings
    c1, c2, c3 = st.columns([1, 1, 2])
    folds = int(c1.number_input("Folds", 2, 10, 5, key="cv-folds"))
    seeds = int(c2.number_input("Trainings per fold", 1, 5, 1, key="cv-seeds",
                                help="Repeats with seeds seed, seed+1, ...; averaged per fold"))  # fmt: skip
    too_many = cap is not None and folds * seeds > cap
    if too_many:
        st.warning(f"This server runs at most {cap} trainings per cross-validation.")
    job = state.job("cv")
    busy = job is not None and job.active
    c3.markdown("&nbsp;")
    if c3.button("Cross-validate", disabled=busy or too_many, icon=":material/table_view:"):
        start_cv(ds, cfg, folds, seeds)
        if not state.synchronous_jobs():
            st.rerun()
    ui.poll_job("cv")
    result = state.latest("cv")
    if result is None:
        return
    same = result.config == cfg and result.n_folds == folds
    st.info("  \n".join(result.headline()), icon=":material/balance:")
    if not same:
        st.caption("(for other settings than the ones above: cross-validate again to compare)")
    table = result.comparison()
    fmt = {c: st.column_config.NumberColumn(c, format="%.3f") for c in table.columns[1:]}
    st.dataframe(table, hide_index=True, height=300, column_config=fmt)
    c1, c2, c3 = st.columns(3)
    with c1:
        ui.download_table(result.summary, "cv_summary.csv")
    with c2:
        ui.download_table(result.metrics.drop(columns="seconds"), "cv_metrics.csv")
    with c3:
        ui.download_table(result.folds, "folds.csv")
    ui.figure(pl.cv_r2(result.summary), "cv_r2.html")


GRID_EXAMPLE = '{"latent": [32, 64], "sd_noise": [0.1, 0.3]}'


def start_tune(ds, cfg, grid: dict, folds: int, cpus: int) -> None:
    def work(job):
        def on_trial(row, done, total):
            job.events.append(row)
            job.progress(done, total, f"{done} of {total} trials finished")

        job.progress(0, 1, "Starting Ray and the trials")
        return tl.tune_grid(
            ds, cfg, grid, folds=folds, fold_seed=cfg.train.seed, cpus_per_trial=cpus,
            on_trial=on_trial,
        )  # fmt: skip

    settings = {"config": cfg.to_dict(), "grid": grid, "folds": folds}
    state.start_job(
        "tune", work, settings=settings, queue=state.training_queue(), label="Grid search"
    )


def live_trials(job) -> None:
    if job.events:
        st.dataframe(pd.DataFrame(job.events), hide_index=True)


def tune_section(ds, cfg) -> None:
    if not limits().grid_search:
        return
    with st.expander("Grid search (Ray Tune)"):
        st.caption(
            "Every combination of the values below is one trial, scored by the mean over folds "
            "of the median test R² over traits (the same folds for every trial). Fields: any "
            "model or training setting. Runs on a local Ray on this machine; for a cluster use "
            "`python -m gpatlas_core tune --address`."
        )
        text = st.text_area("Grid (JSON: setting -> list of values)", GRID_EXAMPLE, key="grid")
        c1, c2 = st.columns(2)
        folds = int(c1.number_input("Folds per trial", 2, 10, 3, key="tune-folds"))
        cpus = int(c2.number_input("CPUs per trial", 1, os.cpu_count() or 1, 1, key="tune-cpus"))
        try:
            grid = tl.read_grid(text, name="the grid")
        except DataError as err:
            st.error(str(err))
            grid = None
        job = state.job("tune")
        busy = job is not None and job.active
        if grid is not None:
            st.caption(f"{len(tl.grid_points(grid))} trials of {folds} folds each")
        if st.button("Run grid search", disabled=busy or grid is None, icon=":material/grid_on:"):
            start_tune(ds, cfg, grid, folds, cpus)
            if not state.synchronous_jobs():
                st.rerun()
        ui.poll_job("tune", body=live_trials)
        result = state.latest("tune")
        if result is None:
            return
        st.dataframe(result.trials, hide_index=True)
        ui.figure(pl.tune_trials(result.trials, list(result.grid)), "tune_trials.html")
        best = result.best_config()
        if best is None:
            st.warning("Every trial failed; see the error column.")
            return
        point = ", ".join(f"{k}={v}" for k, v in result.best_point().items())
        st.success(f"Best: {point} (CV median R² {result.best['score']:.3f})")
        if st.button("Use the best settings", icon=":material/check:"):
            use_settings(best, f"grid search best ({point})")
            st.rerun()


def bundle_section(run) -> None:
    st.header("Save or load a run")
    c1, c2 = st.columns(2)
    with c1:
        if run is not None:
            st.download_button(
                "Download the run bundle (zip)",
                data=lambda: bundle.run_to_zip(run),
                file_name="gpatlas_run.zip",
                mime="application/zip",
                on_click="ignore",
                icon=":material/download:",
                help="Config, weights (safetensors), metrics, losses and predictions",
            )
    with c2:
        up = st.file_uploader(
            "Load a run bundle", type=["zip"], help="A zip made by this app or the command line"
        )
        if up is not None and st.button("Load this run", icon=":material/upload:"):
            try:
                loaded = bundle.run_from_zip(up.getvalue(), name=up.name)
            except DataError as err:
                st.error(str(err))
                return
            ds = state.dataset()
            if loaded.dataset_fingerprint != ds.fingerprint:
                st.error(
                    "This run was trained on different data (the dataset fingerprint "
                    "differs). Load that dataset first."
                )
                return
            state.set_run(loaded)
            st.rerun()


st.title("Train")
ds = ui.require_dataset()
settings_file()
cfg = settings_form()
cfg, groups = groups_form(ds, cfg)
job = state.job("train")
busy = job is not None and job.active
if st.button("Start training", type="primary", disabled=busy, icon=":material/play_arrow:"):
    if start_training(ds, cfg, groups=groups) and not state.synchronous_jobs():
        st.rerun()  # redraw with the button disabled while the job runs
ui.poll_job("train", body=live_curves, eta=_eta, every=2.0)
current = state.run() if state.run_matches_dataset() else None
if current is not None and current.status == "stopped" and not busy:
    st.info("This run was stopped before the end. You can continue where it stopped.")
    if st.button("Continue training", icon=":material/resume:"):
        if start_training(ds, current.config, resume=current):
            st.rerun()
if state.run_matches_dataset():
    results(ds, state.run())
cv_section(ds, cfg)
tune_section(ds, cfg)
bundle_section(state.run() if state.run_matches_dataset() else None)
