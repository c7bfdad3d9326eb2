"""Marker groups: windows of a constructed marker map, the marker,group table and its errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gpatlas_core.io import DataError, parse_size, read_groups, resolve_groups, window_groups


@pytest.mark.parametrize(
    ("text", "bp"), [("50kb", 50_000), ("1mb", 1_000_000), ("20000", 20_000), ("2.5KB", 2_500)]
)
def test_parse_size(text: str, bp: int) -> None:
    assert parse_size(text) == bp


@pytest.mark.parametrize("text", ["", "kb", "-5kb", "50 parsecs", "0"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(DataError, match="window size"):
        parse_size(text)


def test_windows_on_a_constructed_map() -> None:
    markers = pd.DataFrame(
        {
            "marker": ["a", "b", "c", "d", "e", "f"],
            "chromosome": ["1", "1", "1", "2", "2", "2"],
            "position": [10, 49_999, 50_000, 10, 120_000, -1],
        }
    )
    g = window_groups(markers, "50kb")
    # a, b share chr1 [0, 50k); c starts the next window; chr 2 windows are separate from
    # chr 1's; f (unknown position) gets a group of its own
    assert g.names == ["1:0-50000", "1:50000-100000", "2:0-50000", "2:100000-150000", "f"]
    assert g.group.tolist() == [0, 0, 1, 2, 3, 4]
    assert g.spec == "windows:50kb"
    assert window_groups(markers, 1_000_000).group.tolist() == [0, 0, 0, 1, 1, 2]


def test_windows_need_positions() -> None:
    markers = pd.DataFrame({"marker": ["a", "b"], "chromosome": ["", ""], "position": [-1, -1]})
    with pytest.raises(DataError, match="marker positions"):
        window_groups(markers, "50kb")


def test_group_table_and_unlisted_markers(make_file) -> None:
    path = make_file("g.csv", "marker,group\nb,geneX\nd,geneX\na,geneY\n")
    g = read_groups(path, np.array(["a", "b", "c", "d"]))
    assert g.names == ["geneY", "geneX", "c"]  # c is not listed: its own group
    assert g.group.tolist() == [0, 1, 2, 1]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("marker,group\na,g1\nzz,g1\nyy,g2\n", r"2 marker\(s\) not in the dataset: 'zz', 'yy'"),
        ("marker,group\na,g1\na,g2\n", "appears twice"),
        ("marker,group\na,\n", "empty group"),
        ("snp_name,pathway_x\n", "expected columns marker, group"),
        ("marker,group\n", "no markers listed"),
    ],
)
def test_bad_group_files(make_file, text: str, match: str) -> None:
    path = make_file("bad.csv", text)
    with pytest.raises(DataError, match=match):
        read_groups(path, np.array(["a", "b"]))


def test_resolve_groups(tiny_dataset, tmp_path: Path) -> None:
    g = resolve_groups(tiny_dataset, "windows:25kb")
    assert g.group.shape == (tiny_dataset.n_loci,)
    assert g.column_groups(tiny_dataset).shape == (tiny_dataset.n_allele_columns,)
    with pytest.raises(DataError, match="not a file"):
        resolve_groups(tiny_dataset, str(tmp_path / "missing.csv"))


def test_group_table_from_an_upload() -> None:
    import io

    up = io.BytesIO(b"marker,group\na,g1\nb,g1\n")
    up.name = "genes.csv"  # what Streamlit's UploadedFile carries
    g = read_groups(up, np.array(["a", "b", "c"]))
    assert g.spec == "genes.csv" and g.group.tolist() == [0, 0, 1]
