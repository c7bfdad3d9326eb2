"""One resolver for every way to name a data set, and lenient known-QTL trait names."""

from __future__ import annotations

import gzip
import json
import shutil

import numpy as np
import pgenlib
import pytest
from bed_reader import to_bed
from reader_cases import write_bcf

from gpatlas_core.io import (
    YEAST_SAMPLE_DIR,
    DataError,
    match_traits,
    read_known_qtl,
    resolve_dataset,
    spec_exists,
    trait_key,
    write_dataset_folder,
)

YEAST_FP = "c7b7f3178c9154b0"
GENO = "sample,m1,m2\ns1,A,B\ns2,B,B\ns3,A,A\n"
PHENO = "sample,t1\ns1,1\ns2,2\ns3,3\n"


@pytest.mark.parametrize(
    "spec",
    [
        "yeast",
        "YEAST",
        "yeast-sample",
        ["yeast"],
        str(YEAST_SAMPLE_DIR),
        YEAST_SAMPLE_DIR,
        "/another/machine/sample_data/yeast_bloom2013",  # a run recorded elsewhere
    ],
)
def test_the_yeast_sample_by_any_name(spec):
    ds = resolve_dataset(spec)
    assert ds.fingerprint == YEAST_FP and len(ds.known_qtl) == 591
    assert ds.source == str(YEAST_SAMPLE_DIR)
    assert resolve_dataset(ds.source).fingerprint == YEAST_FP


def test_a_copy_of_the_yeast_folder_and_its_files(tmp_path):
    copy = tmp_path / "my_yeast"
    shutil.copytree(YEAST_SAMPLE_DIR, copy)  # with its README.md, which is ignored
    ds = resolve_dataset(copy)
    assert ds.fingerprint == YEAST_FP and len(ds.known_qtl) == 591  # the alias applies too
    assert ds.report["layout"] == "bloom" and ds.report["ignored_files"] == ["README.md"]
    assert ds.source == str(copy.resolve()) and ds.name == "my_yeast"
    files = [copy / "BYxRM_GenoData.txt.gz", copy / "BYxRM_PhenoData.txt.gz"]
    again = resolve_dataset([str(f) for f in files])
    assert again.fingerprint == YEAST_FP
    assert json.loads(again.source) == [str(f.resolve()) for f in files]
    assert resolve_dataset(again.source).fingerprint == YEAST_FP  # what a run records


def _vcf_folder(d):
    d.mkdir()
    (d / "calls.vcf.gz").write_bytes(
        gzip.compress(
            b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
            b"s1\ts2\ts3\n1\t5\tr1\tA\tC\t.\t.\t.\tGT\t0/1\t1/1\t0/0\n"
        )
    )
    (d / "traits.csv").write_text(PHENO)
    (d / "notes.md").write_text("how the calls were made")
    return d


def test_folders_in_every_layout(tmp_path, tiny_dataset):
    folder = write_dataset_folder(tiny_dataset, tmp_path / "sim")
    ds = resolve_dataset(folder)
    assert ds.fingerprint == tiny_dataset.fingerprint and ds.name == "tiny"
    vcf = resolve_dataset(_vcf_folder(tmp_path / "vcf"))
    assert vcf.report["layout"] == "vcf" and vcf.alleles == [("0/0", "0/1", "1/1")]
    assert vcf.report["ignored_files"] == ["notes.md"]
    d = tmp_path / "plink"
    d.mkdir()
    to_bed(
        d / "g.bed",
        np.array([[0.0], [2.0], [1.0]], np.float32),
        properties={"iid": ["s1", "s2", "s3"]},
    )
    (d / "pheno.txt").write_text(PHENO)
    plink = resolve_dataset(d)
    assert plink.report["layout"] == "plink" and plink.n_samples == 3
    assert resolve_dataset(plink.source).fingerprint == plink.fingerprint
    files = resolve_dataset([d / "g.bed", d / "g.bim", d / "g.fam", d / "pheno.txt"])
    assert files.fingerprint == plink.fingerprint
    # PLINK 2: the same calls as ALT counts
    p2 = tmp_path / "plink2"
    p2.mkdir()
    writer = pgenlib.PgenWriter(bytes(p2 / "g.pgen"), 3, 1, False)
    writer.append_biallelic(np.array([0, 2, 1], dtype=np.int8))
    writer.close()
    (p2 / "g.pvar").write_text("#CHROM\tPOS\tID\tREF\tALT\n1\t1\tm1\tA\tC\n")
    (p2 / "g.psam").write_text("#IID\ns1\ns2\ns3\n")
    (p2 / "pheno.txt").write_text(PHENO)
    pgen = resolve_dataset(p2)
    assert pgen.report["layout"] == "pgen" and pgen.genotype_codes.ravel().tolist() == [0, 2, 1]
    assert resolve_dataset(pgen.source).fingerprint == pgen.fingerprint
    # BCF, in a folder and as files
    b = tmp_path / "bcf"
    b.mkdir()
    write_bcf(tmp_path / "vcf" / "calls.vcf.gz", b / "calls.bcf")
    (b / "traits.csv").write_text(PHENO)
    bcf = resolve_dataset(b)
    assert bcf.report["layout"] == "vcf" and bcf.report["format"] == "bcf"
    assert bcf.genotype_codes.tolist() == vcf.genotype_codes.tolist()
    assert resolve_dataset([b / "calls.bcf", b / "traits.csv"]).fingerprint == bcf.fingerprint


def test_resolver_errors(tmp_path):
    with pytest.raises(DataError, match=r"nothing\.csv: no such file or folder"):
        resolve_dataset(str(tmp_path / "nothing.csv"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: the folder is empty"):
        resolve_dataset(tmp_path / "empty")
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "notes.txt").write_text("x")
    with pytest.raises(
        DataError, match=r"odd: cannot tell the layout .*files in the folder: notes"
    ):
        resolve_dataset(odd)
    with pytest.raises(DataError, match=r"no data given"):
        resolve_dataset([])
    assert spec_exists("yeast") and not spec_exists(str(tmp_path / "gone"))
    assert not spec_exists(json.dumps([str(tmp_path / "gone.vcf")]))


@pytest.mark.parametrize(
    ("qtl_name", "trait"),
    [
        ("4NQO", "x4NQO"),
        ("4NQO", "X4NQO"),
        ("x4NQO", "4NQO"),
        ("YPD:37C", "YPD.37C"),
        ("YPD:37C", "ypd_37c"),
        ("Cadmium_Chloride", "cadmium.chloride"),
        ("6-Azauracil", "X6.Azauracil"),
    ],
)
def test_trait_names_match_leniently(qtl_name, trait):
    assert trait_key(qtl_name) == trait_key(trait)
    assert match_traits([qtl_name], ["other", trait]) == {qtl_name: trait}


def test_ambiguous_or_unmatched_trait_names_are_listed(make_file):
    assert trait_key("Xylose") == "xylose"  # an X that is a letter of the name stays
    assert match_traits(["a.b"], ["a_b", "A-B"]) == {}  # two candidates: no guess
    q = read_known_qtl(
        make_file("q.csv", "trait,chromosome,position\n4NQO,1,5\nzz,1,6\nzz,2,7\nyy,1,1\n"),
        traits=["X4NQO", "t2"],
    )
    assert q["trait"].tolist() == ["X4NQO"]
    assert q.attrs["dropped_traits"] == ["yy", "zz"]
    assert (q.attrs["dropped_rows"], q.attrs["rows_read"]) == (3, 4)


def test_unmatched_known_qtl_in_the_report_and_info(tmp_path, capsys):
    d = tmp_path / "d"
    d.mkdir()
    (d / "genotypes.csv").write_text(GENO)
    (d / "phenotypes.csv").write_text("sample,x4NQO,YPD.37C\ns1,1,2\ns2,2,3\ns3,3,4\n")
    (d / "known_qtl.csv").write_text(
        "trait,chromosome,position\n4NQO,1,5\nYPD:37C,1,6\nLactose,2,7\nLactose,2,9\nZeo,1,1\n"
    )
    ds = resolve_dataset(d)
    assert len(ds.known_qtl) == 2
    assert ds.report["known_qtl_renamed_traits"] == {"4NQO": "x4NQO", "YPD:37C": "YPD.37C"}
    assert ds.report["known_qtl_unmatched"] == {
        "rows": 3,
        "of_rows": 5,
        "traits": ["Lactose", "Zeo"],
    }
    from gpatlas_core.cli import main

    assert main(["info", str(d)]) == 0
    out = capsys.readouterr().out
    assert "known QTL:          2 of 5 (the others name no phenotype column)" in out
    assert (
        "note: 3 known QTL (2 trait name(s)) match no phenotype column and are left out: Lactose, Zeo"
        in out
    )
    assert "4NQO -> x4NQO" in out


def test_yeast_known_qtl_that_used_to_drop_out():
    """71 of the 591 yeast QTL (6 trait names) name no phenotype column exactly: R's ``X``
    prefix on five names, and the one pair the files name differently. All 591 are kept, each
    under its phenotype column, so per-trait overlays and recovery see them."""
    from gpatlas_core.io import load_yeast_sample
    from gpatlas_core.tl import merge_intervals

    ds = load_yeast_sample()
    raw = read_known_qtl(YEAST_SAMPLE_DIR / "known_qtl_bloom2013.csv.gz")
    exact = ~raw["trait"].isin(ds.traits)
    assert (int(exact.sum()), raw["trait"][exact].nunique(), len(raw)) == (71, 6, 591)
    renamed = {
        "4-Hydroxybenzaldehyde": "x4-Hydroxybenzaldehyde",
        "4NQO": "x4NQO",
        "5-Fluorocytosine": "x5-Fluorocytosine",
        "5-Fluorouracil": "x5-Fluorouracil",
        "6-Azauracil": "x6-Azauracil",
        "Manganese_Sulfate": "Magnesium_Sulfate",
    }
    assert ds.report["known_qtl_renamed_traits"] == renamed
    assert len(ds.known_qtl) == 591 and "known_qtl_unmatched" not in ds.report
    assert set(ds.known_qtl["trait"]) <= set(ds.traits)
    counts = raw["trait"].value_counts()
    for qtl_name, trait in renamed.items():
        assert (ds.known_qtl["trait"] == trait).sum() == counts[qtl_name]
    assert len(merge_intervals(ds.known_qtl, trait="x4NQO")) > 0
    # leniency alone (no alias) leaves only the differently named pair, and says so
    lenient = read_known_qtl(
        YEAST_SAMPLE_DIR / "known_qtl_bloom2013.csv.gz", traits=ds.traits, aliases={}
    )
    assert lenient.attrs["dropped_traits"] == ["Manganese_Sulfate"]
    assert (lenient.attrs["dropped_rows"], len(lenient)) == (12, 579)
