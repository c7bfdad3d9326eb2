"""VCF and BCF genotypes through cyvcf2 (htslib), haploid or diploid GT, with a phenotype table.

Reading goes in three steps. A streaming pass over the text (plain or gzip/bgzip) checks the
header (``#CHROM ... FORMAT samples``), counts the records and holds samples x records against
the limits before anything is parsed. htslib then parses the records and the GT calls are
coded in blocks of records into one preallocated int8 matrix. When htslib refuses a record,
that record's line is checked by our own rules, so the message names the line, the sample
and what was expected. A BCF file (binary) has no lines: it is read the same way, its size
checked as its records come in, and messages name the record and its position.
"""

from __future__ import annotations

import ctypes
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from ._dataset import DataError, Dataset, MissingPolicy
from ._encode import encode_states
from ._limits import ByteStream, ReadLimits, Source, display_name
from ._local import TEMP_PREFIX, local_file
from ._maps import normalize_chromosomes, read_known_qtl
from ._match import assemble, check_policy
from ._numeric import parse_numeric_table
from ._tables import GenotypeTable
from ._text import iter_lines

__all__ = ["read_vcf"]

_GT = re.compile(r"^(\d+|\.)(?:([/|])(\d+|\.))?$")
CHUNK_RECORDS = 512
"""Records coded together (module-level so a test can make it tiny)."""
MAX_HEADER_BYTES = 256 * 1024 * 1024
_VECTOR_END = -2  # htslib's filler after the last allele of a lower-ploidy call
_silenced = False


def _quiet_htslib() -> None:
    """htslib logs warnings (undeclared contigs, FORMAT fields) to stderr; our messages say
    what matters, so its log is switched off once."""
    global _silenced
    if _silenced:
        return
    _silenced = True
    try:
        import cyvcf2.cyvcf2 as ext

        ctypes.CDLL(ext.__file__).hts_set_log_level(0)
    except (OSError, AttributeError, ImportError):
        pass


def _gt_label(gt: str) -> tuple[str | None, int]:
    """Normalised state label of a GT value and its largest allele index (-1 = missing).

    Diploid calls are unordered (``1|0`` -> ``0/1``). Raises ValueError when not a GT.
    """
    m = _GT.match(gt)
    if m is None:
        raise ValueError(gt)
    a, _, b = m.groups()
    if b is None:
        return (None, -1) if a == "." else (str(int(a)), int(a))
    if a == "." or b == ".":
        return None, -1
    x, y = sorted((int(a), int(b)))
    return f"{x}/{y}", y


class _Header:
    """What the streaming pass learnt: samples, the #CHROM line's number, record count."""

    def __init__(
        self, samples: list[str], chrom_line: int, n_records: int | None, fileformat: bool
    ) -> None:
        self.samples = samples
        self.chrom_line = chrom_line
        self.n_records = n_records
        self.fileformat = fileformat


def _check_header_fields(fields: list[str], name: str, line: int, limits: ReadLimits) -> None:
    if len(fields) > limits.max_columns:
        raise DataError(
            f"{name}: the header has {len(fields):,} columns, more than the limit of "
            f"{limits.max_columns:,}; refused"
        )
    if len(fields) < 10 or fields[8] != "FORMAT":
        raise DataError(
            f"{name}: line {line}: expected 9 fixed columns ending in FORMAT and at least one "
            "sample column (tab-separated)"
        )
    samples = fields[9:]
    limits.check_count(name, "sample", len(samples), where=" in the header")
    if len(set(samples)) != len(samples):
        seen: set[str] = set()
        dup = next(s for s in samples if s in seen or seen.add(s))
        raise DataError(f"{name}: line {line}: sample id '{dup}' appears twice")


def _scan_text(path: Path, name: str, limits: ReadLimits) -> _Header:
    """The header and the number of records, streamed (nothing kept but the counts)."""
    stream = ByteStream(path, limits=limits)
    stream.name = name
    lines = iter_lines(stream)
    header_bytes = 0
    chrom_line, fields = None, None
    fileformat = False
    for lineno, line in lines:
        if lineno == 1:
            fileformat = line.startswith(b"##fileformat=")
        if stream.encoding.startswith("utf-16"):
            raise DataError(f"{name}: a UTF-16 text file; VCF must be ASCII/UTF-8 text")
        header_bytes += len(line) + 1
        if header_bytes > MAX_HEADER_BYTES:
            raise DataError(
                f"{name}: the header is longer than {MAX_HEADER_BYTES:,} bytes; refused"
            )
        if line.startswith(b"##"):
            continue
        if line.startswith(b"#CHROM"):
            chrom_line, fields = lineno, line.decode().rstrip().split("\t")
            break
        raise DataError(
            f"{name}: line {lineno}: expected the '#CHROM POS ID REF ALT QUAL FILTER INFO "
            "FORMAT samples...' header line of a VCF file"
        )
    if chrom_line is None:
        raise DataError(
            f"{name}: no '#CHROM POS ID REF ALT QUAL FILTER INFO FORMAT samples...' header "
            "line; expected a VCF file"
        )
    _check_header_fields(fields, name, chrom_line, limits)
    samples = fields[9:]
    n_rec = 0
    for lineno, line in lines:
        if line.strip():
            n_rec += 1
            limits.check_count(
                name, "marker", n_rec, exact=False, where=f" (records; line {lineno:,})"
            )
    if not n_rec:
        raise DataError(f"{name}: no variant records below the header")
    limits.check_genotypes(name, len(samples), n_rec)
    return _Header(samples, chrom_line, n_rec, fileformat)


@contextmanager
def _htslib_ready(path: Path, head: _Header | None, name: str, limits: ReadLimits):
    """``path`` itself, or (a VCF without the ``##fileformat`` line htslib requires) a
    temporary plain copy with that line added, removed afterwards."""
    if head is None or head.fileformat:
        yield path
        return
    tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    try:
        copy = tmp / "with_fileformat.vcf"
        stream = ByteStream(path, limits=limits)
        stream.name = name
        with open(copy, "wb") as out:
            out.write(b"##fileformat=VCFv4.2\n")
            for block in stream:
                out.write(block)
        yield copy
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _diagnose(path: Path, name: str, lineno: int, samples: list[str], limits: ReadLimits):
    """Our own checks of line ``lineno`` (the record htslib refused); a DataError or None."""
    n_s = len(samples)
    stream = ByteStream(path, limits=limits)
    stream.name = name
    for k, ln in iter_lines(stream):
        if k < lineno:
            continue
        f = ln.decode(errors="replace").rstrip("\n").split("\t")
        if len(f) != 9 + n_s:
            return DataError(
                f"{name}: line {k} has {len(f)} tab-separated fields; expected "
                f"{9 + n_s} (9 fixed + one per sample)"
            )
        fmt = f[8].split(":")
        if "GT" not in fmt:
            return DataError(f"{name}: line {k}: FORMAT '{f[8]}' has no GT field")
        try:
            int(f[1])
        except ValueError:
            return DataError(f"{name}: line {k}, column POS: '{f[1]}' is not a position")
        gi = fmt.index("GT")
        n_alt = 0 if f[4] in (".", "") else f[4].count(",") + 1
        for s, c in enumerate(f[9:]):
            gt = c.split(":")[gi] if c else "."
            try:
                _lab, hi = _gt_label(gt)
            except ValueError:
                return DataError(
                    f"{name}: line {k}, sample '{samples[s]}': unknown genotype '{gt[:40]}'; "
                    "expected a GT such as 0, 1, 0/1, 1|1 or ./."
                )
            if hi > n_alt:
                return DataError(
                    f"{name}: line {k}, sample '{samples[s]}': allele index {hi} but the record "
                    f"lists only {n_alt} ALT allele(s)"
                )
        return None
    return None


class _Coder:
    """GT calls of blocks of records -> global state codes (labels in ``labels``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.index: dict[str, int] = {}
        self.labels: list[str] = []

    def code(self, a: np.ndarray, b: np.ndarray, n_alt: np.ndarray, where) -> np.ndarray:
        """``a``, ``b``: (records, samples) first and second allele (htslib: -1 missing,
        -2 no second allele); returns int8 global codes (records, samples), -1 missing."""
        hap = b == _VECTOR_END
        missing = (a < 0) | (~hap & (b < 0))
        lo = np.minimum(a, b)
        hi = np.where(hap, a, np.maximum(a, b))
        over = ~missing & (hi > n_alt[:, None])
        if over.any():
            r, s = (int(x) for x in np.argwhere(over)[0])
            raise DataError(
                f"{where(r, s)}: allele index {int(hi[r, s])} but the record lists only "
                f"{int(n_alt[r])} ALT allele(s)"
            )
        # a dense key per call (0 missing, then haploid states, then diploid pairs), its
        # distinct values found by counting (no sort of the block)
        m = int(max(int(hi.max(initial=0)), 0)) + 1  # allele values 0 .. m-1 in this block
        lo32, hi32 = lo.astype(np.int32), hi.astype(np.int32)
        key = np.where(hap, a.astype(np.int32) + 1, 1 + m + lo32 * m + hi32)
        key[missing] = 0
        size = 1 + m + m * m
        lut = np.full(size, -1, dtype=np.int8)
        for kv in np.flatnonzero(np.bincount(key.ravel(), minlength=size)).tolist():
            if kv == 0:
                continue
            lab = str(kv - 1) if kv <= m else "{}/{}".format(*divmod(kv - 1 - m, m))
            code = self.index.get(lab)
            if code is None:
                code = self.index[lab] = len(self.labels)
                self.labels.append(lab)
                if len(self.labels) > 127:
                    raise DataError(
                        f"{self.name}: more than 127 distinct genotypes; expected biallelic "
                        "or few-allele records"
                    )
            lut[kv] = code
        return lut[key]


def _read_records(
    path: Path, name: str, head: _Header | None, limits: ReadLimits, *, text_path: Path
) -> tuple[list[str], np.ndarray, list[str], list[str], np.ndarray]:
    """``(samples, global codes (n, records) int8, labels, chromosomes, positions, names)``."""
    import cyvcf2

    _quiet_htslib()
    try:
        reader = cyvcf2.VCF(str(path))
    except (OSError, Exception) as err:  # cyvcf2 raises plain Exception on unreadable input
        raise DataError(f"{name}: htslib cannot open it as VCF/BCF ({err})") from None
    samples = list(reader.samples)
    bcf = head is None
    if bcf:
        _check_header_fields(
            ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples],
            name,
            1,
            limits,
        )
    n = len(samples)
    coder = _Coder(name)
    chroms: list[str] = []
    positions: list[int] = []
    names: list[str] = []
    codes = np.empty((n, head.n_records), dtype=np.int8) if not bcf else None
    blocks: list[np.ndarray] = []
    a_buf: list[np.ndarray] = []
    b_buf: list[np.ndarray] = []
    n_alt: list[int] = []
    done = 0

    def where_line(r: int) -> str:
        if bcf:
            return f"{name}: record {r + 1:,} ({chroms[r]}:{positions[r]})"
        return f"{name}: line {head.chrom_line + 1 + r}"

    def flush() -> None:
        nonlocal done
        if not a_buf:
            return
        a, b = np.stack(a_buf), np.stack(b_buf)
        alt = np.asarray(n_alt, dtype=np.int64)
        block = coder.code(a, b, alt, lambda r, s: f"{where_line(done + r)}, sample '{samples[s]}'")
        if bcf:
            blocks.append(block)
            limits.check_genotypes(name, n, done + len(a_buf), exact=False)
        else:
            codes[:, done : done + len(a_buf)] = block.T
        done += len(a_buf)
        a_buf.clear()
        b_buf.clear()
        n_alt.clear()

    r = 0
    try:
        for rec in reader:
            if not bcf and r >= head.n_records:
                raise DataError(f"{name}: more records than lines; is the file changing?")
            chroms.append(rec.CHROM)
            positions.append(int(rec.POS))
            rid = rec.ID
            names.append(rid if rid not in (None, ".", "") else f"{rec.CHROM}_{rec.POS}")
            fmt = rec.FORMAT
            if "GT" not in fmt:
                raise DataError(f"{where_line(r)}: FORMAT '{':'.join(fmt)}' has no GT field")
            arr = rec.genotype.array()
            if arr.shape[1] > 3 and (arr[:, 2:-1] != _VECTOR_END).any():
                s = int(np.flatnonzero((arr[:, 2:-1] != _VECTOR_END).any(axis=1))[0])
                raise DataError(
                    f"{where_line(r)}, sample '{samples[s]}': a call with "
                    f"{int((arr[s, :-1] != _VECTOR_END).sum())} alleles; expected haploid or "
                    "diploid calls"
                )
            a_buf.append(arr[:, 0])
            b_buf.append(arr[:, 1] if arr.shape[1] > 2 else np.full(n, _VECTOR_END, np.int16))
            n_alt.append(len(rec.ALT))
            r += 1
            if bcf:  # no line count beforehand: stop at the first record past the limit
                limits.check_count(name, "marker", r, exact=False, where=" (records)")
            if len(a_buf) >= CHUNK_RECORDS:
                flush()
        flush()
    except DataError:
        raise
    except MemoryError:
        raise
    except Exception as err:  # htslib refused a record: say which line and why
        if not bcf:
            found = _diagnose(text_path, name, head.chrom_line + 1 + r, samples, limits)
            if found is not None:
                raise found from None
            raise DataError(f"{where_line(r)}: htslib cannot parse the record ({err})") from None
        raise DataError(f"{name}: record {r + 1:,}: htslib cannot parse it ({err})") from None
    finally:
        reader.close()
    if not bcf and r != head.n_records:
        raise DataError(
            f"{name}: htslib read {r:,} records but the file has {head.n_records:,} record lines"
        )
    if bcf:
        if not blocks:
            raise DataError(f"{name}: no variant records")
        if len(blocks) == 1:
            codes = np.ascontiguousarray(blocks[0].T)
        else:
            codes = np.ascontiguousarray(np.concatenate(blocks, axis=0).T)
        blocks.clear()
    return samples, codes, coder.labels, chroms, np.asarray(positions, dtype=np.int64), names


def read_vcf(
    vcf: Source,
    phenotypes: Source,
    *,
    known_qtl: Source | None = None,
    missing_policy: MissingPolicy = "own_state",
    limits: ReadLimits | None = None,
    name: str | None = None,
) -> Dataset:
    """Read genotypes from a VCF or BCF (GT field) and a phenotype table, matched by sample id.

    Parameters
    ----------
    vcf
        VCF 4.x text, plain or gzip/bgzip compressed, or BCF. Allele states are the GT
        values: haploid ``"0"``, ``"1"``, ...; diploid unordered ``"0/0"``, ``"0/1"``,
        ``"1/1"`` (phasing dropped). ``.``, ``./.`` and half-missing calls are missing.
        Marker names are the ID column, or ``CHROM_POS`` where ID is ``.``.
    phenotypes
        Delimited table: sample id then one column per trait.
    known_qtl, missing_policy, limits, name
        As for the other readers.
    """
    check_policy(missing_policy)
    limits = limits or ReadLimits()
    fname = display_name(vcf)
    with local_file(vcf, limits=limits, suffix=_suffix(fname)) as path:
        probe = ByteStream(path, limits=limits, text=False)
        probe.name = fname
        blocks = iter(probe)
        first = next(blocks, b"")
        blocks.close()
        is_bcf = first.startswith(b"BCF")
        head = None if is_bcf else _scan_text(path, fname, limits)
        with _htslib_ready(path, head, fname, limits) as ready:
            samples, gcodes, labels, chroms, positions, names = _read_records(
                ready, fname, head, limits, text_path=path
            )
    seen: dict[str, int] = {}
    for i, nm in enumerate(names):
        if nm in seen:
            seen[nm] += 1
            names[i] = f"{nm}_{seen[nm]}"
        else:
            seen[nm] = 1
    if len(set(names)) != len(names):
        raise DataError(f"{fname}: marker ids are not unique even after numbering duplicates")
    first_line = head.chrom_line + 1 if head is not None else None

    def cell(i: int, j: int) -> str:
        if first_line is None:
            return f"record {j + 1}, sample '{samples[i]}'"
        return f"line {first_line + j}, sample '{samples[i]}'"

    codes, alleles, notes = encode_states(gcodes, labels, name=fname, markers=names, cell=cell)
    table = GenotypeTable(samples, names, codes, alleles, notes, name=fname)
    markers = pd.DataFrame(
        {
            "marker": pd.Series(names, dtype=object),
            "chromosome": pd.Series(normalize_chromosomes(chroms), dtype=object),
            "position": positions,
        }
    )
    ptable = parse_numeric_table(phenotypes, limits=limits)
    qtl = None
    if known_qtl is not None:
        qtl = read_known_qtl(known_qtl, traits=ptable.columns, limits=limits)
    ploidy = sorted({lab.count("/") + 1 for lab in labels})
    return assemble(
        table,
        ptable,
        geno_name=fname,
        pheno_name=ptable.name,
        markers=markers,
        known_qtl=qtl,
        missing_policy=missing_policy,
        name=name or Path(fname).name.split(".")[0],
        source=f"{'BCF' if is_bcf else 'VCF'}: {fname}, {ptable.name}",
        report={
            "format": "bcf" if is_bcf else "vcf",
            "ploidy": ploidy,
            "encoding": "binary" if is_bcf else "utf-8",
        },
    )


def _suffix(name: str) -> str:
    low = name.lower()
    for ext in (".vcf.gz", ".vcf.bgz", ".bcf", ".vcf"):
        if low.endswith(ext):
            return ext
    return ".vcf"
