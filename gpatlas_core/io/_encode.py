"""Global token codes to per-marker allele-state codes (int8), in row blocks and in place.

Every reader first gives each cell a *global* code (the index of its label in a vocabulary
shared by all markers, -1 = missing), then :func:`encode_states` turns them into per-marker
codes: the states a marker shows, in natural order (numbers by value, else text), or the ones
a marker map declares. It works on row blocks, so its temporaries stay small, and writes the
result into the input array when that is int8.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._dataset import DataError

__all__ = ["MAX_STATES_PER_MARKER", "encode_states", "natural_order"]

MAX_STATES_PER_MARKER = 50
_BLOCK_CELLS = 1 << 22
_SMALL_VOCAB = 24


def natural_order(labels: list[str]) -> list[str]:
    """Numbers by value when all labels are numbers, else sorted as text."""
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


def _row_step(n_cols: int) -> int:
    return max(1, _BLOCK_CELLS // max(n_cols, 1))


def present_states(gcodes: np.ndarray, n_voc: int) -> np.ndarray:
    """(n_voc, n_markers) bool: which global codes occur in each column (missing ignored)."""
    n, n_loci = gcodes.shape
    present = np.zeros((n_voc, n_loci), dtype=bool)
    step = _row_step(n_loci)
    for i in range(0, n, step):
        block = gcodes[i : i + step]
        if n_voc <= _SMALL_VOCAB:
            for v in range(n_voc):
                present[v] |= (block == v).any(axis=0)
        else:
            idx = block.astype(np.int64) * n_loci + np.arange(n_loci)[None, :]
            idx = idx[block >= 0]
            present.reshape(-1)[np.unique(idx)] = True
    return present


def _check_states(labels: tuple[str, ...], name: str, marker: str) -> None:
    if len(labels) > MAX_STATES_PER_MARKER:
        raise DataError(
            f"{name}: marker '{marker}' has {len(labels)} distinct values; expected "
            f"categorical allele states (at most {MAX_STATES_PER_MARKER}) — is this a "
            "phenotype table?"
        )


def encode_states(
    gcodes: np.ndarray,
    vocab: list[str],
    *,
    name: str,
    markers: list[str],
    declared: list[tuple[str, ...]] | None = None,
    cell: Callable[[int, int], str] | None = None,
) -> tuple[np.ndarray, list[tuple[str, ...]], dict]:
    """Turn global token codes (samples x markers, -1 missing) into per-marker int8 codes.

    ``vocab[v]`` is the label of global code ``v``. ``declared`` (from a marker map) fixes the
    allele labels and their order per marker; a label not declared is an error. ``cell(i, j)``
    describes a cell's location for messages. An int8 ``gcodes`` is overwritten with the
    result (returned); other dtypes give a new int8 array.
    """
    n, n_loci = gcodes.shape
    n_voc = len(vocab)
    present = present_states(gcodes, n_voc)
    lut = np.full((n_voc + 1, n_loci), -1, dtype=np.int8)  # row 0: missing
    alleles: list[tuple[str, ...]] = [()] * n_loci
    n_here = present.sum(axis=0)
    if declared is None or not any(declared):
        over = np.flatnonzero(n_here > MAX_STATES_PER_MARKER)
        if over.size:
            _check_states(("",) * int(n_here[over[0]]), name, markers[int(over[0])])
        # markers that show the same set of states share their labels: one decision per set
        keys = np.packbits(present, axis=0).T  # (n_loci, ceil(n_voc / 8))
        patterns, which = np.unique(keys, axis=0, return_inverse=True)
        which = which.reshape(-1)
        for k in range(len(patterns)):
            cols_k = np.flatnonzero(which == k)
            here_v = np.flatnonzero(present[:, cols_k[0]])
            labels = tuple(natural_order([vocab[v] for v in here_v]))
            index = {lab: i for i, lab in enumerate(labels)}
            for v in here_v:
                lut[v + 1, cols_k] = index[vocab[v]]
            for j in cols_k:
                alleles[j] = labels
    else:
        for j in range(n_loci):
            here_v = np.flatnonzero(present[:, j])
            here = [vocab[v] for v in here_v]
            if declared[j]:
                labels = tuple(declared[j])
                unknown = [h for h in here if h not in labels]
                if unknown:
                    v = vocab.index(unknown[0])
                    i = int(np.flatnonzero(gcodes[:, j] == v)[0])
                    where = cell(i, j) if cell is not None else f"row {i + 1}"
                    raise DataError(
                        f"{name}: {where}: unknown allele code '{unknown[0]}' for marker "
                        f"'{markers[j]}'; the marker map declares {'|'.join(labels)}"
                    )
            else:
                labels = tuple(natural_order(here))
            _check_states(labels, name, markers[j])
            index = {lab: k for k, lab in enumerate(labels)}
            for v in here_v:
                lut[v + 1, j] = index[vocab[v]]
            alleles[j] = labels
    single = [markers[j] for j in np.flatnonzero(n_here == 1)]
    empty = [markers[j] for j in np.flatnonzero(n_here == 0)]
    out = gcodes if gcodes.dtype == np.int8 else np.empty((n, n_loci), dtype=np.int8)
    flat_lut = lut.reshape(-1)
    cols = np.arange(n_loci, dtype=np.int32)
    step = _row_step(n_loci)
    idx_dtype = np.int32 if (n_voc + 1) * n_loci < 2**31 else np.int64
    for i in range(0, n, step):
        block = gcodes[i : i + step]
        idx = block.astype(idx_dtype)
        idx += 1
        idx *= n_loci
        idx += cols
        out[i : i + step] = flat_lut[idx]
    notes = {}
    if single:
        notes["single_state_markers"] = {"count": len(single), "examples": single[:20]}
    if empty:
        notes["all_missing_markers"] = {"count": len(empty), "examples": empty[:20]}
    return out, alleles, notes
