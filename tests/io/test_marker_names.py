"""Marker positions guessed from marker names, and names that carry none."""

from __future__ import annotations

from gpatlas_core.io import markers_from_names


def test_positions_are_read_only_from_names_that_carry_them() -> None:
    names = [
        "27915_chr01_27915_T_C",  # BY x RM
        "chr2:1500",
        "3_2000_A_T",
        "X:100",
        "IV_2500",
        "locus_0001",  # a prefix that is no chromosome
        "snp_12",
        "rs12345",
    ]
    m = markers_from_names(names)
    assert m["position"].tolist() == [27915, 1500, 2000, 100, 2500, -1, -1, -1]
    chrom = m["chromosome"].astype(str).tolist()
    assert chrom[5] == chrom[6] == chrom[7] == "unknown"
    assert len(set(chrom[:5])) == 5 and "unknown" not in chrom[:5]
