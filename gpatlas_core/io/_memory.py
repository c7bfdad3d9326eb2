"""How much memory a dataset may take, and out-of-memory errors as messages.

The compact genotype matrix takes one byte per sample and marker. Training takes several times
that (the tier-2 inputs, the LASSO warm start's design of the training individuals, per-fold
copies; see the README, "Memory"), so by default a reader accepts a matrix of up to an eighth
of the memory this process may use: the physical memory, or less where a cgroup limit or an
address-space limit (``ulimit -v``) says so.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

__all__ = ["MEMORY_FRACTION", "genotype_budget", "out_of_memory_message", "usable_memory"]

MEMORY_FRACTION = 8
"""The default genotype-matrix limit is the usable memory divided by this."""

_GiB = 1024**3


def _cgroup_limit() -> int | None:
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < (1 << 60):
            return int(text)
    return None


def usable_memory() -> tuple[int, str]:
    """``(bytes, what)``: the memory this process may use and what sets it (physical memory,
    a cgroup limit or the address-space limit, whichever is smallest)."""
    try:
        found = [(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "physical memory")]
    except (ValueError, OSError, AttributeError):
        found = [(16 * _GiB, "an assumed 16 GiB")]
    cg = _cgroup_limit()
    if cg is not None:
        found.append((cg, "the cgroup memory limit"))
    for rlim, what in (
        (resource.RLIMIT_AS, "the address-space limit (ulimit -v)"),
        (resource.RLIMIT_DATA, "the data-segment limit (ulimit -d)"),
    ):
        soft, _hard = resource.getrlimit(rlim)
        if soft != resource.RLIM_INFINITY and soft > 0:
            found.append((int(soft), what))
    return min(found)


def genotype_budget() -> tuple[int, str]:
    """``(bytes, why)``: the default limit of the compact genotype matrix."""
    total, what = usable_memory()
    return total // MEMORY_FRACTION, f"1/{MEMORY_FRACTION} of the {total / _GiB:.1f} GiB of {what}"


def out_of_memory_message(what: str = "this step") -> str:
    """The message shown instead of a ``MemoryError`` traceback."""
    total, where = usable_memory()
    return (
        f"out of memory during {what}: it needs more than the {total / _GiB:.1f} GiB of {where} "
        "allows. Nothing loaded or saved before was changed. Use fewer markers (e.g. "
        "LD-pruned) or individuals, a smaller model, or a machine with more memory (the README, "
        "'Memory', says how much a dataset needs)"
    )
