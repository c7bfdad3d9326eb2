"""Every importance figure builds from a small result."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from gpatlas_core.io import Truth
from gpatlas_core.pl import (
    causal_roc,
    importance_vs_weight,
    interval_roc_curve,
    manhattan,
    qtl_recovery_curve,
    variance_explained_scatter,
)
from gpatlas_core.tl import (
    ImportanceResult,
    causal_allele_roc,
    interval_roc,
    qtl_recovery,
    variance_explained_correlation,
)


@pytest.fixture
def result() -> ImportanceResult:
    rng = np.random.default_rng(0)
    n_loci = 60
    markers = [f"m{i:02d}" for i in range(n_loci)]
    alleles = pd.DataFrame(
        {
            "marker": np.repeat(markers, 2),
            "allele": ["B", "R"] * n_loci,
            "importance": rng.random(2 * n_loci),
            "trait:A": rng.random(2 * n_loci),
        }
    )
    loci = pd.DataFrame(
        {
            "marker": markers,
            "chromosome": [str(1 + i // 20) for i in range(n_loci)],
            "position": [5_000 * (1 + i % 20) for i in range(n_loci)],
            "importance": alleles["importance"].to_numpy().reshape(-1, 2).max(axis=1),
            "ci_low": 0.0,
            "ci_high": 1.0,
            "trait:A": alleles["trait:A"].to_numpy().reshape(-1, 2).max(axis=1),
        }
    )
    matrix = rng.normal(size=(5, 2 * n_loci)).astype(np.float32)
    return ImportanceResult(matrix=matrix, alleles=alleles, loci=loci, params={"tier": "genotype"})


@pytest.fixture
def known_qtl() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trait": ["A", "B", "A"],
            "chromosome": ["1", "1", "3"],
            "position": [20_000, 30_000, 50_000],
            "ci_left": [10_000, 25_000, 40_000],
            "ci_right": [30_000, 40_000, 60_000],
            "variance_explained": [0.3, 0.1, 0.2],
        }
    )


def test_manhattan_all_traits(result, known_qtl) -> None:
    fig = manhattan(result, known_qtl=known_qtl)
    assert isinstance(fig, go.Figure)
    points = [t for t in fig.data if isinstance(t, go.Scattergl)]
    assert sum(len(t.x) for t in points) == 60
    assert max(max(t.y) for t in points) == pytest.approx(1.0)  # scaled by the maximum
    # all traits: QTL peaks, not the union of every interval (which would shade most of it)
    assert len(fig.layout.shapes) == 1  # the percentile line only
    (peaks,) = [t for t in fig.data if t.name == "known QTL peak"]
    assert len(peaks.x) == 3
    assert "known QTL: B" in peaks.text[1] and "peak 30,000 bp" in peaks.text[1]
    assert "25,000-40,000 bp" in peaks.text[1] and "variance explained 0.1" in peaks.text[1]
    assert list(fig.layout.xaxis.ticktext) == ["1", "2", "3"]
    assert "customdata[0]" in points[0].hovertemplate
    picked = manhattan(result, known_qtl=known_qtl, qtl_traits=["B"], percentile=None)
    assert len(picked.layout.shapes) == 1  # B's interval, as a band
    (labels,) = [t for t in picked.data if t.name == "known QTL (1.5-LOD interval)"]
    assert len(labels.x) == 1 and "known QTL: B" in labels.text[0]


def test_manhattan_one_trait_and_zoom(result, known_qtl) -> None:
    fig = manhattan(result, trait="A", known_qtl=known_qtl, percentile=None)
    assert len(fig.layout.shapes) == 2  # trait A's two intervals, no percentile line
    (labels,) = [t for t in fig.data if t.name == "known QTL (1.5-LOD interval)"]
    assert all("known QTL: A" in t for t in labels.text)  # hover names the trait
    zoom = manhattan(result.loci, known_qtl=known_qtl, chromosome="3")
    points = [t for t in zoom.data if isinstance(t, go.Scattergl)]
    assert sum(len(t.x) for t in points) == 20
    assert max(max(t.x) for t in points) == 100_000  # positions on the chromosome
    with pytest.raises(ValueError, match="chromosome"):
        manhattan(result, chromosome="9")
    with pytest.raises(ValueError, match="column"):
        manhattan(result, trait="C")


def test_recovery_figures(result, known_qtl) -> None:
    fig = qtl_recovery_curve(qtl_recovery(result.loci, known_qtl))
    assert isinstance(fig, go.Figure) and len(fig.data) == 2
    fig = interval_roc_curve(interval_roc(result.loci, known_qtl))
    assert "AUC" in fig.data[1].name
    fig = variance_explained_scatter(variance_explained_correlation(result.loci, known_qtl))
    assert "Pearson r" in fig.layout.title.text


def test_truth_figures(result) -> None:
    causal = pd.DataFrame(
        {
            "marker": ["m01", "m01", "m10"],
            "allele": ["B", "R", "B"],
            "trait": ["A", "A", "A"],
            "weight": [2.0, 4.0, 1.0],
        }
    )
    roc = causal_allele_roc(result.alleles, Truth(causal=causal, interactions=pd.DataFrame()))
    fig = causal_roc(roc)
    assert isinstance(fig, go.Figure) and len(fig.data) == 3
    fig = importance_vs_weight(roc, show_noncausal=True)
    assert len(fig.data) == 2 and len(fig.data[0].x) == 3
