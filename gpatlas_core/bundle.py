"""Run bundles: a run folder (see :mod:`gpatlas_core.run`) as one zip file, and back.

A bundle holds ``config.json``, ``weights.safetensors``, ``split.csv``, ``losses.csv``,
``allele_columns.csv`` and, when present, ``metrics.json``, ``predictions.csv`` and the
``checkpoint.*`` of a stopped run, under one top folder (``run/``). Reading one accepts only
``.safetensors``, ``.json`` and ``.csv`` members with plain relative paths, within a size
limit; anything else (a pickle, a PyTorch checkpoint, a script, a path outside the bundle) is
refused with a :class:`~gpatlas_core.io.DataError` before anything is unpacked. Nothing is ever
unpickled.
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO

from .io import DataError

if TYPE_CHECKING:
    from .run import Run

__all__ = [
    "ALLOWED_SUFFIXES",
    "MAX_UNPACKED_BYTES",
    "is_bundle",
    "load_run",
    "read_bundle",
    "run_to_zip",
    "write_bundle",
]

ALLOWED_SUFFIXES = frozenset({".safetensors", ".json", ".csv"})
"""The only member types a bundle may contain."""
MAX_UNPACKED_BYTES = 2 * 1024**3
"""Default limit on the total unpacked size of a bundle."""
_TOP = "run"
REQUIRED = ("config.json", "weights.safetensors", "split.csv", "allele_columns.csv", "losses.csv")
"""Members every bundle has (as written by ``Run.save``)."""


def run_to_zip(run: Run) -> bytes:
    """The run folder that ``run.save`` writes, as zip bytes (members under ``run/``)."""
    buf = io.BytesIO()
    write_bundle(run, buf)
    return buf.getvalue()


def write_bundle(run: Run, dest: str | os.PathLike | BinaryIO) -> None:
    """Write ``run`` as a bundle to a path or a binary file-like object."""
    with tempfile.TemporaryDirectory(prefix="gpatlas-bundle-") as tmp:
        folder = Path(tmp) / _TOP
        run.save(folder)
        with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    zf.write(path, PurePosixPath(_TOP, *path.relative_to(folder).parts).as_posix())


def is_bundle(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a file that starts like a zip archive."""
    p = Path(path)
    if not p.is_file():
        return False
    with open(p, "rb") as fh:
        return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def _checked_members(
    zf: zipfile.ZipFile, name: str, max_bytes: int
) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """The members to unpack with their relative paths (one shared top folder stripped)."""
    files = [info for info in zf.infolist() if not info.is_dir()]
    if not files:
        raise DataError(f"{name}: the zip file is empty; expected a G-P Atlas run bundle")
    kept: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    total = 0
    for info in files:
        path = PurePosixPath(info.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or ":" in info.filename:
            raise DataError(
                f"{name}: refusing the member {info.filename!r} (path outside the bundle)"
            )
        if path.name.startswith(".") or "__MACOSX" in path.parts:
            continue  # Finder / editor litter
        if path.suffix.lower() not in ALLOWED_SUFFIXES:
            raise DataError(
                f"{name}: {info.filename!r} is not allowed in a run bundle; expected only "
                ".safetensors, .json and .csv files (nothing is unpickled or executed)"
            )
        total += info.file_size
        if total > max_bytes:
            raise DataError(
                f"{name}: the bundle unpacks to more than the limit of {max_bytes:,} bytes; refused"
            )
        kept.append((info, path))
    tops = {p.parts[0] for _, p in kept}
    strip = len(tops) == 1 and all(len(p.parts) > 1 for _, p in kept)
    return [(info, p.parts[1:] if strip else p.parts) for info, p in kept]


def read_bundle(
    src: str | os.PathLike | bytes | BinaryIO,
    *,
    name: str | None = None,
    max_bytes: int = MAX_UNPACKED_BYTES,
) -> Run:
    """Read a run bundle (zip) written by :func:`run_to_zip` or a zip of any run folder.

    Parameters
    ----------
    src
        A path, the zip bytes, or a binary file-like object (e.g. Streamlit's UploadedFile).
    name
        Display name for messages (default: the file name).
    max_bytes
        Limit on the total unpacked size (each member's declared size, enforced while reading).

    Raises
    ------
    DataError
        Not a zip, a member that is not ``.safetensors``/``.json``/``.csv``, a path outside
        the bundle, too large, or not a readable run.
    """
    from safetensors import SafetensorError

    from .run import Run

    if isinstance(src, bytes | bytearray | memoryview):
        fh: Any = io.BytesIO(bytes(src))
        name = name or "bundle.zip"
    elif isinstance(src, str | os.PathLike):
        if not Path(src).is_file():
            raise DataError(f"{src}: no such file")
        fh = Path(src)
        name = name or Path(src).name
    else:
        fh = src
        name = name or Path(str(getattr(src, "name", "bundle.zip"))).name
        if hasattr(fh, "seek"):
            fh.seek(0)
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError) as err:
        raise DataError(
            f"{name}: not a zip file ({err}); expected a G-P Atlas run bundle"
        ) from None
    with zf, tempfile.TemporaryDirectory(prefix="gpatlas-load-") as tmp:
        root = Path(tmp)
        left = max_bytes
        for info, parts in _checked_members(zf, name, max_bytes):
            target = root.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as member, open(target, "wb") as out:
                    while chunk := member.read(min(1 << 20, left + 1)):
                        left -= len(chunk)
                        if left < 0:
                            raise DataError(
                                f"{name}: the bundle unpacks to more than the limit of "
                                f"{max_bytes:,} bytes; refused"
                            )
                        out.write(chunk)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as err:
                raise DataError(f"{name}: corrupt zip member {info.filename!r} ({err})") from None
        missing = [f for f in REQUIRED if not (root / f).is_file()]
        if missing:
            raise DataError(
                f"{name}: not a readable G-P Atlas run bundle (missing {', '.join(missing)})"
            )
        try:
            return Run.load(root)
        except DataError as err:
            why = str(err).replace(str(root), "the bundle")
            raise DataError(f"{name}: not a readable G-P Atlas run bundle ({why})") from None
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError) as err:
            raise DataError(
                f"{name}: not a readable G-P Atlas run bundle ({type(err).__name__}: {err})"
            ) from None


def load_run(path: str | os.PathLike) -> Run:
    """A run from a run folder or a bundle zip (whichever ``path`` is)."""
    from .run import Run

    p = Path(path)
    if p.is_dir():
        return Run.load(p)
    if is_bundle(p):
        return read_bundle(p)
    if p.exists():
        raise DataError(f"{p}: neither a run folder nor a run bundle (.zip)")
    raise DataError(f"{p}: no such run folder or bundle")
