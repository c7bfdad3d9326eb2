"""In-silico experiments: allele swaps on toy models whose effect is known by hand, the ridge
refit, meiosis along the map (Poisson crossovers, Haldane recombination, alleles from the
parents), haploid and diploid crosses, selfing without spread, usefulness and parent ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from experiment_toys import linear_run, random_linear_run, toy_run
from torch import nn

from gpatlas_core import tl
from gpatlas_core.io import DataError, Dataset, read_dataset_folder, read_vcf
from gpatlas_core.tl._baselines import ridge_baseline
from gpatlas_core.tl._meiosis import genotype_columns

pytestmark = pytest.mark.usefixtures("one_thread")


def codes(ds: Dataset, rows=None) -> np.ndarray:
    return genotype_columns(ds.onehot(rows), ds.n_loci)


def column(ds: Dataset, marker: str, allele: str) -> int:
    ac = ds.allele_columns
    return int(np.flatnonzero((ac["marker"] == marker) & (ac["allele"] == allele))[0])


# ------------------------------------------------------------------ allele swaps
def test_linear_swap_change_is_the_weight_difference(tiny_dataset) -> None:
    ds = tiny_dataset
    rng = np.random.default_rng(1)
    w = rng.normal(size=(ds.n_traits, ds.n_allele_columns))
    run = linear_run(ds, w)
    marker = ds.markers["marker"].iloc[3]
    new = column(ds, marker, "2")
    res = tl.allele_swaps(run, ds, pd.DataFrame({"marker": [marker], "allele": ["2"]}))
    rows = run.test_rows(ds)
    old = codes(ds, rows)[:, 3]
    changed = old != new
    expected = (w[:, new][None, :] - w[:, old].T)[changed]  # by hand: new weight - old weight
    s = res.summary
    assert list(s["trait"]) == ds.traits and (s["n_individuals"] == changed.sum()).all()
    assert (s["n_carriers"] == (~changed).sum()).all()
    np.testing.assert_allclose(s["mean_change"], expected.mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(s["sd_change"], expected.std(axis=0, ddof=1), atol=1e-5)
    assert np.isnan(res.changes[0][~changed]).all()
    long = res.per_individual(res.sets[0])
    assert len(long) == changed.sum() * ds.n_traits
    assert set(long["background"]) <= {"0", "1"}


def test_multi_locus_set_adds_up_in_a_linear_model(tiny_dataset) -> None:
    ds = tiny_dataset
    run = random_linear_run(ds, seed=2)
    m1, m2 = ds.markers["marker"].iloc[[0, 7]]
    single = pd.DataFrame({"marker": [m1, m2], "allele": ["1", "1"]})
    both = single.assign(set="edit")
    res = tl.allele_swaps(run, ds, pd.concat([single, both]), individuals="all")
    assert res.sets == [f"{m1}:1", f"{m2}:1", "edit"]
    edit = res.summary[res.summary["set"] == "edit"]
    assert edit["marker"].iat[0] == f"{m1};{m2}" and edit["allele"].iat[0] == "1;1"
    c = res.changes
    changed_both = np.isfinite(c[0, :, 0]) & np.isfinite(c[1, :, 0])
    np.testing.assert_allclose(
        c[2, changed_both], c[0, changed_both] + c[1, changed_both], atol=1e-4
    )
    # an individual that already carries one of the two alleles still changes at the other
    carry_one = np.isnan(c[0, :, 0]) & np.isfinite(c[1, :, 0])
    np.testing.assert_allclose(c[2, carry_one], c[1, carry_one], atol=1e-4)


def test_interaction_makes_the_change_depend_on_the_partner(tiny_dataset) -> None:
    """h = relu(x[a=1] + x[b=1] - 1) fires only when both loci carry allele 1: swapping a to 1
    changes trait j by v_j where b carries 1, by 0 elsewhere; ridge is the same everywhere."""
    ds = tiny_dataset
    ma, mb = ds.markers["marker"].iloc[[2, 5]]
    ca, cb = column(ds, ma, "1"), column(ds, mb, "1")
    v = np.array([1.5, -2.0, 0.0, 4.0], dtype=np.float32)
    gq = nn.Sequential(nn.Linear(ds.n_allele_columns, 1), nn.ReLU())
    dec = nn.Sequential(nn.Linear(1, ds.n_traits))
    with torch.no_grad():
        gq[0].weight.zero_()
        gq[0].weight[0, ca] = gq[0].weight[0, cb] = 1.0
        gq[0].bias.fill_(-1.0)
        dec[0].weight.copy_(torch.from_numpy(v[:, None]))
        dec[0].bias.zero_()
    run = toy_run(ds, gq, dec)
    res = tl.allele_swaps(
        run, ds, pd.DataFrame({"marker": [ma], "allele": ["1"]}), individuals="all"
    )
    own = codes(ds)
    changed = own[:, 2] != ca
    partner = own[:, 5] == cb
    expected = np.where(partner[changed, None], v[None, :], 0.0)
    np.testing.assert_allclose(res.changes[0][changed], expected, atol=1e-6)
    np.testing.assert_allclose(res.summary["mean_change"], expected.mean(axis=0), atol=1e-6)
    # ridge: additive, so its change depends only on the allele replaced
    long = res.per_individual()
    per_background = long.groupby(["trait", "background"])["ridge_change"].agg(["min", "max"])
    np.testing.assert_array_equal(per_background["min"], per_background["max"])


def test_ridge_change_is_the_ridge_prediction_difference(tiny_dataset) -> None:
    ds = tiny_dataset
    run = random_linear_run(ds)
    fit = tl.ridge_for_run(run, ds)
    marker = ds.markers["marker"].iloc[9]
    res = tl.allele_swaps(run, ds, pd.DataFrame({"marker": [marker], "allele": ["0"]}), ridge=fit)
    rows = run.test_rows(ds)
    x = ds.onehot(rows)
    xe = x.copy()
    cols = np.flatnonzero(ds.allele_columns["locus"].to_numpy() == 9)
    xe[:, cols] = 0
    xe[:, column(ds, marker, "0")] = 1
    direct = fit.predict(xe) - fit.predict(x)
    changed = np.isfinite(res.ridge_changes[0, :, 0])
    np.testing.assert_allclose(res.ridge_changes[0][changed], direct[changed], atol=1e-4)


def test_ridge_refit_reproduces_the_runs_ridge(tiny_dataset) -> None:
    ds = tiny_dataset
    ds.phenotypes[[1, 6], 0] = np.nan
    run = random_linear_run(ds)
    base = ridge_baseline(ds, run.train_rows(ds))
    run.metrics = {"ridge": {"params": base.params}}  # as Run.evaluate records it
    fit = tl.ridge_for_run(run, ds)  # the recorded penalties: a direct solve, no search
    assert fit.alpha == base.params["alpha"]
    scale = np.abs(base.predictions).max()
    np.testing.assert_allclose(fit.predict(ds.onehot()), base.predictions, atol=1e-5 * scale)
    searched = tl.fit_ridge(ds, run.train_rows(ds))
    np.testing.assert_allclose(searched.predict(ds.onehot()), base.predictions, atol=1e-5 * scale)


def test_swap_table_errors(tiny_dataset) -> None:
    ds = tiny_dataset
    ac = ds.allele_columns
    m = ds.markers["marker"].iloc[0]
    cases = [
        (pd.DataFrame({"marker": [m]}), "expected the columns marker, allele"),
        (pd.DataFrame({"marker": [m], "allele": ["1"], "alelle": ["x"]}), "optionally set"),
        (pd.DataFrame({"marker": [], "allele": []}), "no swaps"),
        (pd.DataFrame({"marker": ["locus_00001"], "allele": ["1"]}), "did you mean 'locus_0001'"),
        (pd.DataFrame({"marker": [m], "allele": ["7"]}), "has the alleles 0, 1, 2, not '7'"),
        (pd.DataFrame({"marker": [m], "allele": ["NA"]}), "missing-call state"),
        (pd.DataFrame({"marker": [m, m], "allele": ["1", "2"], "set": ["s", "s"]}), "twice"),
        (pd.DataFrame({"marker": [m, ""], "allele": ["1", "2"]}), "row 3: empty"),
    ]
    for table, message in cases:
        with pytest.raises(DataError, match=message):
            tl.check_swaps(table, ac, name="swaps.csv")
    ok = tl.check_swaps(pd.DataFrame({"Marker": [m], " ALLELE": ["2"]}), ac)
    assert ok["column"].iat[0] == column(ds, m, "2")
    run = random_linear_run(ds)
    with pytest.raises(DataError, match="not in the data set 'tiny': nobody"):
        tl.select_individuals(run, ds, ["ind_0001", "nobody"])
    assert list(tl.select_individuals(run, ds, ["ind_0003", "ind_0001"])) == [0, 2]


def test_swaps_for_markers(tiny_dataset) -> None:
    ds = tiny_dataset
    names = list(ds.markers["marker"].iloc[:2])
    each = tl.swaps_for_markers(ds, names)
    assert len(each) == 6 and list(each.columns) == ["set", "marker", "allele"]
    rarer = tl.swaps_for_markers(ds, names, alleles="rarer", one_set=True)
    assert len(rarer) == 2 and rarer["set"].nunique() == 1
    counts = codes(ds)[:, 0]
    rare_col = column(ds, names[0], rarer["allele"].iat[0])
    assert (counts == rare_col).sum() == min((counts == c).sum() for c in range(3))
    with pytest.raises(DataError, match="one allele per marker"):
        tl.swaps_for_markers(ds, names, one_set=True)
    with pytest.raises(DataError, match="not in the data set"):
        tl.swaps_for_markers(ds, ["nope"])


def test_cancel_and_progress(tiny_dataset) -> None:
    ds = tiny_dataset
    run = random_linear_run(ds)
    swaps = tl.swaps_for_markers(ds, list(ds.markers["marker"].iloc[:3]))
    seen = []
    tl.allele_swaps(run, ds, swaps, with_ridge=False, on_progress=lambda d, t: seen.append(d))
    assert seen[-1] == 9 and seen == sorted(seen)  # sets are predicted in batches
    with pytest.raises(tl.ExperimentCancelled):
        tl.allele_swaps(run, ds, swaps, with_ridge=False, should_stop=lambda: True)


# ------------------------------------------------------------------ meiosis
def one_chromosome(n_markers: int, span_bp: int, *, chrom: str = "1") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "marker": [f"m{i}" for i in range(n_markers)],
            "chromosome": chrom,
            "position": np.linspace(0, span_bp, n_markers).astype(np.int64),
        }
    )


def test_crossovers_follow_poisson_and_haldane() -> None:
    markers = one_chromosome(11, 10_000_000)  # 10 Mb at 10 cM/Mb: 1 Morgan
    gmap = tl.genetic_map(markers, cm_per_mb=10.0)
    assert gmap.length_cm == pytest.approx(100.0)
    n = 20_000
    origins, crossovers = tl.crossover_origins(gmap, 11, n, rng=np.random.default_rng(3))
    se = np.sqrt(1.0 / n)
    assert crossovers.mean() == pytest.approx(1.0, abs=4 * se)  # Poisson: mean = variance = L
    assert crossovers.var() == pytest.approx(1.0, abs=0.05)
    for j, d in ((1, 0.1), (5, 0.5), (10, 1.0)):  # Morgans from the first marker
        r = (origins[:, 0] != origins[:, j]).mean()
        haldane = (1 - np.exp(-2 * d)) / 2
        assert r == pytest.approx(haldane, abs=4 * np.sqrt(haldane * (1 - haldane) / n))
    assert origins[:, 0].mean() == pytest.approx(0.5, abs=0.02)


def test_unlinked_and_separate_chromosomes_segregate_independently() -> None:
    markers = pd.concat(
        [one_chromosome(3, 1_000, chrom="1"), one_chromosome(3, 1_000, chrom="2")],
        ignore_index=True,
    )
    markers.loc[5, "position"] = -1  # unknown position
    markers["marker"] = [f"m{i}" for i in range(6)]
    gmap = tl.genetic_map(markers, cm_per_mb=1.0)
    assert list(gmap.unlinked) == [5]
    origins, _ = tl.crossover_origins(gmap, 6, 10_000, rng=np.random.default_rng(0))
    assert (origins[:, 0] != origins[:, 1]).mean() < 0.01  # 1 kb at 1 cM/Mb: tightly linked
    for j in (3, 5):
        assert (origins[:, 0] != origins[:, j]).mean() == pytest.approx(0.5, abs=0.03)
    with pytest.raises(DataError, match="0 or more"):
        tl.genetic_map(markers, cm_per_mb=-1)


def test_haploid_cross_alleles_from_parents_and_selfing(tiny_dataset) -> None:
    ds = tiny_dataset
    run = random_linear_run(ds)
    a, b = ds.samples[0], ds.samples[1]
    config = tl.CrossConfig(n_offspring=300)
    res = tl.cross(run, ds, (a, b), config=config, rng=4)
    assert res.params["ploidy"] == 1 and res.params["seed"] == 4
    pa, pb = codes(ds, np.array([0, 1]))
    off = res.offspring
    assert ((off == pa) | (off == pb)).all()  # every allele from a parent
    differ = pa != pb
    assert (off[:, differ] == pa[differ]).mean() == pytest.approx(0.5, abs=0.1)
    expected = ds.markers.groupby("chromosome")["position"].agg(lambda p: p.max() - p.min())
    morgans = expected.sum() / 1e6 * config.cm_per_mb / 100
    assert res.params["crossovers_per_gamete"] == pytest.approx(morgans, rel=0.15)
    # the summary is the progeny's statistics; usefulness = mean of the best 10%
    s = res.summary
    np.testing.assert_allclose(s["progeny_mean"], res.progeny.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(s["progeny_sd"], res.progeny.std(axis=0, ddof=1), rtol=1e-4)
    best = np.sort(res.progeny[:, 0])[-30:]
    assert s["usefulness_10pct"].iat[0] == pytest.approx(best.mean(), rel=1e-5)
    np.testing.assert_allclose(  # float32: one row vs a batch round differently (2e-7 in CI)
        s["parent_a"], run.predict_from_genotypes(ds.onehot([0]))[0], rtol=1e-5
    )
    assert {"ridge_progeny_sd", "observed_a", "phenotype_sd"} <= set(s.columns)
    again = tl.cross(run, ds, (a, b), config=config, rng=4)
    np.testing.assert_array_equal(again.offspring, off)  # seeded
    selfed = tl.cross(run, ds, (a, a), config=config, rng=4)
    assert (selfed.summary["progeny_sd"] == 0).all()
    assert (selfed.summary["ridge_progeny_sd"] == 0).all()
    assert selfed.params["n_distinct_offspring"] == 1
    geno = res.genotypes(ds)
    assert list(geno.columns[:2]) == ["sample", ds.markers["marker"].iat[0]]
    assert geno["sample"].iat[0] == f"{a}x{b}_0001" and len(geno) == 300
    assert set(geno.iloc[:, 1]) <= {"0", "1", "2"}


def diploid_dataset(tmp_path, n: int = 14, n_markers: int = 24) -> Dataset:
    """A VCF on two chromosomes: P1 all 0/0, P2 all 1/1, H all 0/1, the others random."""
    rng = np.random.default_rng(11)
    gts = rng.choice(["0/0", "0/1", "1/1"], size=(n_markers, n))
    gts[:, 0], gts[:, 1], gts[:, 2] = "0/0", "1/1", "0/1"
    samples = ["P1", "P2", "H"] + [f"s{i}" for i in range(3, n)]
    lines = [
        "##fileformat=VCFv4.2",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples),
    ]
    for j in range(n_markers):
        chrom, pos = ("1", 100_000 * (j + 1)) if j < n_markers // 2 else ("2", 50_000 * (j + 1))
        lines.append(f"{chrom}\t{pos}\tv{j}\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(gts[j]))
    (tmp_path / "g.vcf").write_text("\n".join(lines) + "\n")
    ph = pd.DataFrame({"sample": samples, "t1": rng.normal(size=n), "t2": rng.normal(size=n)})
    ph.to_csv(tmp_path / "p.csv", index=False)
    return read_vcf(tmp_path / "g.vcf", tmp_path / "p.csv")


def test_diploid_f1_and_f2_of_inbred_lines(tmp_path) -> None:
    ds = diploid_dataset(tmp_path)
    assert tl.ploidy_of(ds) == tl.Ploidy(2, "pairs")
    run = random_linear_run(ds)
    col = {
        lab: np.flatnonzero(ds.allele_columns["allele"].to_numpy() == lab)
        for lab in ("0/0", "0/1", "1/1")
    }
    f1 = tl.cross(run, ds, ("P1", "P2"), config=tl.CrossConfig(generation="F1"), rng=0)
    assert np.isin(f1.offspring, col["0/1"]).all()  # F1 of two inbred lines: all 0/1
    assert (f1.summary["progeny_sd"] == 0).all() and f1.params["n_distinct_offspring"] == 1
    f2 = tl.cross(run, ds, ("P1", "P2"), config=tl.CrossConfig(n_offspring=2000), rng=0)
    het = np.isin(f2.offspring, col["0/1"]).mean(axis=0)
    hom1 = np.isin(f2.offspring, col["1/1"]).mean(axis=0)
    np.testing.assert_allclose(het, 0.5, atol=0.05)  # 1 : 2 : 1
    np.testing.assert_allclose(hom1, 0.25, atol=0.04)
    assert f2.params["design"].startswith("F2") and f2.params["unseen_genotypes"] == 0
    selfed = tl.cross(run, ds, ("P1", "P1"), rng=0)
    assert (selfed.summary["progeny_sd"] == 0).all()
    spread_out = tl.cross(run, ds, ("H", "H"), rng=0)  # a heterozygous self segregates
    assert (spread_out.summary["progeny_sd"] > 0).all()


def test_diploid_progeny_alleles_come_from_the_parents(tmp_path) -> None:
    ds = diploid_dataset(tmp_path)
    run = random_linear_run(ds)
    labels = ds.allele_columns["allele"].to_numpy()
    res = tl.cross(run, ds, ("s3", "s4"), config=tl.CrossConfig(generation="F1"), rng=1)
    pa, pb = (labels[c] for c in codes(ds, np.array([3, 4])))
    for i in range(res.offspring.shape[0]):
        for j, lab in enumerate(labels[res.offspring[i]]):
            u, v = lab.split("/")
            a, b = pa[j].split("/"), pb[j].split("/")
            assert (u in a and v in b) or (v in a and u in b)


def test_ploidy_rules(tmp_path, tiny_folder) -> None:
    ds = read_dataset_folder(tiny_folder)
    assert tl.ploidy_of(ds) == tl.Ploidy(1, "haploid")  # categorical states 0, 1, 2
    assert tl.ploidy_of(ds, 2) == tl.Ploidy(2, "dosage")  # read as allele counts
    geno = pd.read_csv(tiny_folder / "genotypes.csv.gz", dtype=str)
    lo, hi = geno["sample"].iat[0], geno["sample"].iat[1]
    geno.iloc[0, 1:], geno.iloc[1, 1:] = "0", "2"
    geno.to_csv(tiny_folder / "genotypes.csv.gz", index=False)
    ds = read_dataset_folder(tiny_folder)
    run = random_linear_run(ds)
    f1 = tl.cross(run, ds, (lo, hi), config=tl.CrossConfig(ploidy=2, generation="F1"), rng=0)
    labels = ds.allele_columns["allele"].to_numpy()
    assert set(labels[f1.offspring].ravel()) == {"1"}
    letters = tmp_path / "letters"
    letters.mkdir()
    g = pd.DataFrame({"sample": ["a", "b", "c"], "m1": ["B", "R", "B"], "m2": ["R", "R", "B"]})
    g.to_csv(letters / "genotypes.csv", index=False)
    pd.DataFrame({"sample": ["a", "b", "c"], "t": [1.0, 2.0, 3.0]}).to_csv(
        letters / "phenotypes.csv", index=False
    )
    with pytest.raises(DataError, match="allele pairs"):
        tl.ploidy_of(read_dataset_folder(letters), 2)
    with pytest.raises(DataError, match="ploidy must be"):
        tl.ploidy_of(ds, 3)


def test_usefulness_by_hand() -> None:
    values = np.arange(1.0, 21.0)[:, None]
    assert tl.usefulness(values, 0.1)[0] == pytest.approx(19.5)
    assert tl.usefulness(values, 1.0)[0] == pytest.approx(10.5)
    assert tl.usefulness(values[:3], 0.1)[0] == pytest.approx(3.0)


def test_rank_parents(tiny_dataset) -> None:
    ds = tiny_dataset
    run = random_linear_run(ds)
    trait = ds.traits[1]
    config = tl.CrossConfig(n_offspring=40)
    rank = tl.rank_parents(run, ds, k=4, trait=trait, config=config, rng=3)
    t = rank.table
    assert len(t) == 6 and list(t["rank"]) == list(range(1, 7))
    assert t["usefulness"].is_monotonic_decreasing
    own = run.predict_from_genotypes(ds.onehot())[:, 1]
    best = set(np.asarray(ds.samples)[np.argsort(-own)[:4]])
    assert set(t["sample_a"]) | set(t["sample_b"]) == best == set(rank.params["candidates"])
    first = t.iloc[0]
    one = tl.cross(run, ds, (first["sample_a"], first["sample_b"]), config=config, rng=3)
    assert {"ridge_rank", "ridge_usefulness"} <= set(t.columns)
    assert one.summary["parent_a"].iat[1] == pytest.approx(first["parent_a"], rel=1e-6)
    index = tl.rank_parents(
        run, ds, k=3, weights={ds.traits[0]: 1.0, ds.traits[2]: -0.5}, config=config, rng=3
    )
    assert index.params["criterion"] == "index" and len(index.table) == 3
    with pytest.raises(DataError, match="exactly one"):
        tl.rank_parents(run, ds, k=3, trait=trait, weights={trait: 1}, rng=0)
    with pytest.raises(DataError, match="K must be between 2"):
        tl.rank_parents(run, ds, k=1, trait=trait, rng=0)
    with pytest.raises(DataError, match="not one of the run's traits"):
        tl.check_index_weights(pd.DataFrame({"trait": ["x"], "weight": ["1"]}), ds.traits)
    with pytest.raises(DataError, match="every weight is 0"):
        tl.check_index_weights({trait: 0}, ds.traits)
    with pytest.raises(DataError, match="not a number"):
        tl.check_index_weights(pd.DataFrame({"trait": [trait], "weight": ["a"]}), ds.traits)


def test_cross_errors(tiny_dataset) -> None:
    ds = tiny_dataset
    run = random_linear_run(ds)
    with pytest.raises(DataError, match="'nobody' is not in the data set"):
        tl.cross(run, ds, ("nobody", ds.samples[0]), rng=0)
    for bad, message in (
        (tl.CrossConfig(n_offspring=0), "offspring"),
        (tl.CrossConfig(cm_per_mb=-2), "cM per Mb"),
        (tl.CrossConfig(top_fraction=0), "top fraction"),
    ):
        with pytest.raises(DataError, match=message):
            tl.cross(run, ds, (ds.samples[0], ds.samples[1]), config=bad, rng=0)
    with pytest.raises(tl.ExperimentCancelled):
        tl.cross(run, ds, (ds.samples[0], ds.samples[1]), rng=0, should_stop=lambda: True)
