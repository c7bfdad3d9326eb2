"""Effect plot data at one marker, and linkage (r^2) with a lead marker."""

from __future__ import annotations

import numpy as np
import pytest

from gpatlas_core import pl
from gpatlas_core.config import preset
from gpatlas_core.io import DataError
from gpatlas_core.tl import genotype_classes, linkage_with, marker_effect
from gpatlas_core.train import train

pytestmark = pytest.mark.usefixtures("one_thread")


def test_marker_effect_groups_test_individuals_by_genotype(tiny_dataset) -> None:
    ds = tiny_dataset
    run = train(ds, preset("quick", epochs_phenotype=2, epochs_genotype=1))
    marker, trait = str(ds.allele_columns["marker"].iloc[0]), ds.traits[1]
    eff = marker_effect(run, ds, marker, trait)
    rows = run.test_rows(ds)
    t = eff.individuals
    assert t["sample"].tolist() == [str(s) for s in np.asarray(ds.samples)[rows]]
    j = list(ds.traits).index(trait)
    np.testing.assert_allclose(t["observed"], ds.phenotypes[rows, j])
    x, _, _ = run.model_inputs(ds, rows)
    np.testing.assert_allclose(t["gpatlas"], run.predict_from_genotypes(x)[:, j], rtol=1e-5)
    # the genotype class is the allele whose one-hot column is set
    cols = np.flatnonzero(ds.allele_columns["marker"].astype(str) == marker)
    labels = ds.allele_columns["allele"].astype(str).to_numpy()[cols]
    want = labels[np.argmax(ds.onehot(rows)[:, cols], axis=1)]
    assert (t["genotype"].to_numpy() == want).all()
    c = eff.by_class.set_index("genotype")
    for g, part in t.groupby("genotype"):
        assert c.loc[g, "n"] == len(part)
        assert c.loc[g, "observed_mean"] == pytest.approx(part["observed"].mean())
        assert c.loc[g, "ridge_mean"] == pytest.approx(part["ridge"].mean())
    fig = pl.effect_plot(eff)
    assert fig.data[0].type == "box" and len(fig.data) == 3
    with pytest.raises(DataError, match="no marker"):
        marker_effect(run, ds, "nope", trait)
    with pytest.raises(DataError, match="no trait"):
        marker_effect(run, ds, marker, "nope")


def test_linkage_is_one_with_itself_and_matches_a_correlation(tiny_dataset) -> None:
    ds = tiny_dataset
    markers = ds.allele_columns["marker"].astype(str).unique().tolist()
    lead = markers[0]
    ld = linkage_with(ds, lead, markers[:5])
    assert ld["marker"].tolist() == markers[:5]
    assert ld["r2"].iloc[0] == pytest.approx(1.0)
    assert ((ld["r2"] >= 0) & (ld["r2"] <= 1 + 1e-9)).all()
    # by hand for the second marker: the largest r^2 over pairs of allele indicators
    x = ds.onehot()
    ac = ds.allele_columns["marker"].astype(str).to_numpy()
    a, b = x[:, ac == lead], x[:, ac == markers[1]]
    best = max(
        np.corrcoef(a[:, i], b[:, j])[0, 1] ** 2
        for i in range(a.shape[1])
        for j in range(b.shape[1])
        if a[:, i].std() > 0 and b[:, j].std() > 0
    )
    assert ld["r2"].iloc[1] == pytest.approx(best, rel=1e-5)
    assert set(genotype_classes(ds, lead, np.arange(5))) <= set(
        ds.allele_columns["allele"].astype(str)[ac == lead]
    )


def test_region_of_a_selection() -> None:
    import pandas as pd

    from gpatlas_core.tl import region_of

    loci = pd.DataFrame(
        {"marker": ["a", "b", "c", "d"], "chromosome": ["1", "2", "2", "2"],
         "position": [5, 100, 300, 200], "importance": [9.0, 0.1, 0.5, 0.3]}
    )  # fmt: skip
    assert region_of(loci, ["a", "b", "c", "d"]) == ("c", "2", 100, 300)
    with pytest.raises(DataError, match="none of the selected"):
        region_of(loci, ["z"])


def test_region_plot_colours_by_linkage() -> None:
    import pandas as pd

    loci = pd.DataFrame(
        {"marker": ["a", "b"], "chromosome": ["2", "2"], "position": [100, 300],
         "importance": [0.5, 0.2]}
    )  # fmt: skip
    ld = pd.DataFrame({"marker": ["a", "b"], "r2": [1.0, 0.25]})
    fig = pl.region_plot(loci, "importance", ld, "a")
    assert list(fig.data[0].marker.color) == [1.0, 0.25]
    assert list(fig.data[0].marker.symbol) == ["diamond", "circle"]
