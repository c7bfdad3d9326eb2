"""The streaming readers give what the readers before them gave, in one chunk or in many.

The digests (``reader_cases.digest``: codes, labels, marker map, samples, phenotypes, known QTL,
matching report) were recorded with the whole-file readers that came before cyvcf2, chunked
bed-reader and the streaming CSV parser, on the same seeded files. Every case also runs with
tiny chunk sizes, so every chunked path (lines, records, markers) crosses many chunk borders.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from reader_cases import digest, write_bcf, write_cases

from gpatlas_core.io import _dataset, _encode, _limits, _pgen, _plink, _tables, _vcf

BEFORE = {
    "csv_letters": "f9e5744de10a78a0d903",
    "csv_letters_most_frequent": "3ea53574216ad97e4cc0",
    "csv_numbers": "429aedc6f45a28b3f1cf",
    "csv_quoted": "4c3eb883b8c36a4a3d9a",
    "bloom": "290e7980b8e3aeb9fa19",
    "vcf": "87a01acd566fb27be2c7",
    "vcf_gz_most_frequent": "198c214fc3bb08908070",
    "plink_diploid": "3360894d20d83028bb3a",
    "plink_haploid": "0430d61f88730daf322f",
}
YEAST_BEFORE = {
    "own_state": ("38f52bc88277ce6c0016", "c7b7f3178c9154b0"),
    "most_frequent": ("16eaac925a2cae0bd6bd", "e9b82c7ae4e3bae0"),
}


@pytest.fixture(scope="module")
def case_root(tmp_path_factory):
    return tmp_path_factory.mktemp("cases")


@pytest.fixture(scope="module")
def cases(case_root):
    return write_cases(case_root)


@pytest.fixture
def tiny_chunks(monkeypatch):
    """Chunks of a few bytes, lines, records, markers and cells everywhere."""
    monkeypatch.setattr(_limits, "_BLOCK", 37)  # file and gunzip blocks split lines
    monkeypatch.setattr(_limits, "_SNIFF", 64)
    monkeypatch.setattr(_tables, "CHUNK_LINES", 7)
    monkeypatch.setattr(_vcf, "CHUNK_RECORDS", 13)
    monkeypatch.setattr(_plink, "CHUNK_BYTES", 100)  # ~2 markers of 45 samples per chunk
    monkeypatch.setattr(_pgen, "CHUNK_BYTES", 100)
    monkeypatch.setattr(_encode, "_BLOCK_CELLS", 64)
    monkeypatch.setattr(_dataset, "_BLOCK_CELLS", 64)


@pytest.mark.parametrize("case", sorted(BEFORE))
def test_same_output_as_before(cases, case):
    assert digest(cases[case]()) == BEFORE[case]


@pytest.mark.parametrize("case", sorted(BEFORE))
def test_same_output_in_tiny_chunks(cases, case, tiny_chunks):
    assert digest(cases[case]()) == BEFORE[case]


def _onehot_before(ds) -> np.ndarray:
    """The one-hot matrix as the Dataset made it before (a patched copy of all codes)."""
    codes = ds.genotype_codes.copy()
    labels = list(ds.alleles)
    for j in np.flatnonzero((codes < 0).any(axis=0)):
        miss = codes[:, j] < 0
        if ds.missing_policy == "own_state":
            labels[j] = (*labels[j], "NA")
            codes[miss, j] = len(labels[j]) - 1
        else:
            counts = np.bincount(codes[~miss, j], minlength=len(labels[j]))
            codes[miss, j] = int(np.argmax(counts)) if counts.sum() else 0
            if not counts.sum():
                labels[j] = labels[j] or ("NA",)
    sizes = np.array([len(lab) for lab in labels])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    out = np.zeros((codes.shape[0], int(sizes.sum())), dtype=np.float32)
    np.put_along_axis(out, codes.astype(np.int64) + offsets[None, :], 1, axis=1)
    return out


@pytest.mark.parametrize("case", ["csv_letters", "csv_letters_most_frequent", "vcf", "bloom"])
def test_onehot_made_on_demand_equals_the_stored_one(cases, case, tiny_chunks):
    ds = cases[case]()
    before = _onehot_before(ds)
    assert np.array_equal(ds.onehot(), before)
    rows = np.array([5, 0, 3, 3])
    assert np.array_equal(ds.onehot(rows), before[rows])
    assert ds.onehot(rows, dtype=np.uint8).dtype == np.uint8
    loci = np.array([4, 1])
    cols = np.flatnonzero(ds.allele_columns["locus"].isin(loci).to_numpy())
    cols = np.concatenate([cols[ds.allele_columns["locus"].to_numpy()[cols] == j] for j in loci])
    assert np.array_equal(ds.onehot(rows, loci=loci), before[rows][:, cols])
    blocks = list(ds.onehot_blocks(block=6))
    assert np.array_equal(np.concatenate([b for _, b in blocks]), before)
    # what tools read from the codes instead of a one-hot matrix
    from gpatlas_core.tl._meiosis import genotype_columns

    assert np.array_equal(ds.allele_column_indices(rows), genotype_columns(before[rows], ds.n_loci))
    assert np.array_equal(ds.allele_counts(), before.sum(axis=0))
    missing = (ds.genotype_codes < 0).mean(axis=0)
    assert np.array_equal(ds.missing_calls_per_locus(), missing)
    assert ds.missing_call_fraction == pytest.approx((ds.genotype_codes < 0).mean())
    assert np.array_equal(ds.effective_codes(rows, loci=loci), ds.effective_codes()[rows][:, loci])
    assert np.array_equal(
        ds.effective_codes(slice(2, 9), loci=loci), ds.effective_codes()[2:9][:, loci]
    )
    before_codes = ds.genotype_codes.copy()
    for part in (ds.effective_codes(), ds.effective_codes(rows), ds.effective_codes(slice(0, 4))):
        if part.flags.writeable:
            part[:] = 0
    assert np.array_equal(ds.genotype_codes, before_codes)  # never written into
    full = cases["plink_diploid"]()
    complete = dataclasses.replace(full, genotype_codes=np.maximum(full.genotype_codes, 0))
    view = complete.effective_codes()
    assert np.shares_memory(view, complete.genotype_codes) and not view.flags.writeable


@pytest.mark.parametrize("policy", sorted(YEAST_BEFORE))
def test_yeast_sample_as_before(policy):
    from gpatlas_core.io import load_yeast_sample

    ds = load_yeast_sample(missing_policy=policy)
    assert (digest(ds), ds.fingerprint) == YEAST_BEFORE[policy]


def _same_data(a, b) -> None:
    """Everything but the format name and source: codes, labels, map, samples, phenotypes."""
    assert np.array_equal(a.genotype_codes, b.genotype_codes)
    assert a.alleles == b.alleles
    assert a.markers.equals(b.markers)
    assert list(a.samples) == list(b.samples) and a.traits == b.traits
    assert np.array_equal(a.phenotypes, b.phenotypes, equal_nan=True)
    assert a.fingerprint == b.fingerprint


@pytest.mark.parametrize("chunks", ["default", "tiny"])
def test_bcf_reads_as_its_vcf(cases, case_root, tmp_path, request, chunks):
    """The same calls as BCF (binary, BGZF) give the dataset the VCF case gives (pinned above)."""
    from gpatlas_core.io import read_vcf

    if chunks == "tiny":
        request.getfixturevalue("tiny_chunks")
    vcf_ds = cases["vcf"]()
    bcf = write_bcf(case_root / "vcf" / "calls.vcf", tmp_path / "calls.bcf")
    ds = read_vcf(bcf, case_root / "vcf" / "pheno.csv")
    _same_data(vcf_ds, ds)
    assert ds.report["format"] == "bcf" and ds.source.startswith("BCF: calls.bcf")
