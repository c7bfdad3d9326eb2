"""Run bundles: a zip of a run folder (config, weights as safetensors, metrics, predictions).

Loading accepts only ``.safetensors``, ``.json`` and ``.csv`` members and never unpickles.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from gpatlas_core.io import DataError

ALLOWED_SUFFIXES = frozenset({".safetensors", ".json", ".csv"})
MAX_UNPACKED_BYTES = 2 * 1024**3


def run_to_zip(run) -> bytes:
    """The run folder written by ``run.save`` as zip bytes (members under ``run/``)."""
    with tempfile.TemporaryDirectory(prefix="gpatlas-bundle-") as tmp:
        folder = Path(tmp) / "run"
        run.save(folder)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    zf.write(path, PurePosixPath("run", *path.relative_to(folder).parts).as_posix())
        return buf.getvalue()


def _members(zf: zipfile.ZipFile, name: str) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    files = [info for info in zf.infolist() if not info.is_dir()]
    if not files:
        raise DataError(f"{name}: the zip file is empty")
    paths = []
    total = 0
    for info in files:
        path = PurePosixPath(info.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts:
            raise DataError(
                f"{name}: refusing the member {info.filename!r} (path outside the bundle)"
            )
        if path.name.startswith(".") or "__MACOSX" in path.parts:
            continue
        if path.suffix.lower() not in ALLOWED_SUFFIXES:
            raise DataError(
                f"{name}: {info.filename!r} is not allowed in a run bundle "
                "(only .safetensors, .json and .csv files)"
            )
        total += info.file_size
        paths.append((info, path))
    if total > MAX_UNPACKED_BYTES:
        raise DataError(f"{name}: the bundle unpacks to more than {MAX_UNPACKED_BYTES >> 30} GB")
    return paths


def run_from_zip(data: bytes, *, name: str = "bundle.zip"):
    """Read a run bundle made by :func:`run_to_zip` (or a zip of any run folder)."""
    from gpatlas_core.run import Run

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as err:
        raise DataError(f"{name}: not a zip file ({err})") from err
    with zf, tempfile.TemporaryDirectory(prefix="gpatlas-load-") as tmp:
        members = _members(zf, name)
        # A single top folder (as written by run_to_zip or by zipping a folder) is stripped.
        tops = {p.parts[0] for _, p in members if len(p.parts) > 1}
        strip = len(tops) == 1 and all(len(p.parts) > 1 for _, p in members)
        root = Path(tmp)
        for info, path in members:
            parts = path.parts[1:] if strip else path.parts
            target = root.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as dst:
                dst.write(src.read(MAX_UNPACKED_BYTES + 1))
        try:
            return Run.load(root)
        except DataError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise DataError(f"{name}: not a readable G-P Atlas run bundle ({err})") from err
