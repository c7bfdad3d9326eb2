"""Limits that say so: oversized genotype matrices are refused (naming the file and the limit)
before their genotypes are parsed; out-of-memory becomes a message in the CLI and the app;
uploads a library needs as a file go through a temporary file that is always removed."""

from __future__ import annotations

import gzip
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
from bed_reader import to_bed
from reader_cases import write_bcf

from gpatlas_core.io import (
    DataError,
    ReadLimits,
    _plink,
    _tables,
    _vcf,
    read_dataset_folder,
    read_plink,
    read_uploaded,
    read_vcf,
    usable_memory,
)

ROOT = Path(__file__).resolve().parents[2]


def _table(n: int, n_loci: int, tail: str = "") -> str:
    rows = ["sample," + ",".join(f"m{j}" for j in range(n_loci))]
    rows += [f"s{i}," + ",".join("AB"[(i + j) % 2] for j in range(n_loci)) for i in range(n)]
    return "\n".join(rows) + "\n" + tail


def test_table_refused_while_read_not_after(tmp_path, monkeypatch):
    monkeypatch.setattr(_tables, "CHUNK_LINES", 4)
    d = tmp_path / "d"
    d.mkdir()
    # a ragged last row: reading to the end would report it; the limit stops the read first
    (d / "genotypes.csv.gz").write_bytes(gzip.compress(_table(40, 6, "broken\n").encode()))
    (d / "phenotypes.csv").write_text("sample,t\n" + "".join(f"s{i},1\n" for i in range(40)))
    with pytest.raises(
        DataError,
        match=r"genotypes\.csv\.gz: at least 12 samples x 6 markers = 72 genotype bytes "
        r"\(int8 codes\), more than the memory limit of 50 bytes \(the reader's limit\); refused",
    ):
        read_dataset_folder(d, limits=ReadLimits(max_genotype_bytes=50))
    with pytest.raises(DataError, match=r"line 42 has 1 fields"):
        read_dataset_folder(d)


def test_plink_refused_from_fam_and_bim_before_the_bed(tmp_path, monkeypatch):
    to_bed(tmp_path / "d.bed", np.zeros((6, 5), np.float32), properties={"iid": list("abcdef")})
    (tmp_path / "p.csv").write_text("sample,t\na,1\nb,2\n")

    def never(*a, **k):
        raise AssertionError("the .bed must not be read")

    monkeypatch.setattr(_plink, "_bed_into", never)
    with pytest.raises(DataError, match=r"d\.bed: 6 samples x 5 markers = 30 .*limit of 29 bytes"):
        read_plink(
            tmp_path / "d.bed",
            tmp_path / "d.bim",
            tmp_path / "d.fam",
            tmp_path / "p.csv",
            limits=ReadLimits(max_genotype_bytes=29),
        )


def test_vcf_refused_from_header_and_line_count(tmp_path, monkeypatch):
    head = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc\n"
    recs = "".join(f"1\t{i + 1}\t.\tA\tG\t.\t.\t.\tGT\t0\t1\t0\n" for i in range(10))
    (tmp_path / "v.vcf.gz").write_bytes(gzip.compress((head + recs).encode()))
    (tmp_path / "p.csv").write_text("sample,t\na,1\nb,2\n")

    def never(*a, **k):
        raise AssertionError("htslib must not parse the records")

    monkeypatch.setattr(_vcf, "_read_records", never)
    with pytest.raises(DataError, match=r"v\.vcf\.gz: 3 samples x 10 markers = 30 .*limit of 20"):
        read_vcf(
            tmp_path / "v.vcf.gz", tmp_path / "p.csv", limits=ReadLimits(max_genotype_bytes=20)
        )
    with pytest.raises(
        DataError,
        match=r"v\.vcf\.gz: at least 5 markers \(records; line 7\), more than the limit of 4 "
        r"markers; refused before reading the rest",
    ):
        read_vcf(tmp_path / "v.vcf.gz", tmp_path / "p.csv", limits=ReadLimits(max_markers=4))


def test_default_limit_follows_the_address_space_limit():
    code = textwrap.dedent(
        """
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, resource.RLIM_INFINITY))
        from gpatlas_core.io import ReadLimits, usable_memory
        print(usable_memory())
        print(ReadLimits().genotype_budget())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "(6442450944, 'the address-space limit (ulimit -v)')" in out
    assert "(805306368, '1/8 of the 6.0 GiB of the address-space limit (ulimit -v)')" in out
    total, what = usable_memory()
    assert total > 0 and what


def test_cli_out_of_memory_is_a_message_not_a_traceback(tmp_path):
    """A real MemoryError: the genotype matrix cannot be allocated under the address-space
    limit the child process sets itself (the memory limit made 1:1 so the reader tries)."""
    n, n_loci = 3000, 60000  # 180 MB of int8 codes; the .bed is 45 MB of zeros
    d = tmp_path / "big"
    d.mkdir()
    with open(d / "x.bed", "wb") as fh:
        fh.write(b"l\x1b\x01")
        fh.write(bytes(((n + 3) // 4) * n_loci))
    (d / "x.fam").write_text("".join(f"0 s{i} 0 0 0 -9\n" for i in range(n)))
    (d / "x.bim").write_text("".join(f"1 m{j} 0 {j + 1} A G\n" for j in range(n_loci)))
    (d / "p.csv").write_text("sample,t\ns0,1\ns1,2\n")
    code = textwrap.dedent(
        f"""
        import resource, sys
        from gpatlas_core.cli import main
        from gpatlas_core.io import _memory
        _memory.MEMORY_FRACTION = 1
        vm = [l for l in open("/proc/self/status") if l.startswith("VmSize")][0]
        used = int(vm.split()[1]) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (used + 120 * 2**20, resource.RLIM_INFINITY))
        sys.exit(main(["info", {str(d)!r}]))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: out of memory during `info`"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Nothing loaded or saved before was changed" in proc.stderr


def test_cli_main_catches_memory_error(monkeypatch, capsys):
    from gpatlas_core.cli import _info, main

    def boom(*a, **k):
        raise MemoryError

    monkeypatch.setattr(_info, "resolve_dataset", boom)
    assert main(["info", "yeast"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: out of memory during `info`") and "Traceback" not in err


def test_app_loaders_and_jobs_turn_memory_errors_into_messages(monkeypatch):
    from pages._lib import jobs, loaders

    @loaders.memory_safe("the test load")
    def load():
        raise MemoryError

    with pytest.raises(DataError, match=r"out of memory during the test load"):
        load()
    import gpatlas_core.io as core_io

    monkeypatch.setattr(core_io, "read_uploaded", lambda *a, **k: load.__wrapped__())
    with pytest.raises(DataError, match=r"out of memory during reading the uploaded files"):
        loaders.read_uploaded([_Upload("genotypes.csv", b"x")], "own_state")

    def job_fn(job):
        raise MemoryError

    job = jobs.run_job(jobs.Job(kind="training", key="t"), job_fn, synchronous=True)
    assert job.status == "failed" and job.error.startswith("out of memory during the training")


class _Upload:
    def __init__(self, name: str, data: bytes) -> None:
        self.name, self.size, self._data = name, len(data), data

    def read(self, n: int = -1) -> bytes:
        out, self._data = self._data, b""
        return out

    def seek(self, *a) -> int:
        return 0


def test_uploads_go_through_a_temporary_file_that_is_removed(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    to_bed(tmp_path / "x.bed", np.array([[0.0], [2.0]], np.float32), properties={"iid": ["a", "b"]})
    plink = [(n, (tmp_path / n).read_bytes()) for n in ("x.bed", "x.bim", "x.fam")]
    pheno = ("pheno.csv", b"IID,t\na,1\nb,2\n")
    vcf = b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\n1\t5\t.\tA\tC\t.\t.\t.\tGT\t0\t1\n"
    for files in (
        [*plink, pheno],
        [("calls.vcf.gz", gzip.compress(vcf)), pheno],
        [("calls.vcf", vcf), pheno],  # no ##fileformat line: a second temporary copy
    ):
        assert read_uploaded(files).n_samples == 2
        assert list(scratch.iterdir()) == []
    bad_plink = [(n, b[:-1] if n == "x.bed" else b) for n, b in plink]
    bad_vcf = [("calls.vcf", vcf.replace(b"\t0\t1\n", b"\t0/A\t1\n")), pheno]
    for files, message in ((bad_plink, r"x\.bed: .* bytes; expected"), (bad_vcf, r"'0/A'")):
        with pytest.raises(DataError, match=message):
            read_uploaded([*files, pheno] if files is bad_plink else files)
        assert list(scratch.iterdir()) == []


def test_bcf_refused_while_read_and_uploaded_through_a_removed_file(tmp_path, monkeypatch):
    """A BCF has no line count to check beforehand: the limits stop it as its records come."""
    head = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc\n"
    recs = "".join(f"1\t{i + 1}\t.\tA\tG\t.\t.\t.\tGT\t0\t1\t0\n" for i in range(10))
    (tmp_path / "v.vcf").write_text(head + recs)
    bcf = write_bcf(tmp_path / "v.vcf", tmp_path / "v.bcf")
    (tmp_path / "p.csv").write_text("sample,t\na,1\nb,2\n")
    pheno = tmp_path / "p.csv"
    assert read_vcf(bcf, pheno).n_loci == 10
    with pytest.raises(
        DataError, match=r"v\.bcf: at least 5 markers \(records\), more than the limit of 4"
    ):
        read_vcf(bcf, pheno, limits=ReadLimits(max_markers=4))
    monkeypatch.setattr(_vcf, "CHUNK_RECORDS", 4)
    with pytest.raises(
        DataError, match=r"v\.bcf: at least 3 samples x 8 markers = 24 genotype bytes .*limit of 20"
    ):
        read_vcf(bcf, pheno, limits=ReadLimits(max_genotype_bytes=20))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    files = [("v.bcf", bcf.read_bytes()), ("p.csv", pheno.read_bytes())]
    ds = read_uploaded(files)
    assert ds.report["format"] == "bcf" and ds.n_samples == 2
    assert list(scratch.iterdir()) == []
    with pytest.raises(DataError, match=r"v\.bcf"):
        read_uploaded([("v.bcf", bcf.read_bytes()[:-40]), files[1]])  # truncated
    assert list(scratch.iterdir()) == []
