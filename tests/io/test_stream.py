"""Streaming text: a real CSV parser under our checks (quoted fields with delimiters and
newlines, physical line numbers in messages), lines split across blocks, encodings."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from gpatlas_core.io import DataError, read_dataset_folder, read_known_qtl, read_markers
from gpatlas_core.io import _limits as limits_mod
from gpatlas_core.io._limits import ByteStream
from gpatlas_core.io._text import Records, iter_lines

PHENO = "sample,t1\ns1,1\ns2,2\ns3,3\n"


def _folder(tmp_path, geno: str | bytes, pheno: str = PHENO, name: str = "genotypes.csv"):
    d = tmp_path / "d"
    d.mkdir(exist_ok=True)
    (d / name).write_bytes(geno if isinstance(geno, bytes) else geno.encode())
    (d / "phenotypes.csv").write_text(pheno)
    return d


def test_quoted_fields_with_delimiters_and_newlines(tmp_path):
    geno = 'sample,"m,1",m2\n"s\n1",A,B\ns2,"A",B\ns3,B,"A"\n'
    pheno = 'sample,"t 1"\n"s\n1",1\ns2,2\ns3,3\n'
    ds = read_dataset_folder(_folder(tmp_path, geno, pheno))
    assert list(ds.samples) == ["s\n1", "s2", "s3"]
    assert list(ds.markers["marker"]) == ["m,1", "m2"]
    assert ds.genotype_codes.tolist() == [[0, 1], [0, 1], [1, 0]]
    assert ds.traits == ["t 1"]


def test_line_numbers_are_the_files_own(tmp_path):
    # a record spanning lines 2-3 and a blank line 5: the bad cell is on physical line 6
    geno = 'sample,m1,m2\n"s\n1",A,B\ns2,A,B\n\ns3,A,B?\n'
    with pytest.raises(DataError, match=r"genotypes\.csv: line 6, column 3 \('m2'\)"):
        read_dataset_folder(_folder(tmp_path, geno))
    geno = "sample,m1,m2\n\n\ns1,A\n"
    with pytest.raises(DataError, match=r"line 4 has 2 fields; expected 3"):
        read_dataset_folder(_folder(tmp_path, geno))
    geno = "sample,m1\ns1,A\n\ns1,B\n"
    with pytest.raises(DataError, match=r"sample id 's1' appears twice \(lines 2 and 4\)"):
        read_dataset_folder(_folder(tmp_path, geno))
    pheno = "sample,t1\n\ns1,1\ns2,x\ns3,3\n"
    with pytest.raises(DataError, match=r"phenotypes\.csv: line 4, column 2 \('t1'\): 'x'"):
        read_dataset_folder(_folder(tmp_path, "sample,m1\ns1,A\ns2,B\ns3,A\n", pheno))
    geno = 'sample,m1\ns1,"A\n'
    with pytest.raises(DataError, match=r"line 2: a quoted field is not closed"):
        read_dataset_folder(_folder(tmp_path, geno))


def test_small_tables_report_physical_lines(make_file):
    with pytest.raises(DataError, match=r"m\.csv: line 4, column 'position': 'abc'"):
        read_markers(
            make_file("m.csv", "marker,chromosome,position\n# a comment\nr1,1,10\nr2,1,abc\n")
        )
    q = read_known_qtl(make_file("q.csv", 'trait,chromosome,position\n"a, b",1,5\n'))
    assert q["trait"].tolist() == ["a, b"]


@pytest.mark.parametrize("block", [1, 2, 3, 7, 64])
def test_lines_and_utf8_across_blocks(tmp_path, monkeypatch, block):
    monkeypatch.setattr(limits_mod, "_BLOCK", block)
    monkeypatch.setattr(limits_mod, "_SNIFF", 4)
    text = "sample,poids_é,t2\r\ns1,1,2\r\n\r\ns2,é,ü\r\nlast,no,newline"
    path = tmp_path / "x.csv"
    path.write_bytes(text.encode())
    lines = [(k, ln.decode()) for k, ln in iter_lines(ByteStream(path))]
    assert lines == [
        (1, "sample,poids_é,t2"),
        (2, "s1,1,2"),
        (3, ""),
        (4, "s2,é,ü"),
        (5, "last,no,newline"),
    ]
    path.write_bytes(gzip.compress(text.encode("cp1252")))
    recs = Records(ByteStream(path))
    assert recs.header == ["sample", "poids_é", "t2"]
    assert [f for _k, f in recs][1] == ["s2", "é", "ü"]
    assert recs.stream.encoding == "cp1252"


def test_old_mac_line_endings(tmp_path):
    ds = read_dataset_folder(_folder(tmp_path, "sample,m1\rs1,A\rs2,B\rs3,A\r"))
    assert ds.genotype_codes.ravel().tolist() == [0, 1, 0]


def test_a_runaway_line_is_refused(tmp_path, monkeypatch):
    from gpatlas_core.io import _text

    monkeypatch.setattr(_text, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(limits_mod, "_BLOCK", 100)
    geno = "sample," + ",".join(f"m{i}" for i in range(400)) + "\n"
    with pytest.raises(DataError, match=r"genotypes\.csv: line 1 is longer than 1,000 bytes"):
        read_dataset_folder(_folder(tmp_path, geno))


def test_many_chunks_of_one_byte_cells_and_mixed_chunks(tmp_path, monkeypatch):
    from gpatlas_core.io import _tables

    monkeypatch.setattr(_tables, "CHUNK_LINES", 3)
    rng = np.random.default_rng(0)
    cells = rng.choice(["A", "B", "NA", "AB"], size=(20, 6))
    lines = ["sample," + ",".join(f"m{j}" for j in range(6))]
    lines += [f"s{i}," + ",".join(row) for i, row in enumerate(cells)]
    pheno = "sample,t\n" + "".join(f"s{i},{i}\n" for i in range(20))
    ds = read_dataset_folder(_folder(tmp_path, "\n".join(lines) + "\n", pheno))
    for j in range(6):
        labels = ds.alleles[j]
        got = [labels[c] if c >= 0 else "NA" for c in ds.genotype_codes[:, j]]
        assert got == list(cells[:, j])
