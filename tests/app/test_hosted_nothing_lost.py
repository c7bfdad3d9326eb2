"""Nothing is lost: a stopped run keeps its checkpoint and curves and resumes (core and app);
a failed computation leaves earlier results in place; a downloaded run bundle loads again in
the app and in the CLI (safetensors / JSON / CSV only; pickles and strangers refused)."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from bad_inputs import Payload, torch_checkpoint

from gpatlas_core import preset
from gpatlas_core.bundle import load_run, read_bundle, run_to_zip
from gpatlas_core.io import DataError, write_dataset_folder
from gpatlas_core.sim import SimulationConfig, simulate
from gpatlas_core.train import train

pytest.importorskip("streamlit")
from apptest import button, page
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.usefixtures("one_thread")


def small(seed: int = 5):
    cfg = SimulationConfig(n_individuals=40, n_loci=20, n_traits=3, causal_per_trait=3)
    ds = simulate(cfg, rng=np.random.default_rng(seed))
    ds.name = "small"
    return ds


def cfg(e1: int = 3, e2: int = 3):
    return preset("paper-simulated", epochs_phenotype=e1, epochs_genotype=e2, device="cpu", seed=2)


def stop_after(n_batches: int):
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > n_batches

    return stop


def errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


def visit_home_and_back(at: AppTest, path: str) -> None:
    """Rerun through app.py (which files finished jobs), as the page's own rerun does live.

    AppTest runs a page other than the entry point without app.py, because the app's pages
    sit in a folder named ``pages/`` (Streamlit's MPA v1 code path).
    """
    at.switch_page("app.py").run()
    at.switch_page(path).run()


def wait(job, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while job.active and time.monotonic() < end:
        time.sleep(0.02)
    assert not job.active, job.status


# ------------------------------------------------------------------------ core: stop/resume
def test_stopped_run_survives_a_bundle_and_resumes_exactly():
    ds = small()
    full = train(ds, cfg(), baselines=False)
    part = train(ds, cfg(), should_stop=stop_after(9), baselines=False)  # 2 batches an epoch
    assert part.status == "stopped" and part.checkpoint is not None
    tiers = list(part.losses["tier"])
    assert tiers[:3] == ["phenotype"] * 3 and 1 <= tiers.count("genotype") < 3, tiers
    back = read_bundle(run_to_zip(part))
    assert back.status == "stopped" and back.checkpoint is not None
    np.testing.assert_array_equal(back.losses["train_loss"], part.losses["train_loss"])
    done = train(ds, resume=back, baselines=False)
    assert done.status == "finished" and done.checkpoint is None
    np.testing.assert_array_equal(done.losses["train_loss"], full.losses["train_loss"])
    for a, b in zip(done.gq.state_dict().values(), full.gq.state_dict().values(), strict=True):
        assert torch.equal(a, b)


# ------------------------------------------------------------------------ core: bundle + CLI
def test_cli_evaluates_a_bundle(tmp_path, capsys):
    from gpatlas_core.cli import main

    ds = small()
    folder = write_dataset_folder(ds, tmp_path / "data")
    from gpatlas_core.io import read_dataset_folder

    ds = read_dataset_folder(folder)
    run = train(ds, cfg(2, 2))
    zpath = tmp_path / "gpatlas_run.zip"
    zpath.write_bytes(run_to_zip(run))
    assert load_run(zpath).dataset_fingerprint == run.dataset_fingerprint
    assert main(["evaluate", str(zpath)]) == 0
    out = capsys.readouterr().out
    assert "gpatlas_run.zip: finished" in out and "ridge" in out.lower()
    before = zpath.read_bytes()
    assert main(["evaluate", str(zpath), "--recompute", "--data", str(folder)]) == 0
    assert zpath.read_bytes() == before  # a bundle is read, never rewritten
    evil = tmp_path / "evil.zip"
    evil.write_bytes(torch_checkpoint({"w": 1}))
    assert main(["evaluate", str(evil)]) == 2
    assert "not allowed in a run bundle" in capsys.readouterr().err


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def good_bundle() -> bytes:
    return run_to_zip(train(small(), cfg(1, 1), baselines=False))


def test_bundle_members_are_checked(tmp_path, good_bundle):
    sentinel = tmp_path / "pwned.txt"
    members = {i.filename: zipfile.ZipFile(io.BytesIO(good_bundle)).read(i) for i in
               zipfile.ZipFile(io.BytesIO(good_bundle)).infolist()}  # fmt: skip
    assert set(members) >= {"run/config.json", "run/weights.safetensors", "run/split.csv"}
    assert all(Path(m).suffix in {".json", ".csv", ".safetensors"} for m in members)
    cases = {
        "a PyTorch checkpoint": (
            torch_checkpoint({"model": Payload(sentinel)}),
            r"'archive/data.pkl' is not allowed in a run bundle",
        ),
        "a pickle inside": (
            _zip({**members, "run/weights.pkl": b"\x80\x04K\x01."}),
            r"'run/weights.pkl' is not allowed",
        ),
        "a script inside": (_zip({**members, "run/hook.py": b"print(1)"}), r"'run/hook.py'"),
        "a path outside": (_zip({"../config.json": b"{}"}), r"path outside the bundle"),
        "an absolute path": (_zip({"/etc/config.json": b"{}"}), r"path outside the bundle"),
        "not a zip": (b"hello", r"not a zip file"),
        "an empty zip": (_zip({}), r"the zip file is empty"),
        "no weights": (
            _zip({k: v for k, v in members.items() if "weights" not in k}),
            r"not a readable G-P Atlas run bundle \(missing weights.safetensors\)",
        ),
        "corrupt weights": (
            _zip({**members, "run/weights.safetensors": b"\x10\x00\x00\x00\x00\x00\x00\x00{}"}),
            r"not a readable G-P Atlas run bundle",
        ),
    }
    for what, (data, message) in cases.items():
        with pytest.raises(DataError, match=message):
            read_bundle(data, name="up.zip")
        assert not sentinel.exists(), what
    with pytest.raises(DataError, match=r"unpacks to more than the limit of 1,000 bytes"):
        read_bundle(good_bundle, max_bytes=1000)
    assert read_bundle(good_bundle).status == "finished"


# ------------------------------------------------------------------------------------- app
def test_app_stop_keeps_checkpoint_and_curves_then_continues():
    ds = small()
    at = page("pages/train.py", dataset=ds, sync_jobs=False)
    at.selectbox[0].set_value("paper-simulated").run()
    at.number_input(key="e1-paper-simulated").set_value(400)
    at.number_input(key="e2-paper-simulated").set_value(20)
    button(at, "Start training").click().run()
    job = at.session_state["jobs"]["train"]
    end = time.monotonic() + 30
    while len(job.events) < 3 and time.monotonic() < end:
        time.sleep(0.02)
    at.run()
    button(at, "Stop").click().run()
    wait(job)
    visit_home_and_back(at, "pages/train.py")
    assert not at.exception, at.exception
    run = at.session_state["run"]
    assert job.status == "stopped" and run is job.result and run.status == "stopped"
    assert run.checkpoint is not None and len(run.losses) >= 3
    assert any("continue where it stopped" in i.value for i in at.info)
    assert "Results on the test individuals" in [h.value for h in at.header]
    n_stopped = len(run.losses)
    at.session_state["sync_jobs"] = True
    button(at, "Continue training").click().run()
    assert not at.exception, at.exception
    done = at.session_state["run"]
    assert done.status == "finished" and len(done.losses) == 420 > n_stopped
    # the job trained a copy: the stopped run the other pages were reading is untouched
    assert done is not run and run.status == "stopped" and len(run.losses) == n_stopped


def test_app_failed_importance_keeps_model_and_earlier_importance(monkeypatch):
    from gpatlas_core import tl

    ds = small()
    run = train(ds, cfg(2, 2), baselines=False)
    at = page("pages/importance.py", dataset=ds, run=run, run_id="r1")
    at.slider[0].set_value(0).run()  # no bootstrap: quick
    button(at, "Compute importance").click().run()
    assert not at.exception, at.exception
    first = at.session_state["latest"]
    assert len(first) == 1 and at.get("plotly_chart")

    def broken(*args, **kwargs):
        raise RuntimeError("ablation kernel exploded")

    monkeypatch.setattr(tl, "compute_importance", broken)
    at.slider[0].set_value(50).run()
    button(at, "Compute importance").click().run()
    assert not at.exception, at.exception
    assert "Unexpected error" in errors(at), errors(at)
    assert at.session_state["run"] is run
    assert at.session_state["latest"] == first
    assert any("Showing the last computed importance" in c.value for c in at.caption)
    assert at.get("plotly_chart")  # the earlier Manhattan plot is still drawn


def test_app_loads_a_downloaded_bundle_and_refuses_bad_ones(good_bundle, tmp_path):
    ds = small()
    at = page("pages/train.py", dataset=ds)
    assert "run" not in at.session_state or at.session_state["run"] is None
    (uploader,) = [u for u in at.file_uploader if u.label == "Load a run bundle"]
    uploader.set_value(("gpatlas_run.zip", good_bundle, "application/zip")).run()
    button(at, "Load this run").click().run()
    assert not at.exception, at.exception
    loaded = at.session_state["run"]
    assert loaded is not None and loaded.status == "finished"
    assert "Results on the test individuals" in [h.value for h in at.header]
    sentinel = tmp_path / "pwned.txt"
    for name, data, message in (
        ("model.zip", torch_checkpoint({"m": Payload(sentinel)}), "not allowed in a run bundle"),
        ("other.zip", run_to_zip(train(small(seed=9), cfg(1, 1), baselines=False)),
         "trained on different data"),
    ):  # fmt: skip
        next(u for u in at.file_uploader if u.label == "Load a run bundle").set_value(
            (name, data, "application/zip")
        ).run()
        button(at, "Load this run").click().run()
        assert not at.exception, at.exception
        assert message in errors(at), errors(at)
        assert at.session_state["run"] is loaded
    assert not sentinel.exists()
