"""Delimited text, streamed: physical lines with their numbers, and records through a real CSV
parser (Python's ``csv``) wherever a quote appears, so quoted fields may hold delimiters and
newlines and every message names the line the record starts on in the file.

Lines come from a :class:`~gpatlas_core.io._limits.ByteStream` (checked, decompressed, UTF-8).
A record without a quote is split at the delimiter (exactly what a CSV parser does with it);
a record with one is handed to ``csv.reader``, which pulls further lines only while a quoted
field is open. Blank lines are skipped but counted.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from ._dataset import DataError
from ._limits import ByteStream, ReadLimits

__all__ = [
    "MISSING_TOKENS",
    "Records",
    "check_header",
    "check_ids",
    "detect_delimiter",
    "iter_lines",
    "sniff_format",
]

MISSING_TOKENS = frozenset({"", "NA", "na", "N/A", "n/a", "NaN", "nan", ".", "-", "--", "NULL"})
"""Cell values read as a missing call / missing phenotype."""
MAX_LINE_BYTES = 256 * 1024 * 1024
"""A longer line is refused (no delimited table has one; a runaway file might)."""
_DELIMS = (b"\t", b",", b";")


def iter_lines(stream: ByteStream) -> Iterator[tuple[int, bytes]]:
    """``(line number, line)`` for every physical line (1-based, blank lines included), without
    its terminator. ``\\n`` and ``\\r\\n`` end lines; a file with ``\\r`` but no ``\\n``
    (old Mac) is split at ``\\r``."""
    term: bytes | None = None
    buf: list[bytes] = []  # bytes not yet split: before the terminator is known, or a line
    buf_len = 0
    lineno = 0

    def too_long() -> DataError:
        return DataError(
            f"{stream.name}: line {lineno + 1} is longer than {MAX_LINE_BYTES:,} bytes; "
            "refused (is this a delimited text table?)"
        )

    for block in stream:
        if term is None:
            buf.append(block)
            buf_len += len(block)
            if b"\n" in block:
                term = b"\n"
            elif buf_len > 65536 and any(b"\r" in b for b in buf):
                term = b"\r"
            else:
                if buf_len > MAX_LINE_BYTES:
                    raise too_long()
                continue
            block, buf, buf_len = b"".join(buf), [], 0
        if term not in block:
            buf.append(block)
            buf_len += len(block)
            if buf_len > MAX_LINE_BYTES:
                raise too_long()
            continue
        parts = block.split(term)
        if buf:
            parts[0] = b"".join([*buf, parts[0]])
            buf, buf_len = [], 0
        tail = parts.pop()
        for ln in parts:
            if len(ln) > MAX_LINE_BYTES:
                raise too_long()
            lineno += 1
            yield lineno, ln[:-1] if ln.endswith(b"\r") else ln
        if tail:
            buf, buf_len = [tail], len(tail)
    if not buf:
        return
    data = b"".join(buf)
    if term is None:
        term = b"\r" if b"\r" in data and b"\n" not in data else b"\n"
    for ln in data.split(term):
        lineno += 1
        yield lineno, ln[:-1] if ln.endswith(b"\r") else ln


def sniff_format(first: bytes, name: str) -> None:
    """Refuse a VCF, HTML page or JSON document given where a table was expected."""
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


class Records:
    """The non-blank records of a delimited text stream, as ``(line, fields)``.

    ``fields`` are stripped ``str``; ``line`` is the physical line the record starts on. The
    first record is the header (``header`` / ``header_line``), read on construction, with its
    delimiter detected (tab, comma, semicolon, else runs of whitespace when
    ``whitespace_ok``). ``skip_comments`` drops lines starting with ``#``.
    """

    def __init__(
        self,
        stream: ByteStream,
        *,
        whitespace_ok: bool = True,
        skip_comments: bool = False,
        sniff: bool = True,
        what: str = "a header line",
    ) -> None:
        self.name = stream.name
        self.stream = stream
        self.skip_comments = skip_comments
        self._lines = iter_lines(stream)
        first = self._next_line()
        if first is None:
            raise DataError(f"{self.name}: no header line; expected {what}")
        lineno, line = first
        if sniff:
            sniff_format(line, self.name)
        self.delim = detect_delimiter(line[: 1 << 20], self.name, whitespace_ok=whitespace_ok)
        self.header_line = lineno
        self.header = self._fields(lineno, line)

    def _next_line(self) -> tuple[int, bytes] | None:
        for lineno, line in self._lines:
            if not line.strip():
                continue
            if self.skip_comments and line.startswith(b"#"):
                continue
            return lineno, line
        return None

    def _fields(self, lineno: int, line: bytes) -> list[str]:
        d = self.delim
        if d is None:
            return [f.decode() for f in line.split()]
        if b'"' not in line:
            return [f.decode().strip() for f in line.split(d)]
        return self._quoted(lineno, line)

    def _quoted(self, lineno: int, line: bytes) -> list[str]:
        """One record through ``csv.reader``: it pulls lines while a quoted field is open."""
        lines = self._lines

        ended = []

        def feed() -> Iterator[str]:
            yield line.decode() + "\n"
            for _n, more in lines:
                yield more.decode() + "\n"
            ended.append(True)  # asked for more after the last line: a quote left open

        reader = csv.reader(feed(), delimiter=self.delim.decode(), strict=False)
        try:
            row = next(reader)
        except (StopIteration, csv.Error):
            row = None
        if row is None or ended:
            raise DataError(
                f"{self.name}: line {lineno}: a quoted field is not closed before the end of "
                "the file"
            )
        return [f.strip() for f in row]

    def raw(self) -> Iterator[tuple[int, bytes | None, list[str] | None]]:
        """``(line, raw line, None)`` for records without quotes (split by the caller, fast),
        ``(line, None, fields)`` for records the CSV parser read."""
        d = self.delim
        while True:
            nxt = self._next_line()
            if nxt is None:
                return
            lineno, line = nxt
            if d is not None and b'"' in line:
                yield lineno, None, self._quoted(lineno, line)
            elif d is None:
                yield lineno, None, [f.decode() for f in line.split()]
            else:
                yield lineno, line, None

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        d = self.delim
        for lineno, line, fields in self.raw():
            if fields is None:
                fields = [f.decode().strip() for f in line.split(d)]
            yield lineno, fields


def open_records(src, limits: ReadLimits | None = None, **kwargs) -> Records:
    """:class:`Records` of a path or file-like (a checked, decompressed, UTF-8 stream)."""
    return Records(ByteStream(src, limits=limits), **kwargs)


def check_header(fields: list[str], name: str, limits: ReadLimits, what: str) -> None:
    """Column count within ``max_columns``; no empty or repeated column name after the first."""
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


def check_ids(ids: list[str], lines: list[int], name: str, what: str) -> None:
    """No empty and no repeated id; messages name the lines."""
    seen: dict[str, int] = {}
    for i, s in enumerate(ids):
        if not s:
            raise DataError(f"{name}: line {lines[i]}: empty {what} id")
        if s in seen:
            raise DataError(
                f"{name}: {what} id '{s}' appears twice (lines {lines[seen[s]]} and {lines[i]})"
            )
        seen[s] = i
