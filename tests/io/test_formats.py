"""BY x RM layout (and the shipped yeast sample), PLINK and VCF readers."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pytest
from bed_reader import to_bed

from gpatlas_core.io import DataError, load_yeast_sample, read_bloom, read_plink, read_vcf


def test_yeast_sample(yeast):
    assert (yeast.n_samples, yeast.n_loci, yeast.n_traits) == (1008, 11623, 46)
    assert yeast.n_allele_columns == 23246 and yeast.alleles[0] == ("B", "R")
    assert len(yeast.known_qtl) == 591
    assert set(yeast.known_qtl["trait"]) <= set(yeast.traits)
    assert sorted(yeast.markers["chromosome"].unique(), key=int) == [str(i) for i in range(1, 17)]
    first = yeast.markers.iloc[0]
    assert (first["marker"], first["chromosome"], first["position"]) == (
        "27915_chr01_27915_T_C",
        "1",
        27915,
    )
    assert 0.05 < np.isnan(yeast.phenotypes).mean() < 0.055
    assert yeast.report["matched_samples"] == 1008
    assert set(yeast.known_qtl.columns) >= {
        "trait",
        "chromosome",
        "position",
        "ci_left",
        "ci_right",
        "variance_explained",
        "lod",
    }
    assert (yeast.known_qtl["ci_left"] <= yeast.known_qtl["ci_right"]).all()


def test_yeast_loads_with_a_missing_policy():
    ds = load_yeast_sample(missing_policy="most_frequent")
    assert ds.missing_policy == "most_frequent"


def test_bloom_layout_small(make_file):
    geno = make_file(
        "g.txt.gz",
        gzip.compress(b"marker\tA1\tA2\tA3\n1_chr01_10_A_T\tB\tR\tB\n2_chr02_20_A_T\tR\tNA\tB\n"),
    )
    pheno = make_file("p.txt", "\tt1\tt2\nA1\t1\tNA\nA2\t2\t3\nA3\tNA\t4\nZ9\t1\t1\n")
    ds = read_bloom(geno, pheno)
    assert ds.genotype_codes.tolist() == [[0, 1], [1, -1], [0, 0]]
    assert ds.markers["chromosome"].tolist() == ["1", "2"]
    assert ds.report["unmatched_phenotype_ids"] == ["Z9"]
    assert ds.n_allele_columns == 5  # NA state for the marker with a missing call
    with pytest.raises(DataError, match=r"no sample id"):
        read_bloom(geno, make_file("p2.txt", "\tt1\nX1\t1\n"))


def _plink(tmp_path, val, iids, **props):
    bed = tmp_path / "d.bed"
    to_bed(bed, np.asarray(val, dtype=np.float32), properties={"iid": iids, **props})
    return bed, tmp_path / "d.bim", tmp_path / "d.fam"


def test_plink_diploid_and_haploid(tmp_path, make_file):
    bed, bim, fam = _plink(
        tmp_path,
        [[0, 2, 1], [2, 2, 0], [np.nan, 0, 2], [1, 0, 0]],
        ["s1", "s2", "s3", "s4"],
        sid=["rs1", "rs2", "rs3"],
        chromosome=["1", "chr2", "X"],
        bp_position=[100, 200, 300],
    )
    pheno = make_file("ph.txt", "FID IID t1 t2\n0 s1 1.5 -9\n0 s2 2 3\n0 s3 NA 1\n0 s9 1 1\n")
    ds = read_plink(bed, bim, fam, pheno)
    assert ds.genotype_codes.tolist() == [[0, 1, 1], [2, 1, 0], [-1, 0, 2]]
    assert ds.alleles == [("0", "1", "2"), ("0", "2"), ("0", "1", "2")]
    assert ds.markers["chromosome"].tolist() == ["1", "2", "X"]
    assert np.isnan(ds.phenotypes[0, 1])  # PLINK -9 = missing
    assert ds.report["ploidy"] == 2 and ds.report["unmatched_genotype_ids"] == ["s4"]
    # file-likes work too
    handles = [io.BytesIO(p.read_bytes()) for p in (bed, bim, fam, pheno)]
    assert read_plink(*handles).fingerprint == ds.fingerprint
    with pytest.raises(DataError, match=r"heterozygous"):
        read_plink(bed, bim, fam, pheno, ploidy=1)

    hbed, hbim, hfam = _plink(tmp_path, [[0, 2], [2, 2], [2, 0]], ["a", "b", "c"])
    hap = read_plink(hbed, hbim, hfam, make_file("h.csv", "sample,t\na,1\nb,2\nc,3\n"))
    assert hap.report["ploidy"] == 1 and hap.alleles == [("0", "1"), ("0", "1")]
    assert hap.genotype_codes.tolist() == [[0, 1], [1, 1], [1, 0]]


def test_plink_mismatched_trio(tmp_path, make_file):
    bed, bim, fam = _plink(tmp_path, [[0, 2], [2, 2]], ["a", "b"])
    fam.write_text(fam.read_text() + "0 c 0 0 0 -9\n0 d 0 0 0 -9\n0 e 0 0 0 -9\n0 f 0 0 0 -9\n")
    pheno = make_file("p.csv", "sample,t\na,1\n")
    with pytest.raises(DataError, match=r"d.bed.*belong together"):
        read_plink(bed, bim, fam, pheno)
    with pytest.raises(DataError, match=r"not a PLINK .bed"):
        read_plink(make_file("x.bed", b"hello"), bim, fam, pheno)
    with pytest.raises(DataError, match=r"line 1 has 2 fields; expected 6"):
        read_plink(bed, bim, make_file("bad.fam", "a b\n"), pheno)


VCF = """##fileformat=VCFv4.2
##contig=<ID=chrI>
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2\ts3
chrI\t100\trs1\tA\tG\t.\tPASS\t.\tGT:DP\t0/1:3\t1|1:4\t./.:0
chrIV\t200\t.\tA\tG,T\t.\t.\t.\tGT\t2/0\t0|0\t1/1
chrXVI\t300\trs3\tC\tT\t.\t.\t.\tGT\t0\t1\t.
"""
PHENO = "sample,t\ns1,1\ns2,2\ns3,3\n"


def test_vcf_diploid_haploid_gz(make_file):
    ds = read_vcf(make_file("v.vcf.gz", gzip.compress(VCF.encode())), make_file("p.csv", PHENO))
    assert ds.alleles == [("0/1", "1/1"), ("0/0", "0/2", "1/1"), ("0", "1")]
    assert ds.genotype_codes.T.tolist() == [[0, 1, -1], [1, 0, 2], [0, 1, -1]]
    assert ds.markers["marker"].tolist() == ["rs1", "chrIV_200", "rs3"]
    assert ds.markers["chromosome"].tolist() == ["1", "4", "16"]
    assert ds.report["ploidy"] == [1, 2]
    plain = read_vcf(make_file("v.vcf", VCF), make_file("p.csv", PHENO))
    assert plain.fingerprint == ds.fingerprint


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("chrI\t5\tx\tA\tG\t.\t.\t.\tGT\t0/1\t0/A\t0/0", "unknown genotype '0/A'"),
        ("chrI\t5\tx\tA\tG\t.\t.\t.\tGT\t0/1\t0/3\t0/0", "allele index 3.*only 1 ALT"),
        ("chrI\t5\tx\tA\tG\t.\t.\t.\tDP\t1\t2\t3", "no GT field"),
        ("chrI\t5\tx\tA\tG\t.\t.\t.\tGT\t0/1\t0/0", "line 7 has 11 tab-separated fields"),
        ("chrI\tfive\tx\tA\tG\t.\t.\t.\tGT\t0\t0\t0", "'five' is not a position"),
    ],
)
def test_vcf_malformed(make_file, line, message):
    with pytest.raises(DataError, match=message):
        read_vcf(make_file("v.vcf", VCF + line + "\n"), make_file("p.csv", PHENO))


def test_vcf_bad_header(make_file):
    with pytest.raises(DataError, match=r"#CHROM"):
        read_vcf(make_file("v.vcf", "##fileformat=VCFv4.2\nchr1\t1\n"), make_file("p.csv", PHENO))
    dup = VCF.replace("\ts3\n", "\ts1\n")
    with pytest.raises(DataError, match=r"'s1' appears twice"):
        read_vcf(make_file("v.vcf", dup), make_file("p.csv", PHENO))
