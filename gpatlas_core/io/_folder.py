"""The dataset-folder format: what ``simulate --out`` writes and what users can prepare by hand.

::

    DIR/genotypes.csv[.gz]        sample + one column per marker; allele labels; NA/empty = missing
    DIR/phenotypes.csv[.gz]       sample + one column per trait; NA/empty = missing
    DIR/markers.csv               optional: marker, chromosome, position[, alleles "0|1|2"]
    DIR/known_qtl.csv             optional: trait, chromosome, position, ci_left, ci_right, ...
    DIR/truth/causal_alleles.csv  optional: marker, allele, trait, weight
    DIR/truth/interactions.csv    optional: trait, marker_a, marker_b, allele
    DIR/dataset.json              optional: {"name": ..., "source": ...}

Tab- or semicolon-separated files are accepted as well as comma-separated ones.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ._dataset import DataError, Dataset, MissingPolicy, Truth
from ._limits import ReadLimits, Source
from ._maps import read_known_qtl, read_markers, read_rows
from ._match import assemble, check_policy
from ._numeric import parse_numeric_table
from ._tables import parse_genotype_table

__all__ = [
    "FOLDER_FILES",
    "dataset_folder_name",
    "dataset_to_zip",
    "read_dataset_folder",
    "read_folder_files",
    "write_dataset_folder",
]

FOLDER_FILES = {
    "genotypes": "genotypes",
    "phenotypes": "phenotypes",
    "markers": "markers",
    "known_qtl": "known_qtl",
    "causal": "truth/causal_alleles",
    "interactions": "truth/interactions",
}
_EXTS = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".txt.gz")


def _find_file(root: Path, stem: str) -> Path | None:
    for ext in _EXTS:
        p = root / f"{stem}{ext}"
        if p.is_file():
            return p
    return None


def _read_truth(causal: Source, interactions: Source | None, limits: ReadLimits) -> Truth:
    cname, header, rows, _lines = read_rows(causal, limits)
    need = ["marker", "allele", "trait", "weight"]
    lower = [h.lower() for h in header]
    if any(c not in lower for c in need):
        raise DataError(f"{cname}: line 1: expected columns {', '.join(need)}")
    idx = [lower.index(c) for c in need]
    try:
        weights = np.array([float(r[idx[3]]) for r in rows], dtype=np.float64)
    except ValueError as err:
        raise DataError(f"{cname}: column 'weight': {err}; expected numbers") from None
    causal_df = pd.DataFrame(
        {
            c: pd.Series([r[i] for r in rows], dtype=object)
            for c, i in zip(need[:3], idx, strict=False)
        }
    )
    causal_df["weight"] = weights
    need_i = ["trait", "marker_a", "marker_b", "allele"]
    if interactions is None:
        inter = pd.DataFrame({c: pd.Series([], dtype=object) for c in need_i})
    else:
        iname, header, rows, _lines = read_rows(interactions, limits)
        lower = [h.lower() for h in header]
        if any(c not in lower for c in need_i):
            raise DataError(f"{iname}: line 1: expected columns {', '.join(need_i)}")
        inter = pd.DataFrame(
            {c: pd.Series([r[lower.index(c)] for r in rows], dtype=object) for c in need_i}
        )
    return Truth(causal=causal_df, interactions=inter)


def read_folder_files(
    files: Mapping[str, Source],
    *,
    missing_policy: MissingPolicy = "own_state",
    limits: ReadLimits | None = None,
    name: str = "dataset",
    source: str = "",
) -> Dataset:
    """Read dataset-folder files given by role (keys of :data:`FOLDER_FILES`)."""
    check_policy(missing_policy)
    limits = limits or ReadLimits()
    for role in ("genotypes", "phenotypes"):
        if role not in files:
            raise DataError(f"a dataset folder needs {role}.csv (or .csv.gz/.tsv); not found")
    markers = None
    declared = None
    if "markers" in files:
        markers = read_markers(files["markers"], limits=limits)
        if "alleles" in markers.columns:
            declared = {
                m: tuple(a.split("|")) if a else ()
                for m, a in zip(markers["marker"], markers["alleles"], strict=True)
            }
            markers = markers.drop(columns="alleles")
    table = parse_genotype_table(
        files["genotypes"], limits=limits, markers_as_rows=False, declared=declared
    )
    ptable = parse_numeric_table(files["phenotypes"], limits=limits)
    qtl = None
    if "known_qtl" in files:
        qtl = read_known_qtl(files["known_qtl"], traits=ptable.columns, limits=limits)
    truth = None
    if "causal" in files:
        truth = _read_truth(files["causal"], files.get("interactions"), limits)
    return assemble(
        table,
        ptable,
        geno_name=table.name,
        pheno_name=ptable.name,
        markers=markers,
        known_qtl=qtl,
        truth=truth,
        missing_policy=missing_policy,
        name=name,
        source=source,
        report={
            "format": "folder",
            "encoding": {table.name: table.encoding, ptable.name: ptable.encoding},
        },
    )


def read_dataset_folder(
    path: str | Path,
    *,
    missing_policy: MissingPolicy = "own_state",
    limits: ReadLimits | None = None,
) -> Dataset:
    """Read a dataset folder (see the module docstring for the layout).

    Parameters
    ----------
    path
        The folder.
    missing_policy
        How missing calls enter the one-hot matrix (see :class:`Dataset`).
    limits
        Size limits (:class:`ReadLimits`).

    Raises
    ------
    DataError
        A missing required file or any malformed content (the message names file and line).
    """
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder; expected a dataset folder with genotypes.csv")
    files = {}
    for role, stem in FOLDER_FILES.items():
        found = _find_file(root, stem)
        if found is not None:
            files[role] = found
    name, source = root.name, str(root)
    meta = root / "dataset.json"
    if meta.is_file():
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
            name = str(info.get("name", name))
        except (ValueError, UnicodeDecodeError) as err:
            raise DataError(f"dataset.json: not valid JSON ({err})") from None
    return read_folder_files(
        files, missing_policy=missing_policy, limits=limits, name=name, source=source
    )


def _quote(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _genotype_lines(ds: Dataset) -> list[str]:
    n, n_loci = ds.genotype_codes.shape
    cells = np.empty((n, n_loci), dtype=object)
    groups: dict[tuple[str, ...], list[int]] = {}
    for j, labs in enumerate(ds.alleles):
        groups.setdefault(tuple(labs), []).append(j)
    for labs, cols in groups.items():
        lut = np.array([*labs, "NA"], dtype=object)  # code -1 picks "NA"
        cells[:, cols] = lut[ds.genotype_codes[:, cols].astype(np.int64)]
    header = ",".join(["sample", *(_quote(str(m)) for m in ds.markers["marker"])])
    lines = [header]
    for sid, row in zip(ds.samples, cells.tolist(), strict=True):
        lines.append(_quote(str(sid)) + "," + ",".join(row))
    return lines


def write_dataset_folder(ds: Dataset, path: str | Path, *, compress: bool = True) -> Path:
    """Write ``ds`` as a dataset folder that :func:`read_dataset_folder` reads back identically.

    Genotypes go to ``genotypes.csv.gz`` (``.csv`` with ``compress=False``); the marker map
    records each marker's allele labels so that absent states survive the round trip.
    Returns the folder path.
    """
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    for a in ds.alleles:
        for lab in a:
            if "|" in lab or "," in lab:
                raise DataError(f"allele label '{lab}' cannot be written (contains '|' or ',')")
    text = ("\n".join(_genotype_lines(ds)) + "\n").encode("utf-8")
    for old in ("genotypes.csv", "genotypes.csv.gz"):
        (root / old).unlink(missing_ok=True)
    if compress:
        (root / "genotypes.csv.gz").write_bytes(gzip.compress(text, compresslevel=6, mtime=0))
    else:
        (root / "genotypes.csv").write_bytes(text)
    ph = pd.DataFrame(ds.phenotypes.astype(np.float64), columns=list(ds.traits))
    ph.insert(0, "sample", list(ds.samples))
    ph.to_csv(root / "phenotypes.csv", index=False, na_rep="NA", float_format="%.9g")
    mk = ds.markers[["marker", "chromosome", "position"]].copy()
    mk["alleles"] = ["|".join(a) for a in ds.alleles]
    mk.to_csv(root / "markers.csv", index=False)
    if ds.known_qtl is not None:
        ds.known_qtl.to_csv(root / "known_qtl.csv", index=False, quoting=csv.QUOTE_MINIMAL)
    if ds.truth is not None:
        (root / "truth").mkdir(exist_ok=True)
        ds.truth.causal[["marker", "allele", "trait", "weight"]].to_csv(
            root / "truth" / "causal_alleles.csv", index=False, float_format="%.17g"
        )
        ds.truth.interactions[["trait", "marker_a", "marker_b", "allele"]].to_csv(
            root / "truth" / "interactions.csv", index=False
        )
    meta = {"format": "gpatlas-dataset", "version": 1, "name": ds.name, "source": ds.source}
    with open(root / "dataset.json", "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2)
    return root


def dataset_folder_name(name: str) -> str:
    """A file-system-safe folder name for a dataset name (``simulation (seed 1)`` ->
    ``simulation_seed_1``)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return slug or "dataset"


def dataset_to_zip(ds: Dataset) -> bytes:
    """The dataset folder of ``ds`` (see :func:`write_dataset_folder`, genotypes uncompressed)
    as a zip holding one folder named after the dataset; the Data page's upload reads it back.
    """
    root = dataset_folder_name(ds.name)
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset_folder(ds, Path(tmp) / root, compress=False)
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    info = zipfile.ZipInfo(path.relative_to(tmp).as_posix(), (1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(info, path.read_bytes())
    return buf.getvalue()
