"""Marker groups for the knowledge-informed (BINN-style) genotype encoder: a ``marker,group``
table (genes, pathways, linkage blocks) or windows of the marker map (``windows:50kb``).

Markers a group file does not list each get a group of their own, named after the marker: the
encoder then never pools a marker with others the file did not put it with (an "ungrouped"
catch-all group would make unrelated markers share units)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ._dataset import DataError, Dataset
from ._limits import ReadLimits, Source
from ._maps import _find, read_rows

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(bp|b|kb|k|mb|m)?\s*$", re.IGNORECASE)
_UNIT = {None: 1, "b": 1, "bp": 1, "k": 1_000, "kb": 1_000, "m": 1_000_000, "mb": 1_000_000}


@dataclass
class MarkerGroups:
    """``group`` (int64, one per marker of the dataset, in its order) indexes ``names``;
    ``spec`` says how the groups were made (``windows:50kb``, a file name)."""

    names: list[str]
    group: np.ndarray
    spec: str

    @property
    def n_groups(self) -> int:
        return len(self.names)

    def column_groups(self, dataset: Dataset) -> np.ndarray:
        """The group of every one-hot allele column (int64)."""
        locus = dataset.allele_columns["locus"].to_numpy()
        return self.group[locus].astype(np.int64)

    def table(self, markers: pd.Series | np.ndarray) -> pd.DataFrame:
        """``marker, group`` for the markers (dataset order)."""
        return pd.DataFrame(
            {"marker": np.asarray(markers).astype(str), "group": np.asarray(self.names)[self.group]}
        )


def parse_size(text: str) -> int:
    """Base pairs of a window size: ``50kb``, ``1mb``, ``20000``, ``2.5kb``."""
    m = _SIZE.match(str(text))
    if not m:
        raise DataError(f"window size {text!r}: expected a number of bp, e.g. 50kb, 1mb or 20000")
    bp = float(m.group(1)) * _UNIT[m.group(2).lower() if m.group(2) else None]
    if bp < 1:
        raise DataError(f"window size {text!r}: must be at least 1 bp")
    return round(bp)


def _from_labels(markers: np.ndarray, labels: list[str | None], spec: str) -> MarkerGroups:
    """Groups in order of first appearance; a marker without a label gets its own group."""
    names: list[str] = []
    index: dict[str, int] = {}
    group = np.empty(len(markers), dtype=np.int64)
    for i, (marker, label) in enumerate(zip(markers, labels, strict=True)):
        key = str(marker) if label is None else str(label)
        if key not in index:
            index[key] = len(names)
            names.append(key)
        group[i] = index[key]
    return MarkerGroups(names=names, group=group, spec=spec)


def window_groups(markers: pd.DataFrame, size: int | str) -> MarkerGroups:
    """Windows of ``size`` bp along each chromosome of a marker map (``marker, chromosome,
    position``): window ``chr:start-end`` holds the markers with ``start <= position < end``,
    ``start`` a multiple of ``size``. Markers of unknown position (-1) get their own group."""
    bp = parse_size(size) if isinstance(size, str) else int(size)
    if bp < 1:
        raise DataError("window size must be at least 1 bp")
    pos = markers["position"].to_numpy(dtype=np.int64)
    if len(pos) and (pos < 0).all():
        raise DataError(
            "windows need marker positions: this dataset has no marker map "
            "(add markers.csv with marker, chromosome, position)"
        )
    chrom = markers["chromosome"].astype(str).to_numpy()
    labels: list[str | None] = []
    for c, p in zip(chrom, pos, strict=True):
        if p < 0:
            labels.append(None)
        else:
            start = (p // bp) * bp
            labels.append(f"{c}:{start}-{start + bp}")
    label = f"{bp // 1000}kb" if bp % 1000 == 0 else str(bp)
    return _from_labels(markers["marker"].to_numpy(), labels, f"windows:{label}")


def read_groups(
    src: Source, markers: pd.Series | np.ndarray, *, limits: ReadLimits | None = None
) -> MarkerGroups:
    """A ``marker,group`` table for the dataset's ``markers``. Markers it does not list get
    their own group; markers it lists that the dataset lacks, a marker listed twice, or an
    empty group name are refused with a :class:`DataError` naming them."""
    limits = limits or ReadLimits()
    name, header, rows, lines = read_rows(src, limits)
    c_m = _find(header, "marker", "markerid", "snp", "id")
    c_g = _find(header, "group", "gene", "pathway", "block", "window")
    if c_m is None or c_g is None:
        raise DataError(
            f"{name}: line 1: expected columns marker, group; found {', '.join(header[:10])}"
        )
    known = {str(m) for m in np.asarray(markers)}
    assigned: dict[str, str] = {}
    unknown: list[str] = []
    for row, line in zip(rows, lines, strict=True):
        marker, group = row[c_m].strip(), row[c_g].strip()
        if not group:
            raise DataError(f"{name}: line {line}: marker {marker!r} has an empty group")
        if marker not in known:
            unknown.append(marker)
            continue
        if marker in assigned:
            raise DataError(f"{name}: line {line}: marker {marker!r} appears twice")
        assigned[marker] = group
    if unknown:
        shown = ", ".join(map(repr, unknown[:10])) + (" ..." if len(unknown) > 10 else "")
        raise DataError(f"{name}: {len(unknown)} marker(s) not in the dataset: {shown}")
    if not assigned:
        raise DataError(f"{name}: no markers listed")
    ms = np.asarray(markers).astype(str)
    return _from_labels(ms, [assigned.get(m) for m in ms], Path(name).name)


def resolve_groups(dataset: Dataset, spec: str | MarkerGroups) -> MarkerGroups:
    """``windows:<size>`` (from the dataset's marker map) or the path of a ``marker,group``
    CSV as :class:`MarkerGroups` for ``dataset`` (a MarkerGroups passes through, checked)."""
    if isinstance(spec, MarkerGroups):
        if spec.group.shape != (dataset.n_loci,):
            raise DataError(
                f"groups for {spec.group.shape[0]} markers; the dataset has {dataset.n_loci}"
            )
        return spec
    text = str(spec).strip()
    if text.lower().startswith("windows:"):
        return window_groups(dataset.markers, text.split(":", 1)[1])
    path = Path(text)
    if not path.is_file():
        raise DataError(
            f"groups {text!r}: not a file; give a marker,group CSV or windows:<size> (e.g. "
            "windows:50kb)"
        )
    return read_groups(path, dataset.markers["marker"])
