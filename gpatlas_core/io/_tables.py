"""Delimited text tables: header checks, genotype matrices to int8 codes, phenotype matrices."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._dataset import DataError
from ._limits import Blob, ReadLimits

__all__ = [
    "MISSING_TOKENS",
    "GenotypeTable",
    "encode_states",
    "parse_genotype_table",
    "split_lines",
]

MISSING_TOKENS = frozenset({"", "NA", "na", "N/A", "n/a", "NaN", "nan", ".", "-", "--", "NULL"})
"""Cell values read as a missing call / missing phenotype."""
ALLELE_TOKEN = re.compile(r"^[A-Za-z0-9_+*][A-Za-z0-9_.+*/:\-]{0,31}$")
"""What an allele state label may look like (letters, digits and a few separators)."""
MAX_STATES_PER_MARKER = 50
MAX_VOCABULARY = 4000
_CHUNK_LINES = 256
_DELIMS = (b"\t", b",", b";")


def split_lines(blob: Blob) -> list[bytes]:
    """Non-empty lines of ``blob`` without line endings (comment lines starting '#' kept)."""
    data = blob.data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return [ln for ln in data.split(b"\n") if ln.strip()]


def _sniff_format(first: bytes, name: str) -> None:
    low = first[:200].lower()
    if low.startswith(b"##fileformat=vcf") or low.startswith(b"#chrom"):
        raise DataError(f"{name}: this is a VCF file; load it as VCF (a .vcf or .vcf.gz file)")
    if low.startswith((b"<!doctype html", b"<html")):
        raise DataError(f"{name}: this is an HTML page, not a data table")
    if low.startswith((b"{", b"[")):
        raise DataError(f"{name}: this looks like JSON; expected a delimited text table")


def detect_delimiter(header: bytes, name: str, *, whitespace_ok: bool = False) -> bytes | None:
    """Tab, comma or semicolon (the most frequent in the header); None = runs of whitespace."""
    counts = {d: header.count(d) for d in _DELIMS}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] > 0:
        return best
    if whitespace_ok and len(header.split()) > 1:
        return None
    raise DataError(
        f"{name}: line 1 (header) has a single column; expected columns separated by tabs, "
        "commas or semicolons (wrong delimiter?)"
    )


def split_fields(line: bytes, delim: bytes | None) -> list[str]:
    """Split one line into stripped str fields (CSV quoting honoured when quotes appear)."""
    if delim is None:
        return [f.decode() for f in line.split()]
    if b'"' in line:
        return [f.strip() for f in next(csv.reader([line.decode()], delimiter=delim.decode()))]
    return [f.decode().strip() for f in line.split(delim)]


def _check_header(fields: list[str], name: str, limits: ReadLimits, what: str) -> None:
    if len(fields) > limits.max_columns:
        raise DataError(
            f"{name}: the header has {len(fields):,} columns, more than the limit of "
            f"{limits.max_columns:,}; refused"
        )
    seen: dict[str, int] = {}
    for i, f in enumerate(fields[1:], start=2):
        if not f:
            raise DataError(f"{name}: line 1, column {i}: empty {what} name")
        if f in seen:
            raise DataError(
                f"{name}: line 1: {what} name '{f}' appears twice (columns {seen[f]} and {i})"
            )
        seen[f] = i


def _check_ids(ids: list[str], name: str, what: str, first_line: int) -> None:
    seen: dict[str, int] = {}
    for i, s in enumerate(ids):
        if not s:
            raise DataError(f"{name}: line {first_line + i}: empty {what} id")
        if s in seen:
            raise DataError(
                f"{name}: {what} id '{s}' appears twice (lines {first_line + seen[s]} "
                f"and {first_line + i})"
            )
        seen[s] = i


@dataclass
class GenotypeTable:
    """A genotype matrix as read: ``codes`` (samples x markers) int8, -1 = missing."""

    samples: list[str]
    markers: list[str]
    codes: np.ndarray
    alleles: list[tuple[str, ...]]
    notes: dict


def _natural_order(labels: list[str]) -> list[str]:
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


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
    describes a cell's location for messages.
    """
    n_loci = gcodes.shape[1]
    n_voc = len(vocab)
    present = np.zeros((n_voc + 1, n_loci), dtype=bool)
    cols = np.broadcast_to(np.arange(n_loci), gcodes.shape)
    present[gcodes.ravel(), cols.ravel()] = True  # -1 lands in the extra last row
    present = present[:n_voc]
    lut = np.full((n_voc + 1, n_loci), -1, dtype=np.int8)
    alleles: list[tuple[str, ...]] = []
    single: list[str] = []
    empty: list[str] = []
    for j in range(n_loci):
        here = [vocab[v] for v in np.flatnonzero(present[:, j])]
        if declared is not None and declared[j]:
            labels = tuple(declared[j])
            unknown = [h for h in here if h not in labels]
            if unknown:
                v = vocab.index(unknown[0])
                i = int(np.flatnonzero(gcodes[:, j] == v)[0])
                raise DataError(
                    f"{name}: {cell(i, j)}: unknown allele code '{unknown[0]}' for marker "
                    f"'{markers[j]}'; the marker map declares {'|'.join(labels)}"
                )
        else:
            labels = tuple(_natural_order(here))
        if len(labels) > MAX_STATES_PER_MARKER:
            raise DataError(
                f"{name}: marker '{markers[j]}' has {len(labels)} distinct values; expected "
                f"categorical allele states (at most {MAX_STATES_PER_MARKER}) — is this a "
                "phenotype table?"
            )
        index = {lab: k for k, lab in enumerate(labels)}
        for v in np.flatnonzero(present[:, j]):
            lut[v, j] = index[vocab[v]]
        alleles.append(labels)
        if len(here) == 0:
            empty.append(markers[j])
        elif len(here) == 1:
            single.append(markers[j])
    codes = lut[gcodes, np.arange(n_loci)[None, :]]
    notes = {}
    if single:
        notes["single_state_markers"] = {"count": len(single), "examples": single[:20]}
    if empty:
        notes["all_missing_markers"] = {"count": len(empty), "examples": empty[:20]}
    return codes, alleles, notes


class _Vocabulary:
    """Global token -> code mapping built chunk by chunk."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.index: dict[str, int] = {}
        self.labels: list[str] = []

    def codes_for(self, uniques: list[str]) -> np.ndarray:
        out = np.empty(len(uniques) + 1, dtype=np.int16)
        for k, tok in enumerate(uniques):
            if tok in MISSING_TOKENS:
                out[k] = -1
                continue
            code = self.index.get(tok)
            if code is None:
                code = self.index[tok] = len(self.labels)
                self.labels.append(tok)
                if len(self.labels) > MAX_VOCABULARY:
                    raise DataError(
                        f"{self.name}: more than {MAX_VOCABULARY} distinct cell values; "
                        "expected categorical allele states"
                    )
            out[k] = code
        out[-1] = -1
        return out


def _chunk_codes(
    rests: list[bytes], width: int, delim: bytes | None, vocab: _Vocabulary
) -> np.ndarray | None:
    """Fast path: every cell is one byte ('B,R,B'); None when that does not hold."""
    if delim is None or any(len(r) != 2 * width - 1 for r in rests):
        return None
    arr = np.frombuffer(b"".join(rests), dtype=np.uint8).reshape(len(rests), 2 * width - 1)
    if width > 1 and not (arr[:, 1::2] == delim[0]).all():
        return None
    cells = arr[:, ::2]
    if (cells == ord('"')).any() or (cells == ord(" ")).any():
        return None
    byte_values = np.flatnonzero(np.bincount(cells.ravel(), minlength=256))
    lut = np.full(256, -1, dtype=np.int16)
    lut[byte_values] = vocab.codes_for([chr(b) for b in byte_values])[:-1]
    return lut[cells]


def parse_genotype_table(
    blob: Blob,
    *,
    limits: ReadLimits,
    markers_as_rows: bool,
    declared: dict[str, tuple[str, ...]] | None = None,
) -> GenotypeTable:
    """Parse a categorical genotype table.

    ``markers_as_rows=False``: one row per sample (``sample`` + one column per marker);
    ``True``: one row per marker (``marker`` + one column per sample, the BY x RM layout).
    Cells are allele-state labels (letters or numbers); :data:`MISSING_TOKENS` are missing.
    """
    name = blob.name
    lines = split_lines(blob)
    _sniff_format(lines[0], name)
    delim = detect_delimiter(lines[0][: 1 << 20], name, whitespace_ok=True)
    header = split_fields(lines[0], delim)
    what_col, what_row = ("sample", "marker") if markers_as_rows else ("marker", "sample")
    _check_header(header, name, limits, what_col)
    width = len(header) - 1
    if width < 1:
        raise DataError(f"{name}: line 1: expected an id column and at least one {what_col}")
    n_rows = len(lines) - 1
    if n_rows < 1:
        raise DataError(f"{name}: no data rows below the header")
    max_rows = limits.max_markers if markers_as_rows else limits.max_samples
    max_cols = limits.max_samples if markers_as_rows else limits.max_markers
    if n_rows > max_rows or width > max_cols:
        raise DataError(
            f"{name}: {n_rows:,} {what_row}s x {width:,} {what_col}s exceeds the limits "
            f"({limits.max_samples:,} samples, {limits.max_markers:,} markers); refused"
        )
    vocab = _Vocabulary(name)
    ids: list[str] = []
    blocks: list[np.ndarray] = []
    for start in range(1, len(lines), _CHUNK_LINES):
        chunk = lines[start : start + _CHUNK_LINES]
        rests = []
        for k, ln in enumerate(chunk):
            cut = ln.find(delim) if delim is not None else -1
            if delim is None or cut < 0 or b'"' in ln[:cut]:
                fields = split_fields(ln, delim)
                ids.append(fields[0])
                rests.append(None if len(fields) != len(header) else fields[1:])
                if rests[-1] is None:
                    raise DataError(
                        f"{name}: line {start + k + 1} has {len(fields)} fields; expected "
                        f"{len(header)} like the header"
                    )
            else:
                ids.append(ln[:cut].decode().strip())
                rests.append(ln[cut + 1 :])
        block = None
        if all(isinstance(r, bytes) for r in rests):
            block = _chunk_codes(rests, width, delim, vocab)
        if block is None:
            tokens: list[str] = []
            for k, r in enumerate(rests):
                fields = r if isinstance(r, list) else split_fields(r, delim)
                if len(fields) != width:
                    raise DataError(
                        f"{name}: line {start + k + 1} has {len(fields) + 1} fields; expected "
                        f"{width + 1} like the header (wrong delimiter or a ragged row?)"
                    )
                tokens.extend(fields)
            local, uniques = pd.factorize(np.asarray(tokens, dtype=object), use_na_sentinel=True)
            block = vocab.codes_for(list(uniques))[local].reshape(len(rests), width)
        blocks.append(block)
    gcodes = np.concatenate(blocks, axis=0)
    _check_ids(ids, name, what_row, first_line=2)
    for v, tok in enumerate(vocab.labels):
        if not ALLELE_TOKEN.match(tok):
            i, j = (int(x) for x in np.argwhere(gcodes == v)[0])
            raise DataError(
                f"{name}: line {i + 2}, column {j + 2} ('{header[j + 1]}'): unknown allele "
                f"code '{tok[:40]}'; expected a short label of letters/digits, or NA/empty "
                "for a missing call"
            )
    if markers_as_rows:
        gcodes = np.ascontiguousarray(gcodes.T)
        samples, markers = header[1:], ids

        def cell(i: int, j: int) -> str:
            return f"line {j + 2}, column {i + 2}"
    else:
        samples, markers = ids, header[1:]

        def cell(i: int, j: int) -> str:
            return f"line {i + 2}, column {j + 2}"

    decl = None
    if declared:
        decl = [declared.get(m, ()) for m in markers]
    codes, alleles, notes = encode_states(
        gcodes, vocab.labels, name=name, markers=markers, declared=decl, cell=cell
    )
    return GenotypeTable(list(samples), list(markers), codes, alleles, notes)
