"""Grid search on a local Ray: grids are checked, every point is a trial scored by CV, a failing
trial is reported without losing the others, the best config reloads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gpatlas_core.config import config_from_json, preset, with_overrides
from gpatlas_core.io import DataError
from gpatlas_core.tl import (
    check_grid,
    cross_validate,
    grid_points,
    ray_executor,
    read_grid,
    tune_grid,
)


def _config():
    return preset("quick", epochs_phenotype=2, epochs_genotype=1)


def test_grids_are_checked() -> None:
    assert grid_points({"latent": [4, 8], "sd_noise": [0.1]}) == [
        {"latent": 4, "sd_noise": 0.1},
        {"latent": 8, "sd_noise": 0.1},
    ]
    for bad, match in [
        ('{"latnt": [4]}', "unknown setting 'latnt'"),
        ('{"latent": []}', "non-empty list"),
        ('{"latent": 4}', "non-empty list"),
        ('{"device": ["tpu"]}', "device: choose one of auto, cpu, cuda"),
        ('{"standardize": [1]}', "true or false"),
        ("[1, 2]", "expected an object"),
        ("{latent: 4}", "not valid JSON"),
    ]:
        with pytest.raises(DataError, match=match):
            read_grid(bad, name="grid.json")
    with pytest.raises(DataError, match="at most 1,000 trials"):
        check_grid({"latent": list(range(1, 41)), "seed": list(range(30))})


def test_tune_runs_trials_reports_failures_and_the_best_reloads(
    local_ray, tiny_dataset, tmp_path
) -> None:
    seen = []
    grid = {"latent": [4, 8], "batch_size": [1, 16]}  # batch_size 1 fails inside the trial
    res = tune_grid(
        tiny_dataset,
        _config(),
        grid,
        folds=2,
        fold_seed=3,
        storage=tmp_path / "ray",
        on_trial=lambda row, done, total: seen.append((row["trial"], done, total)),
    )
    t = res.trials.set_index("trial")
    assert len(t) == 4 and sorted(n for _, _, n in seen) == [4] * 4
    assert (t["status"] == "ok").sum() == 2
    failed = t[t["batch_size"] == 1]
    assert (failed["status"] == "failed").all()
    assert failed["error"].str.contains("batch_size must be at least 2").all()
    ok = t[t["status"] == "ok"]
    assert ok["score"].notna().all() and (ok["seconds"] > 0).all()
    # a trial's score is the cross-validated median R^2 of its config, with the same folds
    point = {"latent": 8, "batch_size": 16}
    direct = cross_validate(
        tiny_dataset, with_overrides(_config(), point), folds=2, rng=np.random.default_rng(3)
    )
    row = ok[ok["latent"] == 8].iloc[0]
    assert row["score"] == pytest.approx(direct.score, abs=1e-4)
    paths = res.write(tmp_path / "out")
    best = json.loads(paths[-1].read_text())
    assert best["grid_point"] == res.best_point()
    loaded = config_from_json(paths[-1].read_text(), name="best_config.json")
    assert loaded == res.best_config()
    assert loaded.model.latent == res.best_point()["latent"]


def test_ray_executor_gives_the_loop_results(local_ray, tiny_dataset) -> None:
    cfg = _config()
    loop = cross_validate(tiny_dataset, cfg, folds=2, rng=np.random.default_rng(1))
    spread = cross_validate(
        tiny_dataset, cfg, folds=2, rng=np.random.default_rng(1), executor=ray_executor()
    )
    assert loop.folds.equals(spread.folds)
    np.testing.assert_allclose(
        spread.metrics["r2"].to_numpy(dtype=float), loop.metrics["r2"].to_numpy(dtype=float),
        atol=1e-4,
    )  # fmt: skip
