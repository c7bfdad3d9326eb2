"""Malformed and hostile inputs: each gives a DataError naming file, place and expectation."""

from __future__ import annotations

import builtins
import gzip
import io
import pickle
import zipfile

import pytest

from gpatlas_core.io import DataError, ReadLimits, read_dataset_folder, read_uploaded

GENO = "sample,m1,m2,m3\ns1,A,B,A\ns2,B,B,A\ns3,A,A,B\n"
PHENO = "sample,t1,t2\ns1,1.0,2\ns2,0.5,NA\ns3,2,3\n"


def _folder(tmp_path, geno=GENO, pheno=PHENO, geno_name="genotypes.csv"):
    d = tmp_path / "d"
    d.mkdir(exist_ok=True)
    for name, content in ((geno_name, geno), ("phenotypes.csv", pheno)):
        p = d / name
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return d


class _Payload:
    """Unpickling this would create a file: the test asserts it never appears."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (builtins.open, (str(self.target), "w"))


def test_pickle_renamed_csv_is_never_loaded(tmp_path):
    target = tmp_path / "pwned.txt"
    for protocol in (2, 4, 5):
        payload = pickle.dumps(_Payload(target), protocol=protocol)
        d = _folder(tmp_path, geno=payload)
        with pytest.raises(DataError, match=r"genotypes.csv: this is a Python pickle"):
            read_dataset_folder(d)
        with pytest.raises(DataError, match=r"pickle"):
            read_uploaded([("genotypes.csv", payload), ("phenotypes.csv", PHENO.encode())])
        gz = gzip.compress(payload)
        d = _folder(tmp_path, geno=gz, geno_name="genotypes.csv.gz")
        with pytest.raises(DataError, match=r"pickle"):
            read_dataset_folder(d)
        (d / "genotypes.csv.gz").unlink()
    assert not target.exists()


def test_zip_and_checkpoint_renamed(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:  # the layout of a torch.save checkpoint
        zf.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    d = _folder(tmp_path, pheno=buf.getvalue())
    with pytest.raises(DataError, match=r"phenotypes.csv: this is a zip archive .*PyTorch"):
        read_dataset_folder(d)
    d = _folder(tmp_path, pheno=b"abc\x00\x01\x02\x03" * 100)
    with pytest.raises(DataError, match=r"NUL bytes"):
        read_dataset_folder(d)
    d = _folder(tmp_path, pheno=b"\x93NUMPY\x01\x00")
    with pytest.raises(DataError, match=r"NumPy"):
        read_dataset_folder(d)


def test_gzip_bomb_stops_early(tmp_path):
    bomb = gzip.compress(b"0" * (64 * 1024 * 1024), compresslevel=9)  # 64 MiB in ~64 KiB
    d = _folder(tmp_path, geno=bomb, geno_name="genotypes.csv.gz")
    with pytest.raises(DataError, match=r"genotypes.csv.gz: decompresses to more than.*bomb"):
        read_dataset_folder(d, limits=ReadLimits(max_uncompressed_bytes=1_000_000))


def test_corrupt_and_truncated_gzip(tmp_path):
    good = gzip.compress(GENO.encode())
    d = _folder(tmp_path, geno=good[: len(good) // 2], geno_name="genotypes.csv.gz")
    with pytest.raises(DataError, match=r"truncated gzip|corrupt gzip"):
        read_dataset_folder(d)


def test_upload_size_refused_before_reading():
    class Huge(io.RawIOBase):
        name = "genotypes.csv"
        size = 10**12

        def read(self, *a):
            raise AssertionError("must not be read")

    with pytest.raises(DataError, match=r"genotypes.csv: 1,000,000,000,000 bytes is larger"):
        read_uploaded([Huge(), ("phenotypes.csv", PHENO.encode())])
    small = ReadLimits(max_upload_bytes=10)
    with pytest.raises(DataError, match=r"larger than the upload limit"):
        read_uploaded([("genotypes.csv", GENO.encode()), ("phenotypes.csv", b"x")], limits=small)


def test_million_column_header(tmp_path):
    header = "sample," + ",".join(f"m{i}" for i in range(1_000_000))
    d = _folder(tmp_path, geno=header + "\ns1," + ",".join(["A"] * 1_000_000) + "\n")
    with pytest.raises(DataError, match=r"1,000,001 columns, more than the limit"):
        read_dataset_folder(d)


@pytest.mark.parametrize(
    ("geno", "pheno", "message"),
    [
        ("", PHENO, "genotypes.csv: the file is empty"),
        ("   \n\n", PHENO, "no data"),
        ("sample m1 m2\n", PHENO, "no data rows"),
        ("sample|m1|m2\ns1|A|B\n", PHENO, "single column.*wrong delimiter"),
        ("sample,m1,m2\ns1,A\n", PHENO, "line 2 has 2 fields; expected 3"),
        ("sample,m1,m1\ns1,A,B\n", PHENO, "marker name 'm1' appears twice"),
        ("sample,m1\ns1,A\ns1,B\n", PHENO, "sample id 's1' appears twice"),
        ("sample,m1,m2\ns1,A,B?\n", PHENO, r"line 2, column 3 \('m2'\): unknown allele code 'B\?'"),
        (
            "sample,m1\n" + "".join(f"s{i},{i * 0.37}\n" for i in range(60)),
            PHENO,
            "distinct values.*phenotype table",
        ),
        ("##fileformat=VCFv4.2\n#CHROM\tPOS\n", PHENO, "this is a VCF file"),
        ("<html><body>login</body></html>\n", PHENO, "HTML page"),
        (GENO, "sample,t1\ns1,1\ns2,inf\n", r"line 3, column 2 \('t1'\): infinite value"),
        (GENO, "sample,t1\ns1,1\ns2,abc\n", "'abc' is not a number"),
        (GENO, "sample,t1,t2\ns1,1,NA\ns2,2,\n", "trait 't2' has no value"),
        (GENO, "sample,t1\nx1,1\nx2,2\n", "no sample id of genotypes.csv .* matches any"),
        (GENO, "sample,t1\ns1,1e300\n", "too large for single precision"),
    ],
)
def test_malformed_tables(tmp_path, geno, pheno, message):
    with pytest.raises(DataError, match=message):
        read_dataset_folder(_folder(tmp_path, geno=geno, pheno=pheno))


def test_nan_is_missing_and_single_state_reported(tmp_path):
    ds = read_dataset_folder(_folder(tmp_path, pheno="sample,t1\ns1,NaN\ns2,1\ns3,nan\n"))
    assert "single_state_markers" not in ds.report
    assert int(sum(v != v for v in ds.phenotypes[:, 0])) == 2
    one = read_dataset_folder(_folder(tmp_path, geno="sample,m1,m2\ns1,A,C\ns2,A,D\n"))
    assert one.report["single_state_markers"] == {"count": 1, "examples": ["m1"]}
    assert one.alleles[0] == ("A",)


def test_text_encodings(tmp_path):
    pheno = "sample,poids_é\ns1,1\ns2,2\ns3,3\n"
    for enc in ("utf-16", "utf-16-le", "utf-8-sig", "latin-1"):
        ds = read_dataset_folder(_folder(tmp_path, geno=GENO.encode(enc), pheno=pheno.encode(enc)))
        assert ds.traits == ["poids_é"], enc
        assert ds.n_samples == 3


def test_uploaded_unsupported_type():
    with pytest.raises(DataError, match=r"model.pkl: unsupported file type"):
        read_uploaded([("model.pkl", b"\x80\x04."), ("genotypes.csv", GENO.encode())])
    with pytest.raises(DataError, match=r"no files"):
        read_uploaded([])
