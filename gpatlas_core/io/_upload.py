"""Uploaded files (the app's Data page): recognise the layout from the file names and read it."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePath
from typing import Any

from ._bloom import read_bloom
from ._dataset import DataError, Dataset, MissingPolicy
from ._folder import read_folder_files
from ._limits import ReadLimits, read_blob
from ._match import check_policy
from ._pgen import read_pgen
from ._plink import read_plink
from ._vcf import read_vcf

__all__ = ["read_layout", "read_uploaded", "recognise_layout"]

_TABLE_EXTS = (".csv", ".tsv", ".txt", ".tab", ".pheno", ".phen")
_FOLDER_STEMS = {
    "genotypes": "genotypes",
    "phenotypes": "phenotypes",
    "markers": "markers",
    "known_qtl": "known_qtl",
    "causal_alleles": "causal",
    "interactions": "interactions",
}


class _NamedFile(io.RawIOBase):
    """A binary file-like with a display name, wrapping another (for ``(name, file)`` pairs)."""

    def __init__(self, name: str, fh: Any) -> None:
        super().__init__()
        self.name = name
        self._fh = fh
        if hasattr(fh, "size"):
            self.size = fh.size

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._fh.read(size)

    def seek(self, pos: int, whence: int = 0) -> int:
        return self._fh.seek(pos, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def getbuffer(self) -> memoryview:
        return self._fh.getbuffer()


def _as_named(item: Any) -> Any:
    if isinstance(item, str | os.PathLike):
        return Path(item)
    if isinstance(item, tuple):
        name, fh = item
        if isinstance(fh, bytes | bytearray):
            fh = io.BytesIO(bytes(fh))
        return _NamedFile(str(name), fh)
    if not getattr(item, "name", None):
        raise DataError("an uploaded file has no name; expected (name, file) pairs")
    return item


ZIP_MAX_MEMBERS = 64
"""Most files an uploaded zip may hold (a dataset folder has at most eight)."""


def _is_zip(f: Any) -> bool:
    return PurePath(str(f.name)).name.lower().endswith(".zip")


def _expand_zip(f: Any, limits: ReadLimits) -> tuple[list[_NamedFile], str | None]:
    """The files inside an uploaded zip (folders flattened) and the name in its dataset.json.

    Checked before anything is extracted: the zip's own size, the number of members and their
    total declared size; each member is then read with a cap, so a zip whose headers lie about
    sizes stops at the limit too.
    """
    zname = PurePath(str(f.name)).name
    blob = read_blob(f, limits=limits, text=False)
    try:
        zf = zipfile.ZipFile(io.BytesIO(blob.data))
    except zipfile.BadZipFile:
        raise DataError(f"{zname}: not a valid zip file") from None
    with zf:
        members = [
            m
            for m in zf.infolist()
            if not m.is_dir()
            and not m.filename.startswith("__MACOSX/")
            and not PurePath(m.filename).name.startswith(".")
        ]
        if not members:
            raise DataError(f"{zname}: the zip holds no files")
        if len(members) > ZIP_MAX_MEMBERS:
            raise DataError(
                f"{zname}: {len(members)} files in the zip, more than {ZIP_MAX_MEMBERS}; refused"
            )
        cap = limits.max_uncompressed_bytes
        if sum(m.file_size for m in members) > cap:
            raise DataError(
                f"{zname}: its files add up to more than the limit of {cap:,} bytes; refused"
            )
        out, total, name = [], 0, None
        for m in members:
            inner = PurePath(m.filename).name
            if inner.lower().endswith(".zip"):
                raise DataError(f"{zname}: a zip inside a zip ({inner}) is not supported")
            try:
                with zf.open(m) as fh:
                    data = fh.read(cap - total + 1)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError) as err:
                raise DataError(f"{zname}: cannot read {m.filename} ({err})") from None
            total += len(data)
            if total > cap:
                raise DataError(
                    f"{zname}: its files add up to more than the limit of {cap:,} bytes; refused"
                )
            if inner.lower() == "dataset.json":
                try:
                    name = str(json.loads(data.decode("utf-8")).get("name") or "") or None
                except (ValueError, UnicodeDecodeError, AttributeError):
                    name = None
            out.append(_NamedFile(inner, io.BytesIO(data)))
    return out, name or PurePath(zname).stem


def _kind(name: str) -> tuple[str, str]:
    """(stem, extension) of a file name, lower case, ignoring a trailing .gz/.bgz."""
    low = PurePath(name).name.lower()
    for comp in (".gz", ".bgz"):
        if low.endswith(comp):
            low = low[: -len(comp)]
    stem, dot, ext = low.rpartition(".")
    return (stem, "." + ext) if dot else (low, "")


def recognise_layout(
    names: Iterable[str], *, strict: bool = True
) -> tuple[str, dict[str, str], list[str]]:
    """Which layout a set of file names forms: ``(layout, {role: name}, ignored names)``.

    Layouts: ``"plink"`` (.bed/.bim/.fam + a phenotype table), ``"pgen"`` (PLINK 2
    .pgen/.pvar/.psam + a phenotype table), ``"vcf"`` (.vcf[.gz] or .bcf + a phenotype
    table), ``"bloom"`` (``*GenoData*`` + ``*PhenoData*``), ``"folder"`` (``genotypes.csv`` +
    ``phenotypes.csv`` [+ markers, known_qtl, causal_alleles, interactions]). A known-QTL
    table is recognised by ``qtl`` in its name. ``strict=False`` (a folder's listing) ignores
    files of other types instead of refusing them.
    """
    roles: dict[str, str] = {}
    tables: list[str] = []
    ignored: list[str] = []

    def put(role: str, name: str) -> None:
        if role in roles:
            raise DataError(f"two files for the same role ({role}): {roles[role]} and {name}")
        roles[role] = name

    for name in names:
        stem, ext = _kind(name)
        if ext in (".bed", ".bim", ".fam", ".pgen", ".pvar", ".psam"):
            put(ext[1:], name)
        elif ext in (".vcf", ".bcf"):
            put("vcf", name)
        elif ext in _TABLE_EXTS:
            if "genodata" in stem:
                put("bloom_geno", name)
            elif "phenodata" in stem:
                put("bloom_pheno", name)
            elif stem in _FOLDER_STEMS:
                put(_FOLDER_STEMS[stem], name)
            elif "qtl" in stem:
                put("known_qtl", name)
            else:
                tables.append(name)
        elif (ext == ".json" and stem == "dataset") or not strict:
            ignored.append(name)
        else:
            raise DataError(
                f"{PurePath(name).name}: unsupported file type; expected .csv/.tsv/.txt "
                "tables (optionally .gz), .vcf/.vcf.gz/.bcf, a PLINK .bed/.bim/.fam trio or a "
                "PLINK 2 .pgen/.pvar/.psam trio"
            )
    if any(r in roles for r in ("pgen", "pvar", "psam")):
        absent = [f".{r}" for r in ("pgen", "pvar", "psam") if r not in roles]
        if absent:
            raise DataError(
                f"PLINK 2 data needs .pgen, .pvar and .psam; missing {', '.join(absent)}"
            )
        layout = "pgen"
    elif any(r in roles for r in ("bed", "bim", "fam")):
        absent = [f".{r}" for r in ("bed", "bim", "fam") if r not in roles]
        if absent:
            raise DataError(f"PLINK data needs .bed, .bim and .fam; missing {', '.join(absent)}")
        layout = "plink"
    elif "vcf" in roles:
        layout = "vcf"
    elif "bloom_geno" in roles or "bloom_pheno" in roles:
        if not ("bloom_geno" in roles and "bloom_pheno" in roles):
            raise DataError("the BY x RM layout needs both a *GenoData* and a *PhenoData* file")
        layout = "bloom"
    elif "genotypes" in roles:
        layout = "folder"
    else:
        raise DataError(
            "cannot tell the layout from the file names; expected genotypes.csv + "
            "phenotypes.csv, a .vcf/.bcf + a phenotype table, a PLINK .bed/.bim/.fam or "
            "PLINK 2 .pgen/.pvar/.psam + a phenotype table, or *GenoData* + *PhenoData* files"
        )
    if layout in ("plink", "pgen", "vcf"):
        if "phenotypes" in roles:
            tables = [roles.pop("phenotypes"), *tables]
        if not tables:
            label = {"plink": "PLINK", "pgen": "PLINK 2", "vcf": "VCF"}[layout]
            raise DataError(f"{label} genotypes need a phenotype table (.csv/.tsv/.txt)")
        if len(tables) > 1:
            phen = [t for t in tables if "phen" in t.lower()]
            if len(phen) != 1:
                raise DataError(
                    f"several tables could be the phenotype table ({', '.join(tables)}); "
                    "name one of them phenotypes.csv"
                )
            tables.remove(phen[0])
            ignored.extend(tables)
            tables = phen
        roles["phenotypes"] = tables[0]
    else:
        ignored.extend(tables)
    return layout, roles, ignored


def read_uploaded(
    files: list[Any],
    *,
    missing_policy: MissingPolicy = "own_state",
    limits: ReadLimits | None = None,
) -> Dataset:
    """Read a set of uploaded files, recognising the layout from their names.

    Parameters
    ----------
    files
        File-likes with ``.name`` and ``.read()``/``.getvalue()`` (Streamlit UploadedFile),
        ``(name, binary file-like or bytes)`` pairs, or paths. A ``.zip`` (for example a
        dataset folder the app offered for download) stands for the files inside it, folders
        flattened; a dataset folder read from a zip is named by its ``dataset.json`` (else the
        zip's name).
    missing_policy, limits
        As for the other readers; each file is checked against ``limits.max_upload_bytes``
        before it is read.

    Raises
    ------
    DataError
        An unrecognised set of files, an unsupported type, or any reader error.
    """
    check_policy(missing_policy)
    limits = limits or ReadLimits()
    if not files:
        raise DataError("no files uploaded")
    named, zip_name = [], None
    for f in map(_as_named, files):
        if _is_zip(f):
            inner, zip_name = _expand_zip(f, limits)
            named.extend(inner)
        else:
            named.append(f)
    by_name = {}
    for f in named:
        key = PurePath(str(f.name)).name
        if key in by_name:
            raise DataError(f"two uploaded files are named {key}")
        by_name[key] = f
    layout, roles, ignored = recognise_layout(by_name)
    get = {role: by_name[name] for role, name in roles.items()}
    ds = read_layout(
        layout,
        get,
        missing_policy=missing_policy,
        limits=limits,
        folder_name=zip_name or _name_from_files(roles),
        folder_source="upload: " + ", ".join(sorted(roles.values())),
    )
    ds.report["layout"] = layout
    if ignored:
        ds.report["ignored_files"] = ignored
    return ds


def _name_from_files(roles: dict[str, str]) -> str:
    """A dataset read from uploaded files is named after them: the genotype table's stem, or
    the files themselves when that stem says nothing (``genotypes.csv + phenotypes.csv``)."""
    geno = roles.get("genotypes")
    if geno:
        stem = PurePath(geno).name
        for suffix in (".gz", ".csv", ".tsv", ".txt"):
            stem = stem.removesuffix(suffix)
        if stem and stem.lower() not in ("genotypes", "genotype", "geno"):
            return stem
    return " + ".join(sorted(roles.values())) or "uploaded dataset"


def read_layout(
    layout: str,
    get: dict[str, Any],
    *,
    missing_policy: MissingPolicy = "own_state",
    limits: ReadLimits | None = None,
    folder_name: str = "dataset",
    folder_source: str = "",
) -> Dataset:
    """Read the files of a recognised layout (``get``: role -> path or file-like)."""
    if layout == "plink":
        return read_plink(
            get["bed"],
            get["bim"],
            get["fam"],
            get["phenotypes"],
            known_qtl=get.get("known_qtl"),
            missing_policy=missing_policy,
            limits=limits,
        )
    if layout == "pgen":
        return read_pgen(
            get["pgen"],
            get["pvar"],
            get["psam"],
            get["phenotypes"],
            known_qtl=get.get("known_qtl"),
            missing_policy=missing_policy,
            limits=limits,
        )
    if layout == "vcf":
        return read_vcf(
            get["vcf"],
            get["phenotypes"],
            known_qtl=get.get("known_qtl"),
            missing_policy=missing_policy,
            limits=limits,
        )
    if layout == "bloom":
        return read_bloom(
            get["bloom_geno"],
            get["bloom_pheno"],
            known_qtl=get.get("known_qtl"),
            missing_policy=missing_policy,
            limits=limits,
        )
    return read_folder_files(
        get,
        missing_policy=missing_policy,
        limits=limits,
        name=folder_name,
        source=folder_source,
    )
