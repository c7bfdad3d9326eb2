"""Top loci by importance, with the known QTL whose interval holds each locus."""

from __future__ import annotations

import pandas as pd

from gpatlas_core.tl import top_loci


def test_top_loci_with_known_qtl_and_per_trait():
    loci = pd.DataFrame(
        {
            "marker": ["m1", "m2", "m3", "m4"],
            "chromosome": ["1", "1", "2", "2"],
            "position": [100, 500, 100, 900],
            "importance": [0.1, 0.9, 0.5, 0.2],
            "ci_low": [0.0, 0.7, 0.3, 0.1],
            "ci_high": [0.2, 1.0, 0.6, 0.3],
            "trait:a": [0.0, 0.1, 0.8, 0.0],
        }
    )
    qtl = pd.DataFrame(
        {"trait": ["a", "b"], "chromosome": ["1", "2"], "position": [450, 120],
         "ci_left": [400, 50], "ci_right": [600, 150]}
    )  # fmt: skip
    table = top_loci(loci, percentile=50, known_qtl=qtl)
    assert table["marker"].tolist() == ["m2", "m3"]
    assert table["known_qtl"].tolist() == ["a", "b"]
    assert table["relative"].iloc[0] == 1.0 and "ci_low" in table
    per = top_loci(loci, trait="a", percentile=75, known_qtl=qtl)
    assert per["marker"].tolist() == ["m3"] and per["known_qtl"].tolist() == [""]
    zoom = top_loci(loci, percentile=0, chromosome="2")
    assert set(zoom["chromosome"]) == {"2"}
