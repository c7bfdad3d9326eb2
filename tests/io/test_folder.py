"""Dataset-folder format: write/read round trip, variants users write by hand."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from gpatlas_core.io import (
    DataError,
    read_dataset_folder,
    read_known_qtl,
    read_markers,
    write_dataset_folder,
)
from gpatlas_core.io._maps import normalize_chromosomes


def test_round_trip(tiny_dataset, tiny_folder):
    back = read_dataset_folder(tiny_folder)
    assert back.fingerprint == tiny_dataset.fingerprint
    assert back.alleles == tiny_dataset.alleles
    pd.testing.assert_frame_equal(back.markers, tiny_dataset.markers)
    pd.testing.assert_frame_equal(back.truth.causal, tiny_dataset.truth.causal)
    pd.testing.assert_frame_equal(back.truth.interactions, tiny_dataset.truth.interactions)
    assert back.name == "tiny"
    assert back.report["matched_samples"] == 50
    assert np.array_equal(back.onehot(), tiny_dataset.onehot())


def test_round_trip_missing_calls_and_phenotypes(tiny_dataset, tmp_path):
    ds = tiny_dataset
    ds.genotype_codes[3, 5] = -1
    ds.genotype_codes[:, 7] = 1  # a marker with a single observed state
    ds.phenotypes[2, 1] = np.nan
    write_dataset_folder(ds, tmp_path / "d", compress=False)
    assert (tmp_path / "d" / "genotypes.csv").is_file()
    for policy in ("own_state", "most_frequent"):
        back = read_dataset_folder(tmp_path / "d", missing_policy=policy)
        assert back.genotype_codes[3, 5] == -1 and np.isnan(back.phenotypes[2, 1])
        assert back.alleles[7] == ("0", "1", "2")  # declared in markers.csv, kept
        assert back.missing_policy == policy
    assert read_dataset_folder(tmp_path / "d").n_allele_columns == 121  # + NA column
    assert (
        read_dataset_folder(tmp_path / "d", missing_policy="most_frequent").n_allele_columns == 120
    )


def test_hand_written_folder(tmp_path):
    d = tmp_path / "hand"
    d.mkdir()
    (d / "genotypes.tsv").write_text(
        "sample\tchrI_100\tchrII_200\tchrXVI_50\ns1\tA\tT\t0\ns2\tG\tNA\t1\ns3\tA\tT\t\n"
    )
    (d / "phenotypes.csv").write_text(
        'sample;t 1;t2\ns3;1,5;2\ns2;NA;1\n"s4";3;3\n'.replace(",", ".")
    )
    ds = read_dataset_folder(d)
    assert list(ds.samples) == ["s2", "s3"]  # genotype order, matched only
    assert ds.markers["chromosome"].tolist() == ["1", "2", "16"]
    assert ds.markers["position"].tolist() == [100, 200, 50]
    assert ds.alleles == [("A", "G"), ("T",), ("0", "1")]
    assert ds.genotype_codes.tolist() == [[1, -1, 1], [0, 0, -1]]
    assert ds.report["unmatched_genotype_ids"] == ["s1"]
    assert ds.report["unmatched_phenotype_ids"] == ["s4"]
    assert ds.report["single_state_markers"]["count"] == 1
    assert ds.traits == ["t 1", "t2"]


def test_gzip_folder_and_markers_file(tmp_path):
    d = tmp_path / "gz"
    d.mkdir()
    (d / "genotypes.csv.gz").write_bytes(gzip.compress(b"sample,m1,m2\na,1,2\nb,2,2\n"))
    (d / "phenotypes.csv").write_text("id,x\na,1\nb,2\n")
    (d / "markers.csv").write_text("marker,chromosome,position\nm2,chrX,5\nm1,chr01,7\n")
    ds = read_dataset_folder(d)
    assert ds.markers.to_dict("list") == {
        "marker": ["m1", "m2"],
        "chromosome": ["1", "X"],
        "position": [7, 5],
    }
    (d / "markers.csv").write_text("marker,chromosome,position\nm1,1,7\n")
    with pytest.raises(DataError, match=r"not in the marker map.*'m2'"):
        read_dataset_folder(d)


def test_missing_required_file(tmp_path):
    (tmp_path / "phenotypes.csv").write_text("sample,x\na,1\n")
    with pytest.raises(DataError, match=r"genotypes.csv"):
        read_dataset_folder(tmp_path)
    with pytest.raises(DataError, match=r"not a folder"):
        read_dataset_folder(tmp_path / "nope")


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["chr01", "chr2", "chrX", "chrM", "Y"], ["1", "2", "X", "MT", "Y"]),
        (["I", "IV", "IX", "X", "XVI", "chrXII"], ["1", "4", "9", "10", "16", "12"]),
        (["X"], ["X"]),
        ([1, 2.0, "3"], ["1", "2", "3"]),
        (["", "NA", "scaffold_12"], ["unknown", "unknown", "scaffold_12"]),
    ],
)
def test_chromosome_normalisation(labels, expected):
    assert normalize_chromosomes(labels) == expected


def test_read_markers_and_known_qtl(make_file):
    m = read_markers(make_file("m.csv", "snp\tchrom\tbp\nr1\tchrIII\t10\nr2\tII\tNA\n"))
    assert m["chromosome"].tolist() == ["3", "2"] and m["position"].tolist() == [10, -1]
    with pytest.raises(DataError, match=r"line 3.*'abc'"):
        read_markers(make_file("m2.csv", "marker,chromosome,position\nr1,1,10\nr2,1,abc\n"))
    q = read_known_qtl(
        make_file(
            "q.csv",
            "trait,chromosome,position,ci_left,ci_right,lod\n"
            "4NQO,chr02,100,90,110,5.5\nother,1,5,1,9,3\nt2,XV,7,,,2\n",
        ),
        traits=["x4NQO", "t2"],
    )
    assert q["trait"].tolist() == ["x4NQO", "t2"]
    assert q.attrs["dropped_traits"] == ["other"]
    assert q.attrs["renamed_traits"] == {"4NQO": "x4NQO"}
    assert q["chromosome"].tolist() == ["2", "XV"]  # mixed set: not all Roman
    assert q["ci_left"].tolist() == [90, 7] and q["lod"].tolist() == [5.5, 2.0]
    with pytest.raises(DataError, match=r"missing column"):
        read_known_qtl(make_file("q2.csv", "trait,pos\na,1\n"))
