"""A file on disk for the libraries that need one (htslib, bed-reader, pgenlib).

A path is used as it is; an upload (a file-like) is copied, in blocks and within the upload
limit, into a private temporary folder that is removed when the ``with`` block ends, whatever
happens inside it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ._dataset import DataError
from ._limits import ReadLimits, Source, check_stored_size, display_name, open_binary

__all__ = ["TEMP_PREFIX", "local_file"]

TEMP_PREFIX = "gpatlas_upload_"
"""Prefix of the temporary folders uploads are copied into."""
_BLOCK = 1 << 20


@contextmanager
def local_file(src: Source, *, limits: ReadLimits, suffix: str = "") -> Iterator[Path]:
    """``with local_file(src, limits=..., suffix=".bed") as path``: a path to the content.

    Paths are checked (exists, is a file, within ``max_upload_bytes``) and yielded as they
    are. File-likes are copied into ``TEMP_PREFIX*`` under the system temporary folder; the
    copy and its folder are removed on exit, also after an error.
    """
    name = display_name(src)
    check_stored_size(src, limits)
    if isinstance(src, str | os.PathLike):
        path = Path(src)
        if not path.exists():
            raise DataError(f"{name}: file not found ({path})")
        if not path.is_file():
            raise DataError(f"{name}: expected a file, found a folder ({path})")
        yield path
        return
    tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    try:
        path = tmp / f"upload{suffix}"
        fh, owned = open_binary(src, name)
        total = 0
        try:
            with open(path, "wb") as out:
                while True:
                    chunk = fh.read(_BLOCK)
                    if not chunk:
                        break
                    total += len(chunk)
                    if total > limits.max_upload_bytes:
                        raise DataError(
                            f"{name}: larger than the upload limit of "
                            f"{limits.max_upload_bytes:,} bytes; refused"
                        )
                    out.write(chunk)
        finally:
            if owned:
                fh.close()
        if total == 0:
            raise DataError(f"{name}: the file is empty")
        yield path
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
