"""Genotype tables (delimited text) to int8 codes, streamed in chunks of lines.

Both layouts: one row per sample (``sample`` + one column per marker; the dataset folder) or one
row per marker (``marker`` + one column per sample; the BY x RM files). Lines are read from a
checked, decompressed stream (:mod:`._text`), so no whole file is ever held; chunks of rows are
coded with a shared vocabulary (a fast path for one-byte cells), and the count of cells read so
far is held against the memory limit, so an oversized table is refused while it is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._dataset import DataError
from ._encode import MAX_STATES_PER_MARKER, encode_states, natural_order
from ._limits import ByteStream, ReadLimits, Source
from ._text import MISSING_TOKENS, Records, check_header, check_ids

__all__ = [
    "ALLELE_TOKEN",
    "MAX_STATES_PER_MARKER",
    "MISSING_TOKENS",
    "GenotypeTable",
    "encode_states",
    "natural_order",
    "parse_genotype_table",
]

ALLELE_TOKEN = re.compile(r"^[A-Za-z0-9_+*][A-Za-z0-9_.+*/:\-]{0,31}$")
"""What an allele state label may look like (letters, digits and a few separators)."""
MAX_VOCABULARY = 4000
CHUNK_LINES = 256
"""Rows coded together (module-level so a test can make it tiny)."""


@dataclass
class GenotypeTable:
    """A genotype matrix as read: ``codes`` (samples x markers) int8, -1 = missing."""

    samples: list[str]
    markers: list[str]
    codes: np.ndarray
    alleles: list[tuple[str, ...]]
    notes: dict
    name: str = ""
    encoding: str = "utf-8"


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


def _store(blocks: list[np.ndarray], block: np.ndarray, n_voc: int) -> None:
    """Keep a chunk's global codes as int8 while the vocabulary fits (upcasting if it grows)."""
    if n_voc <= 127:
        blocks.append(block.astype(np.int8))
        return
    if blocks and blocks[0].dtype == np.int8:
        blocks[:] = [b.astype(np.int16) for b in blocks]
    blocks.append(block.astype(np.int16))


def parse_genotype_table(
    src: Source,
    *,
    limits: ReadLimits,
    markers_as_rows: bool,
    declared: dict[str, tuple[str, ...]] | None = None,
) -> GenotypeTable:
    """Parse a categorical genotype table, streaming.

    ``markers_as_rows=False``: one row per sample (``sample`` + one column per marker);
    ``True``: one row per marker (``marker`` + one column per sample, the BY x RM layout).
    Cells are allele-state labels (letters or numbers); :data:`MISSING_TOKENS` are missing.
    Line numbers in messages are the file's own (quoted fields may span lines).
    """
    stream = ByteStream(src, limits=limits)
    name = stream.name
    recs = Records(stream, whitespace_ok=True, what="a header line")
    delim = recs.delim
    header = recs.header
    what_col, what_row = ("sample", "marker") if markers_as_rows else ("marker", "sample")
    check_header(header, name, limits, what_col)
    width = len(header) - 1
    if width < 1:
        raise DataError(f"{name}: line 1: expected an id column and at least one {what_col}")
    limits.check_count(name, what_col, width, where=" in the header")
    vocab = _Vocabulary(name)
    ids: list[str] = []
    lines: list[int] = []
    blocks: list[np.ndarray] = []
    chunk: list[tuple[int, bytes | None, list[str] | None]] = []

    def flush() -> None:
        rests: list = []
        for lineno, raw, fields in chunk:
            if raw is not None:
                cut = raw.find(delim)
                if cut >= 0:
                    ids.append(raw[:cut].decode().strip())
                    lines.append(lineno)
                    rests.append(raw[cut + 1 :])
                    continue
                fields = [f.decode().strip() for f in raw.split(delim)]
            if len(fields) != len(header):
                raise DataError(
                    f"{name}: line {lineno} has {len(fields)} fields; expected "
                    f"{len(header)} like the header"
                )
            ids.append(fields[0])
            lines.append(lineno)
            rests.append(fields[1:])
        block = None
        if all(isinstance(r, bytes) for r in rests):
            block = _chunk_codes(rests, width, delim, vocab)
        if block is None:
            tokens: list[str] = []
            first = len(lines) - len(rests)
            for k, r in enumerate(rests):
                fields = r if isinstance(r, list) else [f.decode().strip() for f in r.split(delim)]
                if len(fields) != width:
                    raise DataError(
                        f"{name}: line {lines[first + k]} has {len(fields) + 1} fields; expected "
                        f"{width + 1} like the header (wrong delimiter or a ragged row?)"
                    )
                tokens.extend(fields)
            local, uniques = pd.factorize(np.asarray(tokens, dtype=object), use_na_sentinel=True)
            block = vocab.codes_for(list(uniques))[local].reshape(len(rests), width)
        _store(blocks, block, len(vocab.labels))
        chunk.clear()
        n_rows = len(ids)
        if markers_as_rows:
            limits.check_genotypes(name, width, n_rows, exact=False)
        else:
            limits.check_genotypes(name, n_rows, width, exact=False)

    n_read = 0
    for rec in recs.raw():
        n_read += 1
        # stop at the first row past the limit, before it is even coded
        limits.check_count(name, what_row, n_read, exact=False, where=f" (line {rec[0]:,})")
        chunk.append(rec)
        if len(chunk) >= CHUNK_LINES:
            flush()
    if chunk:
        flush()
    if not ids:
        raise DataError(f"{name}: no data rows below the header")
    gcodes = blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=0)
    blocks.clear()
    check_ids(ids, lines, name, what_row)
    for v, tok in enumerate(vocab.labels):
        if not ALLELE_TOKEN.match(tok):
            i, j = (int(x) for x in np.argwhere(gcodes == v)[0])
            raise DataError(
                f"{name}: line {lines[i]}, column {j + 2} ('{header[j + 1]}'): unknown allele "
                f"code '{tok[:40]}'; expected a short label of letters/digits, or NA/empty "
                "for a missing call"
            )
    if markers_as_rows:
        gcodes = np.ascontiguousarray(gcodes.T)
        samples, markers = header[1:], ids

        def cell(i: int, j: int) -> str:
            return f"line {lines[j]}, column {i + 2}"
    else:
        samples, markers = ids, header[1:]

        def cell(i: int, j: int) -> str:
            return f"line {lines[i]}, column {j + 2}"

    decl = None
    if declared:
        decl = [declared.get(m, ()) for m in markers]
    codes, alleles, notes = encode_states(
        gcodes, vocab.labels, name=name, markers=markers, declared=decl, cell=cell
    )
    return GenotypeTable(
        list(samples), list(markers), codes, alleles, notes, name=name, encoding=stream.encoding
    )
