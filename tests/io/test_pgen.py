"""PLINK 2 (.pgen/.pvar/.psam) through pgenlib: the same dataset as the PLINK 1 trio it came
from, in chunks, from uploads (through a temporary file that is always removed), and errors."""

from __future__ import annotations

import gzip
import io
import tempfile

import numpy as np
import pandas as pd
import pgenlib
import pytest
from bed_reader import open_bed, to_bed

from gpatlas_core.io import (
    DataError,
    ReadLimits,
    _local,
    _pgen,
    read_pgen,
    read_plink,
    read_uploaded,
)

PHENO = "FID IID t1 t2\n"


def _plink_and_pgen(tmp_path, val, *, header=True):
    """A PLINK 1 trio from ``val`` and the PLINK 2 set written from the .bed (ALT = A1)."""
    n, n_loc = val.shape
    iids = [f"i{k}" for k in range(n)]
    bed = tmp_path / "d.bed"
    to_bed(
        bed,
        val.astype(np.float32),
        properties={
            "iid": iids,
            "sid": [f"rs{j}" if j % 4 else "." for j in range(n_loc)],
            "chromosome": [["1", "2", "X"][j % 3] for j in range(n_loc)],
            "bp_position": [100 + 10 * j for j in range(n_loc)],
        },
    )
    with open_bed(bed) as b:
        counts = b.read(dtype="int8", order="F")  # allele-1 counts, -127 missing
        a1, a2 = b.allele_1, b.allele_2
        chrom, sid, pos = b.chromosome, b.sid, b.bp_position
    w = pgenlib.PgenWriter(bytes(tmp_path / "d.pgen"), n, n_loc, False)
    for j in range(n_loc):
        col = counts[:, j].copy()
        col[col < 0] = -9
        w.append_biallelic(np.ascontiguousarray(col, dtype=np.int8))
    w.close()
    lines = ["##fileformat=PVARv1.0", "#CHROM\tPOS\tID\tREF\tALT"] if header else []
    for j in range(n_loc):
        if header:
            lines.append(f"{chrom[j]}\t{pos[j]}\t{sid[j]}\t{a2[j]}\t{a1[j]}")
        else:  # the .bim layout
            lines.append(f"{chrom[j]}\t{sid[j]}\t0\t{pos[j]}\t{a1[j]}\t{a2[j]}")
    (tmp_path / "d.pvar").write_text("\n".join(lines) + "\n")
    if header:
        psam = ["#FID\tIID\tSEX"] + [f"0\t{s}\tNA" for s in iids]
    else:  # the .fam layout
        psam = [f"0 {s} 0 0 0 -9" for s in iids]
    (tmp_path / "d.psam").write_text("\n".join(psam) + "\n")
    rng = np.random.default_rng(0)
    ph = PHENO + "".join(
        f"0 {s} {rng.normal():.3f} {-9 if k % 3 else 1.5}\n" for k, s in enumerate(iids[1:])
    )
    (tmp_path / "ph.txt").write_text(ph)
    return tmp_path


def _same(a, b):
    assert np.array_equal(a.genotype_codes, b.genotype_codes)
    assert a.alleles == b.alleles
    pd.testing.assert_frame_equal(a.markers, b.markers)
    assert list(a.samples) == list(b.samples)
    assert np.array_equal(a.phenotypes, b.phenotypes, equal_nan=True)
    assert a.fingerprint == b.fingerprint


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("kind", ["diploid", "haploid"])
def test_pgen_equals_the_plink1_trio(tmp_path, kind, header, monkeypatch):
    rng = np.random.default_rng(5)
    val = rng.integers(0, 3, size=(30, 23)).astype(float)
    if kind == "haploid":
        val = 2.0 * (val > 0)
    val[rng.random(val.shape) < 0.05] = np.nan
    d = _plink_and_pgen(tmp_path, val, header=header)
    one = read_plink(d / "d.bed", d / "d.bim", d / "d.fam", d / "ph.txt")
    two = read_pgen(d / "d.pgen", d / "d.pvar", d / "d.psam", d / "ph.txt")
    _same(one, two)
    assert two.report["format"] == "pgen" and two.report["ploidy"] == (
        2 if kind == "diploid" else 1
    )
    monkeypatch.setattr(_pgen, "CHUNK_BYTES", 61)  # two markers of 30 samples per chunk
    _same(one, read_pgen(d / "d.pgen", d / "d.pvar", d / "d.psam", d / "ph.txt"))


def test_pgen_upload_goes_through_a_removed_temporary_file(tmp_path, monkeypatch):
    val = np.random.default_rng(1).integers(0, 3, size=(12, 7)).astype(float)
    (tmp_path / "src").mkdir()
    d = _plink_and_pgen(tmp_path / "src", val)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    seen = []
    real = _local.local_file

    def spy(*args, **kwargs):
        cm = real(*args, **kwargs)

        class Wrapped:
            def __enter__(self):
                path = cm.__enter__()
                seen.append(path)
                assert path.is_file()
                return path

            def __exit__(self, *exc):
                return cm.__exit__(*exc)

        return Wrapped()

    monkeypatch.setattr(_pgen, "local_file", spy)
    files = [(n, (d / n).read_bytes()) for n in ("d.pgen", "d.pvar", "d.psam", "ph.txt")]
    ds = read_uploaded(files)
    assert ds.report["layout"] == "pgen" and ds.n_samples == 11
    assert seen and str(seen[0]).startswith(str(scratch))
    assert list(scratch.iterdir()) == []  # removed after a success
    bad = [(n, b if n != "d.pgen" else b[:-3]) for n, b in files]  # truncated genotypes
    with pytest.raises(DataError, match=r"d\.pgen"):
        read_uploaded(bad)
    assert list(scratch.iterdir()) == []  # and after a failure


def test_pgen_errors(tmp_path):
    val = np.random.default_rng(2).integers(0, 3, size=(8, 5)).astype(float)
    d = _plink_and_pgen(tmp_path, val)
    args = (d / "d.pgen", d / "d.pvar", d / "d.psam", d / "ph.txt")
    text = (d / "d.pvar").read_text().splitlines()
    multi = [*text[:3], text[3].rsplit("\t", 1)[0] + "\tA,C", *text[4:]]
    (d / "multi.pvar").write_text("\n".join(multi) + "\n")
    with pytest.raises(DataError, match=r"multi\.pvar: line 4: variant .* 2 ALT alleles"):
        read_pgen(args[0], d / "multi.pvar", *args[2:])
    (d / "short.pvar").write_text("\n".join(text[:-1]) + "\n")
    with pytest.raises(DataError, match=r"d\.pgen: .* variants; expected 8 .* x 4 .*belong"):
        read_pgen(args[0], d / "short.pvar", *args[2:])
    (d / "x.pgen").write_bytes(b"hello world")
    with pytest.raises(DataError, match=r"x\.pgen: not a PLINK 2 \.pgen"):
        read_pgen(d / "x.pgen", *args[1:])
    (d / "dup.psam").write_text("#IID\na\nb\na\nc\nd\ne\nf\ng\n")
    with pytest.raises(
        DataError, match=r"dup\.psam: sample id 'a' appears twice \(lines 2 and 4\)"
    ):
        read_pgen(args[0], args[1], d / "dup.psam", args[3])
    with pytest.raises(
        DataError, match=r"d\.pgen: 8 samples x 5 markers = 40 genotype bytes.*limit of 39"
    ):
        read_pgen(*args, limits=ReadLimits(max_genotype_bytes=39))
    (d / "gz.pvar.gz").write_bytes(gzip.compress((d / "d.pvar").read_bytes()))
    assert read_pgen(args[0], d / "gz.pvar.gz", *args[2:]).n_loci == 5
    upload = io.BytesIO((d / "d.pgen").read_bytes())
    upload.name = "d.pgen"
    assert read_pgen(upload, *args[1:]).n_loci == 5
