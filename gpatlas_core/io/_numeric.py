"""Numeric tables (phenotypes): an id column, then one numeric column per trait."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._dataset import DataError
from ._limits import ByteStream, ReadLimits, Source
from ._text import MISSING_TOKENS, Records, check_header, check_ids

__all__ = ["NumericTable", "parse_numeric_table"]


@dataclass
class NumericTable:
    """A numeric matrix with row ids and column names (float32, NaN = missing)."""

    ids: list[str]
    columns: list[str]
    values: np.ndarray
    name: str = ""
    encoding: str = "utf-8"


def parse_numeric_table(
    src: Source,
    *,
    limits: ReadLimits,
    what: str = "trait",
    skip_columns: tuple[str, ...] = (),
    extra_missing: tuple[str, ...] = (),
) -> NumericTable:
    """Parse a phenotype-like table: an id column, then numeric columns (NA/empty = missing).

    Infinite values are an error (they are almost always an export bug); so are non-numeric
    cells and a column without any value. Columns named in ``skip_columns`` (case-insensitive,
    e.g. PLINK's ``FID``) are dropped; with ``FID`` and ``IID``, ``IID`` is the id.
    """
    stream = ByteStream(src, limits=limits)
    name = stream.name
    recs = Records(stream, whitespace_ok=True)
    header = recs.header
    check_header(header, name, limits, what)
    if len(header) < 2:
        raise DataError(f"{name}: line 1: expected an id column and at least one {what} column")
    rows = []
    row_lines = []
    for k, fields in recs:
        if len(fields) != len(header):
            raise DataError(
                f"{name}: line {k} has {len(fields)} fields; expected {len(header)} like the "
                "header (wrong delimiter or a ragged row?)"
            )
        rows.append(fields)
        row_lines.append(k)
        limits.check_count(name, "sample", len(rows), exact=False, where=f" (line {k:,})")
    if not rows:
        raise DataError(f"{name}: no data rows below the header")
    skip = {s.lower() for s in skip_columns}
    id_col = 0
    lower = [h.lower() for h in header]
    if "iid" in lower and "fid" in lower:
        id_col = lower.index("iid")
    keep = [c for c in range(len(header)) if c != id_col and lower[c] not in skip]
    if not keep:
        raise DataError(f"{name}: no {what} columns besides the id column")
    ids = [r[id_col] for r in rows]
    check_ids(ids, row_lines, name, "sample")
    cells = np.array([[r[c] for c in keep] for r in rows], dtype=object)
    flat = pd.Series(cells.ravel(), dtype=object)
    missing = flat.isin(MISSING_TOKENS | set(extra_missing)).to_numpy()
    values = pd.to_numeric(flat.where(~missing, None), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(np.isnan(values) & ~missing)
    if bad.size:
        i, j = divmod(int(bad[0]), len(keep))
        raise DataError(
            f"{name}: line {row_lines[i]}, column {keep[j] + 1} ('{header[keep[j]]}'): '{cells.ravel()[bad[0]]}'"
            " is not a number; expected a numeric value or NA/empty for missing"
        )
    inf = np.flatnonzero(np.isinf(values))
    if inf.size:
        i, j = divmod(int(inf[0]), len(keep))
        raise DataError(
            f"{name}: line {row_lines[i]}, column {keep[j] + 1} ('{header[keep[j]]}'): infinite value; "
            "expected a finite number (write NA for a missing measurement)"
        )
    values = values.reshape(len(rows), len(keep))
    big = np.flatnonzero(np.abs(values.ravel()) > np.finfo(np.float32).max)
    if big.size:
        i, j = divmod(int(big[0]), len(keep))
        raise DataError(
            f"{name}: line {row_lines[i]}, column {keep[j] + 1} ('{header[keep[j]]}'): value too large "
            "for single precision; rescale the trait"
        )
    values = values.astype(np.float32)
    return NumericTable(ids, [header[c] for c in keep], values, name, stream.encoding)
