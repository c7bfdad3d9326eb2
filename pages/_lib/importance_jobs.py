"""The one builder of importance jobs (exact ablation or a Captum method), shared by the
Importance page and the VIDA page's "compute VIDA's input" button."""

from __future__ import annotations

from gpatlas_core import tl

from . import state


def start_importance_job(
    ds, run, method: str, settings: dict, stage: str, label: str, verb: str
) -> None:
    """Start one importance job in the background: exact ablation or a Captum method.
    ``settings``: individuals, target, n_bootstrap, seed (and per_trait for the ablation)."""

    def work(job):
        def progress(done, total):
            job.progress(done, total, f"{verb}: individual {done} of {total}")

        common = dict(
            individuals=settings["individuals"],
            target=settings["target"],
            n_bootstrap=settings["n_bootstrap"],
            rng=settings["seed"],
            on_progress=progress,
            should_stop=job.should_stop,
        )
        try:
            if method == "ablation":
                return tl.compute_importance(run, ds, per_trait=settings["per_trait"], **common)
            return tl.compute_attributions(run, ds, method=method, **common)
        except tl.AblationCancelled:
            return None

    state.start_job(stage, work, settings=settings, label=label)
