"""Shared fixtures (owned by the io helper).

- ``tiny_dataset``: a seeded 50-individual simulation with truth (fresh per test; milliseconds).
- ``tiny_config``: the :class:`SimulationConfig` behind it.
- ``tiny_folder``: ``tiny_dataset`` written as a dataset folder under ``tmp_path``.
- ``yeast``: the shipped BY x RM sample, loaded once per session (treat it as read-only).
- ``make_file``: write bytes or text under ``tmp_path`` and get the path back.
- ``local_ray``: a local Ray (2 CPUs) for the session, for tune and Ray-executor tests.
- ``vida_setup``: ``tiny_dataset`` with a heavy-tailed stand-in importance matrix and a seeded
  generator, for the VIDA figure and CLI tests.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from gpatlas_core.io import Dataset
from gpatlas_core.sim import SimulationConfig, simulate

TINY_SEED = 20240501


@pytest.fixture
def one_thread():
    """One torch thread for the test (tiny networks: OpenMP threads only add wake-up latency
    on a busy machine); the previous count is restored."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_config() -> SimulationConfig:
    return SimulationConfig(
        n_individuals=50,
        n_loci=40,
        n_alleles=3,
        n_traits=4,
        causal_per_trait=5,
        p_pleiotropy=0.2,
        p_interaction=0.3,
        noise=0.01,
    )


@pytest.fixture
def tiny_dataset(tiny_config: SimulationConfig) -> Dataset:
    """A seeded 50 x 40 (3 alleles) x 4-trait simulation with ``truth``."""
    ds = simulate(tiny_config, rng=np.random.default_rng(TINY_SEED))
    ds.name = "tiny"
    return ds


@pytest.fixture
def tiny_folder(tiny_dataset: Dataset, tmp_path: Path) -> Path:
    """``tiny_dataset`` written with ``write_dataset_folder`` (readable by read_dataset_folder)."""
    from gpatlas_core.io import write_dataset_folder

    out = tmp_path / "tiny"
    write_dataset_folder(tiny_dataset, out)
    return out


@pytest.fixture(scope="session")
def yeast() -> Dataset:
    """The shipped yeast sample (1,008 x 11,623 x 46). Shared by all tests: do not modify."""
    from gpatlas_core.io import load_yeast_sample

    return load_yeast_sample()


@pytest.fixture
def make_file(tmp_path: Path) -> Callable[..., Path]:
    """``make_file(name, content)``: write ``content`` (str -> UTF-8, or bytes) to tmp_path/name."""

    def _make(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path

    return _make


@pytest.fixture
def hosted(monkeypatch):
    """``hosted(**env)``: hosted mode with these GPATLAS_* variables (limits re-read)."""
    from pages._lib import hosting

    def _set(**env: str) -> None:
        monkeypatch.setenv("GPATLAS_HOSTED", "1")
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        hosting.limits.cache_clear()

    yield _set
    monkeypatch.undo()
    hosting.limits.cache_clear()


@pytest.fixture
def vida_setup(tiny_dataset: Dataset):
    """``(dataset, importance matrix, rng)``: the one-hot genotypes times Student-t noise."""
    rng = np.random.default_rng(4)
    x = tiny_dataset.onehot()
    mat = (x * rng.standard_t(3, size=x.shape)).astype(np.float32)
    return tiny_dataset, mat, rng


@pytest.fixture(scope="session")
def local_ray():
    """A local Ray with 2 CPUs for the session's tune / Ray-executor tests, shut down after."""
    import ray

    from gpatlas_core.tl import start_ray

    start_ray(num_cpus=2)
    yield ray
    ray.shutdown()
