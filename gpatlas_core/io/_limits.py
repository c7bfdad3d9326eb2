"""Getting bytes in safely: size limits, file-type sniffing, streaming gunzip, text decoding.

Every input is read as a stream of blocks (:class:`ByteStream`): a gzipped file is
decompressed block by block and stops at the decompression limit, text is sniffed for binary
formats in its first bytes and normalised to UTF-8 as it goes, so no reader ever holds a whole
decompressed file. Nothing here ever unpickles or executes anything: binary formats are
recognised by their magic bytes and refused with a message.
"""

from __future__ import annotations

import codecs
import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from ._dataset import DataError
from ._memory import genotype_budget

__all__ = ["Blob", "ByteStream", "ReadLimits", "display_name", "read_blob"]

_MiB = 1024 * 1024
_GiB = 1024 * _MiB
_BLOCK = _MiB
_SNIFF = 16384


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
    max_genotype_bytes
        Largest compact genotype matrix (samples x markers, one byte each). None: an eighth
        of the memory this process may use (:func:`~gpatlas_core.io.usable_memory`), since
        training needs several times the matrix. Checked from the headers (``.fam``/``.bim``,
        ``.psam``/``.pvar``, VCF header and record count) before the genotypes are parsed,
        and while a table is read, so a file that would not fit is refused early.
    """

    max_upload_bytes: int = 64 * _GiB
    max_uncompressed_bytes: int = 512 * _GiB
    max_samples: int = 200_000
    max_markers: int = 500_000
    max_columns: int = 500_001
    max_genotype_bytes: int | None = None

    def genotype_budget(self) -> tuple[int, str]:
        """``(bytes, why)``: the genotype-matrix limit and where it comes from, for messages."""
        if self.max_genotype_bytes is not None:
            return int(self.max_genotype_bytes), "the reader's limit"
        return genotype_budget()

    def check_count(
        self,
        name: str,
        what: Literal["sample", "marker"],
        count: int,
        *,
        exact: bool = True,
        where: str = "",
    ) -> None:
        """Refuse ``count`` samples or markers above ``max_samples`` / ``max_markers``
        (``exact=False``: the count read so far, the reader stops there; ``where`` says where,
        e.g. ``" (line 4)"``)."""
        limit = self.max_samples if what == "sample" else self.max_markers
        if count > limit:
            what_s = f"{what}s"
            raise DataError(
                f"{name}: {'' if exact else 'at least '}{count:,} {what_s}{where}, more than the "
                f"limit of {limit:,} {what_s}; refused"
                + ("" if exact else " before reading the rest")
            )

    def check_genotypes(self, name: str, n: int, n_loci: int, *, exact: bool = True) -> None:
        """Refuse ``n`` samples x ``n_loci`` markers when the compact matrix would exceed
        :meth:`genotype_budget` (``exact=False``: the counts are the ones read so far)."""
        cells = int(n) * int(n_loci)
        budget, why = self.genotype_budget()
        if cells > budget:
            what = "" if exact else "at least "
            when = "before reading the genotypes" if exact else "before reading the rest"
            raise DataError(
                f"{name}: {what}{n:,} samples x {n_loci:,} markers = {cells:,} genotype bytes "
                f"(int8 codes), more than the memory limit of {budget:,} bytes ({why}); "
                f"refused {when}. Use fewer markers (e.g. LD-pruned) or samples, or a "
                "machine with more memory (README, 'Memory')"
            )


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
    if isinstance(src, Blob):
        return src.name
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
    (b"l\x1b", "a PLINK 2 .pgen file"),
    (b"BCF", "a BCF file (load it as VCF/BCF)"),
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
        return os.path.getsize(src) if os.path.isfile(src) else None
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


def check_stored_size(src: Source, limits: ReadLimits) -> int | None:
    """The stored size of ``src`` (None when unknown), refused above ``max_upload_bytes``."""
    size = _stored_size(src)
    if size is not None and size > limits.max_upload_bytes:
        raise DataError(
            f"{display_name(src)}: {size:,} bytes is larger than the upload limit of "
            f"{limits.max_upload_bytes:,} bytes; refused"
        )
    return size


def open_binary(src: Source, name: str) -> tuple[BinaryIO, bool]:
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


def _raw_blocks(src: Source, name: str, cap: int) -> Iterator[bytes]:
    """The stored bytes in blocks, refused past ``cap`` bytes."""
    if isinstance(src, Blob):
        yield src.data
        return
    fh, owned = open_binary(src, name)
    total = 0
    try:
        while True:
            chunk = fh.read(_BLOCK)
            if not chunk:
                break
            if isinstance(chunk, str):
                raise DataError(f"{name}: expected binary file content, got text")
            total += len(chunk)
            if total > cap:
                raise DataError(f"{name}: file is larger than the limit of {cap:,} bytes; refused")
            yield chunk
    finally:
        if owned:
            fh.close()


def _gunzip_blocks(raw: Iterator[bytes], cap: int, name: str) -> Iterator[bytes]:
    """Decompress every gzip member of the stream ``raw``, block by block, stopping past
    ``cap`` bytes out; bytes after the last member that are not gzip are ignored."""
    dec = zlib.decompressobj(wbits=31)
    total = 0
    ended = False  # the last member ended exactly at a block boundary
    for data in raw:
        if ended:
            if not data.startswith(b"\x1f\x8b"):
                return
            dec, ended = zlib.decompressobj(wbits=31), False
        while data:
            try:
                out = dec.decompress(data, _BLOCK)
            except zlib.error as err:
                raise DataError(f"{name}: corrupt gzip data ({err})") from None
            if out:
                total += len(out)
                if total > cap:
                    raise DataError(
                        f"{name}: decompresses to more than the limit of {cap:,} bytes "
                        "(possibly a gzip bomb); refused"
                    )
                yield out
            if dec.eof:
                data = dec.unused_data
                if not data:
                    ended = True
                elif data.startswith(b"\x1f\x8b"):
                    dec = zlib.decompressobj(wbits=31)
                else:
                    return
            else:
                data = dec.unconsumed_tail
    if not ended and not dec.eof:
        raise DataError(f"{name}: truncated gzip file (the stream ends early)")


def _utf8_cut(block: bytes) -> int:
    """Length of the part of ``block`` that ends on a complete UTF-8 sequence."""
    for back in range(1, min(4, len(block)) + 1):
        b = block[-back]
        if b < 0x80:
            return len(block)
        if b >= 0xC0:
            need = 2 if b < 0xE0 else 3 if b < 0xF0 else 4
            return len(block) if need <= back else len(block) - back
    return len(block)


class ByteStream:
    """One input as checked, decompressed (and, for text, UTF-8) blocks of bytes.

    Iterating checks the stored size (before reading), decompresses gzip as it goes (stopping
    past ``max_uncompressed_bytes``), and for text refuses binary formats by their first bytes
    and transcodes UTF-16 (with or without BOM) or Windows-1252 to UTF-8. ``encoding`` and
    ``compressed`` are known once the first block is out.
    """

    def __init__(self, src: Source, *, limits: ReadLimits | None = None, text: bool = True):
        self.src = src
        self.limits = limits or DEFAULT_LIMITS
        self.text = text
        self.name = display_name(src)
        self.encoding = "utf-8"
        self.compressed = False

    def __iter__(self) -> Iterator[bytes]:
        lim, name = self.limits, self.name
        size = check_stored_size(self.src, lim)
        raw = _raw_blocks(self.src, name, lim.max_upload_bytes)
        first = next(raw, b"")
        while len(first) < 2:  # a file-like may hand out tiny reads
            more = next(raw, b"")
            if not more:
                break
            first += more
        if not first:
            raise DataError(f"{name}: the file is empty")
        self.compressed = first.startswith(b"\x1f\x8b")

        def chained() -> Iterator[bytes]:
            yield first
            yield from raw

        if self.compressed:
            blocks = _gunzip_blocks(chained(), lim.max_uncompressed_bytes, name)
        else:
            if size is not None and size > lim.max_uncompressed_bytes:
                raise DataError(
                    f"{name}: {size:,} bytes is larger than the limit of "
                    f"{lim.max_uncompressed_bytes:,} bytes; refused"
                )
            blocks = self._capped(chained())
        yield from self._decoded(blocks) if self.text else self._checked(blocks)

    def _capped(self, blocks: Iterator[bytes]) -> Iterator[bytes]:
        cap, total = self.limits.max_uncompressed_bytes, 0
        for b in blocks:
            total += len(b)
            if total > cap:
                raise DataError(f"{self.name}: more than the limit of {cap:,} bytes; refused")
            yield b

    def _head(self, blocks: Iterator[bytes]) -> tuple[bytes, Iterator[bytes]]:
        """At least :data:`_SNIFF` bytes from the front (or all there are), and the rest."""
        head = b""
        for b in blocks:
            head += b
            if len(head) >= _SNIFF:
                break
        if self.compressed and head.startswith(b"\x1f\x8b"):
            raise DataError(f"{self.name}: gzip inside gzip is not supported; decompress it once")
        if not head:
            raise DataError(f"{self.name}: the file is empty after decompression")
        return head, blocks

    def _checked(self, blocks: Iterator[bytes]) -> Iterator[bytes]:
        head, rest = self._head(blocks)
        self.encoding = "binary"
        yield head
        yield from rest

    def _decoded(self, blocks: Iterator[bytes]) -> Iterator[bytes]:
        name = self.name
        head, rest = self._head(blocks)
        kind = _binary_kind(head)
        if kind is not None:
            raise DataError(f"{name}: this is {kind}, not a text table; expected delimited text")
        any_data = False

        def note(b: bytes) -> bytes:
            nonlocal any_data
            if not any_data and b.strip():
                any_data = True
            return b

        if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_utf16(head[:8192]):
            if head.startswith((b"\xff\xfe", b"\xfe\xff")):
                enc = "utf-16"
            else:
                enc = "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
            self.encoding = enc
            dec = codecs.getincrementaldecoder(enc)()
            try:
                for b in _chain(head, rest):
                    out = dec.decode(b)
                    if out:
                        yield note(out.encode("utf-8"))
                tail = dec.decode(b"", final=True)
                if tail:
                    yield note(tail.encode("utf-8"))
            except UnicodeDecodeError as err:
                raise DataError(
                    f"{name}: looks like UTF-16 text but cannot be decoded ({err})"
                ) from None
        else:
            if head.startswith(b"\xef\xbb\xbf"):
                head, self.encoding = head[3:], "utf-8-sig"
            carry = b""
            cp1252 = False
            for b in _chain(head, rest):
                if cp1252:
                    yield note(b.decode("cp1252", errors="replace").encode("utf-8"))
                    continue
                b = carry + b
                cut = _utf8_cut(b)
                part, carry = b[:cut], b[cut:]
                try:
                    part.decode("utf-8")
                except UnicodeDecodeError:
                    cp1252, self.encoding = True, "cp1252"
                    part, carry = b, b""
                    yield note(part.decode("cp1252", errors="replace").encode("utf-8"))
                    continue
                if part:
                    yield note(part)
            if carry:
                try:
                    carry.decode("utf-8")
                    yield note(carry)
                except UnicodeDecodeError:
                    self.encoding = "cp1252"
                    yield note(carry.decode("cp1252", errors="replace").encode("utf-8"))
        if not any_data:
            raise DataError(f"{name}: the file contains no data (only whitespace)")


def _chain(head: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield head
    yield from rest


def read_blob(src: Source, *, limits: ReadLimits | None = None, text: bool = True) -> Blob:
    """Read one (small) input fully into memory as checked, decompressed (and, for text,
    UTF-8) bytes; large inputs are read block by block through :class:`ByteStream`.

    Raises
    ------
    DataError
        Missing, empty, too large, corrupt, or binary where text was expected.
    """
    if isinstance(src, Blob):
        return src
    stream = ByteStream(src, limits=limits, text=text)
    data = b"".join(stream)
    return Blob(stream.name, data, stream.encoding, stream.compressed)
