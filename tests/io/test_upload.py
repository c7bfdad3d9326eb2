"""read_uploaded: the layout is recognised from the file names."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pytest
from bed_reader import to_bed

from gpatlas_core.io import DataError, read_uploaded, recognise_layout, write_dataset_folder


class Upload(io.BytesIO):
    """Like Streamlit's UploadedFile: a BytesIO with a name and a size."""

    def __init__(self, name: str, data: bytes) -> None:
        super().__init__(data)
        self.name = name
        self.size = len(data)


def test_recognise_layouts():
    assert recognise_layout(["genotypes.csv.gz", "phenotypes.csv", "markers.csv"])[0] == "folder"
    assert recognise_layout(["BYxRM_GenoData.txt.gz", "BYxRM_PhenoData.txt", "qtl.csv"])[1] == {
        "bloom_geno": "BYxRM_GenoData.txt.gz",
        "bloom_pheno": "BYxRM_PhenoData.txt",
        "known_qtl": "qtl.csv",
    }
    layout, roles, ignored = recognise_layout(["a.vcf.gz", "traits.tsv"])
    assert layout == "vcf" and roles["phenotypes"] == "traits.tsv" and not ignored
    assert recognise_layout(["x.bed", "x.bim", "x.fam", "pheno.txt", "notes.txt"])[2] == [
        "notes.txt"
    ]
    with pytest.raises(DataError, match=r"missing .fam"):
        recognise_layout(["x.bed", "x.bim", "p.csv"])
    with pytest.raises(DataError, match=r"VCF genotypes need a phenotype table"):
        recognise_layout(["a.vcf"])
    with pytest.raises(DataError, match=r"cannot tell the layout"):
        recognise_layout(["stuff.csv"])
    with pytest.raises(DataError, match=r"several tables"):
        recognise_layout(["a.vcf", "x.csv", "y.csv"])


def test_upload_folder_files(tiny_dataset, tmp_path):
    out = write_dataset_folder(tiny_dataset, tmp_path / "t")
    files = [Upload(p.name, p.read_bytes()) for p in out.rglob("*") if p.is_file()]
    ds = read_uploaded(files)
    assert ds.fingerprint == tiny_dataset.fingerprint
    assert ds.truth is not None and len(ds.truth.interactions) == len(
        tiny_dataset.truth.interactions
    )
    assert ds.report["layout"] == "folder" and "dataset.json" in ds.report["ignored_files"]
    pairs = [(f.name, f.getvalue()) for f in files]
    assert read_uploaded(pairs, missing_policy="most_frequent").missing_policy == "most_frequent"


def test_upload_bloom_vcf_plink(tmp_path):
    geno = gzip.compress(b"marker\tA1\tA2\n1_chr01_10_A_T\tB\tR\n")
    pheno = b"\tt\nA1\t1\nA2\t2\n"
    ds = read_uploaded(
        [Upload("BYxRM_GenoData.txt.gz", geno), Upload("BYxRM_PhenoData.txt", pheno)]
    )
    assert ds.report["layout"] == "bloom" and ds.n_samples == 2
    vcf = b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA1\tA2\n1\t5\t.\tA\tC\t.\t.\t.\tGT\t0\t1\n"
    ds = read_uploaded([Upload("calls.vcf", vcf), Upload("pheno.tsv", pheno)])
    assert ds.report["layout"] == "vcf" and ds.alleles == [("0", "1")]
    to_bed(
        tmp_path / "x.bed",
        np.array([[0.0], [2.0]], dtype=np.float32),
        properties={"iid": ["A1", "A2"]},
    )
    files = [Upload(n, (tmp_path / n).read_bytes()) for n in ("x.bed", "x.bim", "x.fam")]
    ds = read_uploaded([*files, Upload("pheno.csv", b"IID,t\nA1,1\nA2,2\n")])
    assert ds.report["layout"] == "plink" and ds.genotype_codes.ravel().tolist() == [0, 1]


def test_dataset_zip_round_trip_through_the_upload():
    import zipfile

    from gpatlas_core.io import dataset_to_zip
    from gpatlas_core.sim import SimulationConfig, simulate

    ds = simulate(
        SimulationConfig(n_individuals=40, n_loci=12, n_traits=3, causal_per_trait=3),
        rng=np.random.default_rng(2),
    )
    ds.name = "simulation (seed 2)"
    data = dataset_to_zip(ds)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
    root = "simulation_seed_2"
    assert {
        f"{root}/genotypes.csv",
        f"{root}/phenotypes.csv",
        f"{root}/markers.csv",
        f"{root}/truth/causal_alleles.csv",
        f"{root}/truth/interactions.csv",
        f"{root}/dataset.json",
    } <= names
    assert dataset_to_zip(ds) == data  # no timestamps: same data, same bytes
    back = read_uploaded([Upload("simulation_seed_2.zip", data)])
    assert back.fingerprint == ds.fingerprint
    assert back.name == "simulation (seed 2)"
    np.testing.assert_array_equal(back.genotype_codes, ds.genotype_codes)
    np.testing.assert_array_equal(back.phenotypes, ds.phenotypes)
    assert back.truth is not None
    pd_cols = ["marker", "allele", "trait"]
    assert back.truth.causal[pd_cols].equals(ds.truth.causal[pd_cols])
    np.testing.assert_allclose(back.truth.causal["weight"], ds.truth.causal["weight"])
    assert back.truth.interactions.reset_index(drop=True).equals(
        ds.truth.interactions.reset_index(drop=True)
    )


def test_zip_upload_limits_and_bad_zips():
    import zipfile

    from gpatlas_core.io import ReadLimits

    def make(files: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, data in files.items():
                zf.writestr(name, data)
        return buf.getvalue()

    with pytest.raises(DataError, match="not a valid zip"):
        read_uploaded([Upload("data.zip", b"PK\x03\x04 not really")])
    bomb = make({"genotypes.csv": b"0" * 5_000_000, "phenotypes.csv": b"sample,t\n"})
    with pytest.raises(DataError, match="more than the limit"):
        read_uploaded([Upload("bomb.zip", bomb)], limits=ReadLimits(max_uncompressed_bytes=10**6))
    with pytest.raises(DataError, match="zip inside a zip"):
        read_uploaded([Upload("outer.zip", make({"inner.zip": make({"a.csv": b"x"})}))])
    with pytest.raises(DataError, match="holds no files"):
        read_uploaded([Upload("empty.zip", make({}))])
    many = make({f"f{i}.csv": b"x" for i in range(70)})
    with pytest.raises(DataError, match="70 files"):
        read_uploaded([Upload("many.zip", many)])
