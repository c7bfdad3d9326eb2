"""Getting bytes in safely: size limits, file-type sniffing, streaming gunzip, text decoding.

Nothing here ever unpickles or executes anything: binary formats are recognised by their
magic bytes and refused with a message.
"""

from __future__ import annotations

import io
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ._dataset import DataError

__all__ = ["Blob", "ReadLimits", "display_name", "read_blob"]

_MiB = 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    """Upper bounds a reader enforces before and while parsing (refusing, not truncating).

    Attributes
    ----------
    max_upload_bytes
        Largest file accepted, as stored (compressed); checked before reading it.
    max_uncompressed_bytes
        Largest decompressed size; gzip is decompressed in a streaming way and stops here.
    max_samples, max_markers
        Largest number of samples and of markers (loci).
    max_columns
        Largest number of columns in any delimited table header.
    """

    max_upload_bytes: int = 1024 * _MiB
    max_uncompressed_bytes: int = 4096 * _MiB
    max_samples: int = 200_000
    max_markers: int = 500_000
    max_columns: int = 500_001


DEFAULT_LIMITS = ReadLimits()

Source = Any
"""A path (str or Path) or a binary file-like object with ``.name`` and ``.read()``/``.getvalue()``."""


@dataclass
class Blob:
    """The decompressed bytes of one input, normalised to UTF-8, with its display name."""

    name: str
    data: bytes
    encoding: str = "utf-8"
    compressed: bool = False


def display_name(src: Source) -> str:
    """A short name for messages: the file name of a path, or the ``.name`` of a file-like."""
    if isinstance(src, str | os.PathLike):
        return Path(src).name
    name = getattr(src, "name", None)
    return Path(str(name)).name if name else "<upload>"


_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a zip archive (e.g. a PyTorch checkpoint, an .xlsx or .npz file)"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
    (b"PAR1", "a Parquet file"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-zip archive"),
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "a Windows executable"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Office document"),
    (b"l\x1b\x01", "a PLINK .bed file"),
    (b"BCF", "a BCF file (convert it to VCF)"),
)


def _binary_kind(head: bytes) -> str | None:
    """Name the binary format of ``head`` (first bytes), or None for plausible text."""
    if len(head) >= 2 and head[0] == 0x80 and 1 <= head[1] <= 5:
        return "a Python pickle (never loaded, for safety)"
    for magic, kind in _BINARY_MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return None  # text with a byte-order mark
    sample = head[:8192]
    if b"\x00" in sample and not _looks_utf16(sample):
        return "binary data (it contains NUL bytes)"
    return None


def _looks_utf16(sample: bytes) -> bool:
    if len(sample) < 4:
        return False
    even, odd = sample[0::2], sample[1::2]
    return even.count(0) > 0.4 * len(even) or odd.count(0) > 0.4 * len(odd)


def _stored_size(src: Source) -> int | None:
    if isinstance(src, str | os.PathLike):
        return os.path.getsize(src)
    size = getattr(src, "size", None)
    if isinstance(size, int):
        return size
    getbuffer = getattr(src, "getbuffer", None)
    if getbuffer is not None:
        try:
            return getbuffer().nbytes
        except (TypeError, ValueError):
            pass
    if hasattr(src, "seek") and hasattr(src, "tell"):
        try:
            pos = src.tell()
            src.seek(0, io.SEEK_END)
            end = src.tell()
            src.seek(pos)
            return end
        except (OSError, ValueError):
            return None
    return None


def _open_binary(src: Source, name: str) -> tuple[BinaryIO, bool]:
    """A binary handle positioned at the start; bool = we opened it (and must close it)."""
    if isinstance(src, str | os.PathLike):
        path = Path(src)
        if not path.exists():
            raise DataError(f"{name}: file not found ({path})")
        if path.is_dir():
            raise DataError(f"{name}: expected a file, found a folder ({path})")
        return open(path, "rb"), True
    if isinstance(src, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(src)), True
    if hasattr(src, "seek"):
        try:
            src.seek(0)
        except (OSError, ValueError):
            pass
    if not hasattr(src, "read"):
        raise DataError(f"{name}: expected a file path or an uploaded file")
    return src, False


def _read_capped(fh: BinaryIO, cap: int, name: str, what: str) -> bytes:
    chunks, total = [], 0
    while True:
        chunk = fh.read(_MiB)
        if not chunk:
            break
        if isinstance(chunk, str):
            raise DataError(f"{name}: expected binary file content, got text")
        total += len(chunk)
        if total > cap:
            raise DataError(f"{name}: {what} larger than the limit of {cap:,} bytes; refused")
        chunks.append(chunk)
    return b"".join(chunks)


def _gunzip(raw: bytes, cap: int, name: str) -> bytes:
    """Decompress all gzip members of ``raw``, streaming, stopping past ``cap`` bytes."""
    out: list[bytes] = []
    total = 0
    data = raw
    while data:
        dec = zlib.decompressobj(wbits=31)
        pos = 0
        while pos < len(data) and not dec.eof:
            piece = data[pos : pos + _MiB]
            pos += len(piece)
            try:
                chunk = dec.decompress(piece, cap + 1 - total)
                while True:
                    total += len(chunk)
                    if total > cap:
                        raise DataError(
                            f"{name}: decompresses to more than the limit of {cap:,} bytes "
                            "(possibly a gzip bomb); refused"
                        )
                    out.append(chunk)
                    if not dec.unconsumed_tail:
                        break
                    chunk = dec.decompress(dec.unconsumed_tail, cap + 1 - total)
            except zlib.error as err:
                raise DataError(f"{name}: corrupt gzip data ({err})") from None
        if not dec.eof:
            raise DataError(f"{name}: truncated gzip file (the stream ends early)")
        rest = dec.unused_data + data[pos:]
        data = rest if rest.startswith(b"\x1f\x8b") else b""
    return b"".join(out)


def _decode(data: bytes, name: str) -> tuple[bytes, str]:
    """Return UTF-8 bytes and the encoding they were read in."""
    if data.startswith(b"\xef\xbb\xbf"):
        data, enc = data[3:], "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_utf16(data[:8192]):
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            enc = "utf-16"
        else:
            enc = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
        try:
            return data.decode(enc).encode("utf-8"), enc
        except UnicodeDecodeError as err:
            raise DataError(
                f"{name}: looks like UTF-16 text but cannot be decoded ({err})"
            ) from None
    else:
        enc = "utf-8"
    try:
        data.decode("utf-8")
        return data, enc
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace").encode("utf-8"), "cp1252"


def read_blob(src: Source, *, limits: ReadLimits | None = None, text: bool = True) -> Blob:
    """Read one input fully into memory as checked, decompressed (and, for text, UTF-8) bytes.

    Parameters
    ----------
    src
        A path or a binary file-like object (Streamlit UploadedFile, BytesIO, ...).
    limits
        Size limits; :data:`DEFAULT_LIMITS` when None.
    text
        Whether the content must be text (binary formats are then refused by magic bytes).

    Raises
    ------
    DataError
        Missing, empty, too large, corrupt, or binary where text was expected.
    """
    limits = limits or DEFAULT_LIMITS
    name = display_name(src)
    size = _stored_size(src)
    if size is not None and size > limits.max_upload_bytes:
        raise DataError(
            f"{name}: {size:,} bytes is larger than the upload limit of "
            f"{limits.max_upload_bytes:,} bytes; refused"
        )
    fh, owned = _open_binary(src, name)
    try:
        raw = _read_capped(fh, limits.max_upload_bytes, name, "file is")
    finally:
        if owned:
            fh.close()
    if not raw:
        raise DataError(f"{name}: the file is empty")
    compressed = raw.startswith(b"\x1f\x8b")
    data = _gunzip(raw, limits.max_uncompressed_bytes, name) if compressed else raw
    if compressed and data.startswith(b"\x1f\x8b"):
        raise DataError(f"{name}: gzip inside gzip is not supported; decompress it once")
    if not data:
        raise DataError(f"{name}: the file is empty after decompression")
    if len(data) > limits.max_uncompressed_bytes:
        raise DataError(
            f"{name}: {len(data):,} bytes is larger than the limit of "
            f"{limits.max_uncompressed_bytes:,} bytes; refused"
        )
    if not text:
        return Blob(name, data, "binary", compressed)
    kind = _binary_kind(data[:16384])
    if kind is not None:
        raise DataError(f"{name}: this is {kind}, not a text table; expected delimited text")
    utf8, enc = _decode(data, name)
    if not utf8.strip():
        raise DataError(f"{name}: the file contains no data (only whitespace)")
    return Blob(name, utf8, enc, compressed)
