"""A corpus of bad (and awkward but valid) uploads, shared by the core and the app tests.

``build_corpus(tmp_path)`` returns one :class:`BadInput` per case: the set of files a user
would upload (name, bytes), what must happen (a :class:`~gpatlas_core.io.DataError` whose
message matches ``error``, or a dataset that passes ``check``), the reader limits the case
needs and, for hostile files, a ``sentinel`` path that must never appear (unpickling the
payload would create it).

Used by ``tests/test_hosted_inputs.py`` (the core reader ``read_uploaded`` and the app's Data
page through AppTest's file uploader).
"""

from __future__ import annotations

import builtins
import gzip
import io
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gpatlas_core.io import Dataset

GENO = "sample,m1,m2,m3\ns1,A,B,A\ns2,B,B,A\ns3,A,A,B\n"
PHENO = "sample,t1,t2\ns1,1.0,2\ns2,0.5,NA\ns3,2,3\n"
MARKERS = "marker,chromosome,position\nm1,{0},10\nm2,{1},20\nm3,{2},30\n"
BOMB_MB = 64
"""The gzip bomb decompresses to this many MiB (about 64 KiB on disk)."""
BOMB_CAP_MB = 8
"""Decompression cap (MiB) the bomb case runs under."""


class Payload:
    """Unpickling this would create ``target`` (a stand-in for arbitrary code execution)."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (builtins.open, (str(self.target), "w"))


class Upload(io.BytesIO):
    """Like Streamlit's ``UploadedFile``: a BytesIO with a ``name`` and a ``size``."""

    def __init__(self, name: str, data: bytes) -> None:
        super().__init__(data)
        self.name = name
        self.size = len(data)


@dataclass(frozen=True)
class BadInput:
    """One upload case.

    Attributes
    ----------
    id
        Short name (pytest id).
    files
        The uploaded set: ``(file name, content)`` pairs.
    error
        Regex the DataError message must match; None when the files must load.
    check
        For files that load: assertions on the dataset.
    limits
        ``ReadLimits`` overrides for the core reader (the app gets the same through env).
    env
        Environment for the app (hosted-mode variables) that gives it those limits.
    sentinel
        A file that must never appear (created only if a payload were unpickled).
    """

    id: str
    files: tuple[tuple[str, bytes], ...]
    error: str | None = None
    check: Callable[[Dataset], None] | None = None
    limits: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    sentinel: Path | None = None

    def uploads(self) -> list[Upload]:
        return [Upload(name, data) for name, data in self.files]


def _pair(geno: str | bytes = GENO, pheno: str | bytes = PHENO, **extra: str | bytes):
    def enc(x: str | bytes) -> bytes:
        return x if isinstance(x, bytes) else x.encode()

    files = [("genotypes.csv", enc(geno)), ("phenotypes.csv", enc(pheno))]
    files += [(name.replace("__", "."), enc(v)) for name, v in extra.items()]
    return tuple(files)


def torch_checkpoint(obj: object) -> bytes:
    """``torch.save(obj)`` bytes: a zip archive with ``data.pkl`` (a pickle) inside."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _chromosomes(expected: list[str]) -> Callable[[Dataset], None]:
    def check(ds: Dataset) -> None:
        assert ds.markers["chromosome"].tolist() == expected, ds.markers

    return check


def _encoding_check(ds: Dataset) -> None:
    assert ds.traits == ["poids_é", "t2"], ds.traits
    assert ds.n_samples == 3


def _nan_check(ds: Dataset) -> None:
    assert ds.traits == ["t1", "t2"]
    assert int(np.isnan(ds.phenotypes).sum()) == 3


def _single_state_check(ds: Dataset) -> None:
    assert ds.report["single_state_markers"]["examples"] == ["m2"], ds.report
    assert ds.alleles[1] == ("B",)


def _qtl_check(ds: Dataset) -> None:
    assert ds.known_qtl is not None and ds.known_qtl["trait"].tolist() == ["t1"]
    assert ds.report["known_qtl_dropped_traits"] == ["height", "no_such_trait"], ds.report


def build_corpus(tmp_path: Path) -> list[BadInput]:
    """All cases; hostile payloads would write under ``tmp_path`` if they were ever unpickled."""
    pickled = tmp_path / "pwned_by_pickle.txt"
    checkpoint = tmp_path / "pwned_by_checkpoint.txt"
    bomb = gzip.compress(b"0" * (BOMB_MB * 1024 * 1024), compresslevel=9)
    wide = "sample," + ",".join(f"m{i}" for i in range(1_000_000)) + "\ns1," + "A," * 999_999
    latin = "sample,poids_é,t2\ns1,1,2\ns2,2,3\ns3,3,4\n"
    cap = BOMB_CAP_MB * 1024 * 1024
    return [
        BadInput(
            "pickle-renamed-csv",
            _pair(geno=pickle.dumps(Payload(pickled), protocol=4)),
            error=r"genotypes\.csv: this is a Python pickle \(never loaded",
            sentinel=pickled,
        ),
        BadInput(
            "torch-checkpoint-renamed-csv",
            _pair(pheno=torch_checkpoint({"model": Payload(checkpoint)})),
            error=r"phenotypes\.csv: this is a zip archive \(e\.g\. a PyTorch checkpoint",
            sentinel=checkpoint,
        ),
        BadInput(
            "gzip-bomb",
            (("genotypes.csv.gz", bomb), ("phenotypes.csv", PHENO.encode())),
            error=r"genotypes\.csv\.gz: decompresses to more than the limit of "
            rf"{cap:,} bytes \(possibly a gzip bomb\)",
            limits={"max_uncompressed_bytes": cap},
            env={"GPATLAS_MAX_UNCOMPRESSED_MB": str(BOMB_CAP_MB)},
        ),
        BadInput(
            "million-columns",
            _pair(geno=wide + "A\n"),
            error=r"genotypes\.csv: the header has 1,000,001 columns, more than the limit",
        ),
        BadInput("empty-file", _pair(pheno=b""), error=r"phenotypes\.csv: the file is empty"),
        BadInput(
            "utf16-text",
            _pair(geno=GENO.encode("utf-16"), pheno=latin.encode("utf-16")),
            check=_encoding_check,
        ),
        BadInput(
            "utf16le-no-bom",
            _pair(geno=GENO.encode("utf-16-le"), pheno=latin.encode("utf-16-le")),
            check=_encoding_check,
        ),
        BadInput("latin1-text", _pair(pheno=latin.encode("latin-1")), check=_encoding_check),
        BadInput(
            "nan-phenotypes",
            _pair(pheno="sample,t1,t2\ns1,NaN,2\ns2,nan,NA\ns3,2,3\n"),
            check=_nan_check,
        ),
        BadInput(
            "inf-phenotype",
            _pair(pheno="sample,t1,t2\ns1,1,2\ns2,Inf,3\ns3,2,3\n"),
            error=r"phenotypes\.csv: line 3, column 2 \('t1'\): infinite value",
        ),
        BadInput(
            "minus-inf-phenotype",
            _pair(pheno="sample,t1,t2\ns1,1,2\ns2,4,-inf\ns3,2,3\n"),
            error=r"phenotypes\.csv: line 3, column 3 \('t2'\): infinite value",
        ),
        BadInput(
            "trait-without-values",
            _pair(pheno="sample,t1,t2\ns1,1,NA\ns2,2,\ns3,3,nan\n"),
            error=r"phenotypes\.csv: trait 't2' has no value for any of the 3 matched samples",
        ),
        BadInput(
            "single-allele-state",
            _pair(geno="sample,m1,m2,m3\ns1,A,B,A\ns2,B,B,A\ns3,A,B,B\n"),
            check=_single_state_check,
        ),
        BadInput(
            "unknown-allele-code",
            _pair(geno="sample,m1,m2,m3\ns1,A,B,A\ns2,B,B?,A\ns3,A,A,B\n"),
            error=r"genotypes\.csv: line 3, column 3 \('m2'\): unknown allele code 'B\?'",
        ),
        BadInput(
            "duplicated-sample-ids",
            _pair(geno="sample,m1,m2,m3\ns1,A,B,A\ns2,B,B,A\ns1,A,A,B\n"),
            error=r"genotypes\.csv: .*sample id 's1' appears twice",
        ),
        BadInput(
            "sample-ids-match-nothing",
            _pair(pheno="sample,t1,t2\nx1,1,2\nx2,2,3\n"),
            error=r"no sample id of genotypes\.csv \(3 samples, e\.g\. 's1'\) matches any of "
            r"phenotypes\.csv",
        ),
        BadInput(
            "chromosomes-as-numbers",
            _pair(markers__csv=MARKERS.format("1", "02", "chr10")),
            check=_chromosomes(["1", "2", "10"]),
        ),
        BadInput(
            "chromosomes-roman",
            _pair(markers__csv=MARKERS.format("I", "chrIV", "XVI")),
            check=_chromosomes(["1", "4", "16"]),
        ),
        BadInput(
            "chromosomes-chrX",
            _pair(markers__csv=MARKERS.format("chr1", "chrX", "chrM")),
            check=_chromosomes(["1", "X", "MT"]),
        ),
        BadInput(
            "known-qtl-unknown-traits",
            _pair(
                known_qtl__csv="trait,chromosome,position\nt1,1,15\nno_such_trait,1,20\n"
                "height,2,5\n",
                markers__csv=MARKERS.format("1", "1", "2"),
            ),
            check=_qtl_check,
        ),
    ]


CASE_IDS = (
    "pickle-renamed-csv",
    "torch-checkpoint-renamed-csv",
    "gzip-bomb",
    "million-columns",
    "empty-file",
    "utf16-text",
    "utf16le-no-bom",
    "latin1-text",
    "nan-phenotypes",
    "inf-phenotype",
    "minus-inf-phenotype",
    "trait-without-values",
    "single-allele-state",
    "unknown-allele-code",
    "duplicated-sample-ids",
    "sample-ids-match-nothing",
    "chromosomes-as-numbers",
    "chromosomes-roman",
    "chromosomes-chrX",
    "known-qtl-unknown-traits",
)
"""Case ids, for ``pytest.mark.parametrize`` without building the corpus at collection time."""
