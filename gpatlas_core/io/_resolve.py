"""One way from what a user names (``yeast``, a folder, files) to a :class:`Dataset`.

Every CLI subcommand and every reload of a run's data goes through :func:`resolve_dataset`, and
the dataset it returns carries in ``source`` a spec that resolves to the same data again (the
folder's absolute path, the shipped sample's folder, or the files' absolute paths as a JSON
list), which is what a run records as ``dataset_source``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from ._bloom import YEAST_SAMPLE_DIR, load_yeast_sample
from ._dataset import DataError, Dataset, MissingPolicy
from ._folder import FOLDER_FILES, _find_file, read_dataset_folder
from ._limits import ReadLimits
from ._match import check_policy
from ._upload import read_layout, read_uploaded, recognise_layout

__all__ = ["DatasetSpec", "describe_spec", "resolve_dataset", "spec_exists"]

DatasetSpec = str | os.PathLike | Sequence[str | os.PathLike]
"""``"yeast"``, a folder, one file, several files, or a recorded source (see the module)."""
YEAST_NAMES = ("yeast", "yeast-sample")


def _is_shipped_sample(path: Path) -> bool:
    """The shipped BY x RM folder, here or as recorded on another machine."""
    try:
        if path.resolve() == YEAST_SAMPLE_DIR.resolve():
            return True
    except OSError:
        pass
    return not path.exists() and path.parts[-2:] == YEAST_SAMPLE_DIR.parts[-2:]


def _items(spec: DatasetSpec) -> list[str]:
    if isinstance(spec, str | os.PathLike):
        text = os.fspath(spec)
        if text.startswith("[") and not Path(text).exists():
            try:
                items = json.loads(text)
            except ValueError:
                raise DataError(f"{text[:80]}: not a file, folder or list of files") from None
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise DataError(f"{text[:80]}: expected a JSON list of file paths")
            return items
        return [text]
    items = [os.fspath(s) for s in spec]
    if len(items) == 1:
        return _items(items[0])
    return items


def _read_folder(path: Path, missing_policy: MissingPolicy, limits: ReadLimits | None) -> Dataset:
    """A folder in any supported layout: the dataset-folder format (``genotypes.csv``, ...),
    or the files of any layout :func:`recognise_layout` knows (other files are ignored)."""
    if _is_shipped_sample(path):
        return load_yeast_sample(missing_policy=missing_policy)
    if _find_file(path, FOLDER_FILES["genotypes"]) is not None:
        return read_dataset_folder(path, missing_policy=missing_policy, limits=limits)
    names = sorted(p.name for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not names:
        raise DataError(f"{path}: the folder is empty; expected a dataset (genotypes.csv, ...)")
    try:
        layout, roles, ignored = recognise_layout(names, strict=False)
    except DataError as err:
        raise DataError(
            f"{path}: {err} (files in the folder: {', '.join(names[:12])}"
            f"{' ...' if len(names) > 12 else ''})"
        ) from None
    get = {role: path / name for role, name in roles.items()}
    ds = read_layout(
        layout, get, missing_policy=missing_policy, limits=limits, folder_name=path.name
    )
    ds.report["layout"] = layout
    if ignored:
        ds.report["ignored_files"] = ignored
    ds.name = path.name
    return ds


def resolve_dataset(
    spec: DatasetSpec,
    *,
    missing_policy: MissingPolicy = "own_state",
    limits: ReadLimits | None = None,
) -> Dataset:
    """Load the dataset ``spec`` names.

    Parameters
    ----------
    spec
        ``"yeast"`` (or ``"yeast-sample"``): the shipped BY x RM sample; a folder in any
        supported layout: the dataset-folder format, a folder holding the BY x RM files (such
        as ``sample_data/yeast_bloom2013/``), a VCF/BCF, PLINK or PLINK 2 file set with a
        phenotype table (other files in it are ignored); one or several files, recognised
        from their names as for uploads; or a source recorded by an earlier resolve (a
        folder path, or a JSON list of file paths).
    missing_policy, limits
        As for every reader.

    Returns
    -------
    Dataset
        With ``source`` set to a spec that resolves to the same data (absolute paths).

    Raises
    ------
    DataError
        Nothing found under that name, an unrecognised set of files, or any reader error.
    """
    check_policy(missing_policy)
    items = _items(spec)
    if not items:
        raise DataError("no data given; expected 'yeast', a dataset folder or files")
    if len(items) == 1:
        text = items[0]
        path = Path(text).expanduser()
        if text.lower() in YEAST_NAMES and not path.exists():
            return load_yeast_sample(missing_policy=missing_policy)
        if path.is_dir() or _is_shipped_sample(path):
            ds = _read_folder(path, missing_policy, limits)
            ds.source = str(path.resolve()) if path.exists() else str(YEAST_SAMPLE_DIR)
            return ds
    paths = [Path(s).expanduser() for s in items]
    for p in paths:
        if not p.is_file():
            raise DataError(
                f"{p}: no such file or folder (expected 'yeast', a dataset folder or files)"
            )
    ds = read_uploaded(paths, missing_policy=missing_policy, limits=limits)
    ds.source = json.dumps([str(p.resolve()) for p in paths])
    return ds


def spec_exists(source: DatasetSpec) -> bool:
    """Whether what ``source`` names is here (the sample always is; paths must exist)."""
    try:
        items = _items(source)
    except DataError:
        return False
    if len(items) == 1 and (items[0].lower() in YEAST_NAMES or _is_shipped_sample(Path(items[0]))):
        return True
    return bool(items) and all(Path(i).expanduser().exists() for i in items)


def describe_spec(source: str) -> str:
    """A short human form of a recorded source (``info`` and messages)."""
    try:
        items = _items(source)
    except DataError:
        return source
    return items[0] if len(items) == 1 else " ".join(items)
