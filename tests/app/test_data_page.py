"""The Data page after a simulation: real sample counts, the truth as tables, the dataset as a
zip that the page's own upload reads back, remembered simulation settings, QC figures."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("streamlit")
from apptest import app, button, texts, tiny

from gpatlas_core.io import dataset_to_zip


def simulated() -> object:
    at = app("pages/data.py")
    at.slider(key="sim-n_individuals").set_value(100)
    at.slider(key="sim-n_loci").set_value(40)
    at.slider(key="sim-n_traits").set_value(5)
    at.slider(key="sim-p_interaction").set_value(0.5)
    button(at, "Simulate").click().run()
    assert not at.exception, at.exception
    return at


def test_simulation_counts_truth_and_qc():
    at = simulated()
    ds = at.session_state["dataset"]
    assert ds.n_samples == 100
    labels = [e.label for e in at.expander]
    assert "Samples: 100 matched, 0 unmatched" in labels
    assert not any("?" in label for label in labels)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["In the genotype file"] == "100" and metrics["Matched (used)"] == "100"
    assert "–" not in metrics.values()
    # the truth, as tables with downloads
    causal = next(d.value for d in at.dataframe if "weight" in d.value.columns)
    assert len(causal) == len(ds.truth.causal)
    inter = next(d.value for d in at.dataframe if "marker_a" in d.value.columns)
    assert len(inter) == len(ds.truth.interactions) > 0
    downloads = [b.label for b in at.get("download_button")]
    assert "Download causal alleles (CSV)" in downloads
    assert "Download interactions (CSV)" in downloads
    assert "Download the dataset (zip of a dataset folder)" in downloads
    # QC: nothing missing is said, not drawn; MAF and PCA are drawn
    assert any("no missing calls" in s.value for s in at.success)
    assert "Minor allele frequency (MAF) per marker" in texts(at)
    assert "population structure" in texts(at)
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Minor allele frequency of 40 markers" in t for t in titles)
    assert any("genotype PCA of 100 individuals" in t for t in titles)
    at.selectbox(key="pca-colour").set_value(ds.traits[0]).run()
    assert not at.exception, at.exception


def test_simulation_settings_survive_leaving_the_page():
    at = simulated()
    at.switch_page("pages/home.py").run()
    assert not at.exception, at.exception
    at.switch_page("pages/data.py").run()
    assert not at.exception, at.exception
    assert at.slider(key="sim-n_individuals").value == 100
    assert at.slider(key="sim-n_loci").value == 40
    assert at.slider(key="sim-p_interaction").value == 0.5


def test_downloaded_zip_reads_back_through_the_upload():
    ds = tiny()
    ds.name = "simulation (seed 7)"
    at = app("pages/data.py", dataset=tiny())
    (uploader,) = [u for u in at.file_uploader if u.label == "Files"]
    uploader.set_value([("simulation_seed_7.zip", dataset_to_zip(ds), "application/zip")])
    at.run()
    button(at, "Read the files").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    back = at.session_state["dataset"]
    assert back.fingerprint == ds.fingerprint
    assert back.name == "simulation (seed 7)"
    assert back.truth is not None and len(back.truth.interactions) == len(ds.truth.interactions)
    np.testing.assert_allclose(back.truth.causal["weight"], ds.truth.causal["weight"])
    assert "Simulation truth" in [t.label for t in at.tabs]


def test_yeast_sample_qc_on_real_data():
    at = app("pages/data.py")
    button(at, "Load the yeast sample").click().run()
    assert not at.exception, at.exception
    ds = at.session_state["dataset"]
    assert ds.n_samples == 1008
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    # 5% of trait values are missing, no genotype call is: that panel says so
    assert any("no missing calls" in t and "Missing phenotype values" in t for t in titles)
    assert any("Minor allele frequency of 11,623 markers" in t for t in titles)
    assert any("genotype PCA of 1,008 individuals" in t for t in titles)
    assert "Simulation truth" not in [t.label for t in at.tabs]
    labels = [e.label for e in at.expander]
    assert "Samples: 1008 matched, 0 unmatched" in labels


def _folder_files(tmp_path, ds, *, drop_pheno_rows: int = 0, markers: bool = True):
    from gpatlas_core.io import write_dataset_folder

    root = write_dataset_folder(ds, tmp_path / "ds", compress=False)
    files = {}
    for name in ("genotypes.csv", "phenotypes.csv", "markers.csv"):
        if name == "markers.csv" and not markers:
            continue
        data = (root / name).read_bytes()
        if name == "phenotypes.csv" and drop_pheno_rows:
            lines = data.decode().splitlines(keepends=True)
            data = "".join(lines[: len(lines) - drop_pheno_rows]).encode()
        files[name] = data
    return files


def test_upload_warns_on_partial_id_match_and_missing_positions(tmp_path):
    ds = tiny()  # 60 individuals
    files = _folder_files(tmp_path, ds, drop_pheno_rows=10, markers=False)
    at = app("pages/data.py")
    (uploader,) = [u for u in at.file_uploader if u.label == "Files"]
    uploader.set_value([(n, b, "text/csv") for n, b in files.items()])
    at.run()
    button(at, "Read the files").click().run()
    assert not at.exception, at.exception
    loaded = at.session_state["dataset"]
    assert loaded.n_samples == 50
    warnings = [w.value for w in at.warning]
    assert any(
        "Not every sample id matched: 10 genotyped samples have no phenotypes" in w
        and "Only the 50 matched samples are used" in w
        for w in warnings
    ), warnings
    assert any(f"{ds.n_loci} of {ds.n_loci} markers have no position" in w for w in warnings)
    # named after its files, not "uploaded dataset"
    assert loaded.name == "genotypes.csv + phenotypes.csv"


def test_upload_keeps_the_latest_copy_of_a_file_and_can_be_cleared(tmp_path):
    ds = tiny()
    files = _folder_files(tmp_path, ds)
    at = app("pages/data.py")
    (uploader,) = [u for u in at.file_uploader if u.label == "Files"]
    broken = ("phenotypes.csv", b"sample,a\nx,1\n", "text/csv")
    uploader.set_value([broken] + [(n, b, "text/csv") for n, b in files.items()])
    at.run()
    assert any(
        "Uploaded again, the latest copy is used: phenotypes.csv" in i.value for i in at.info
    )
    button(at, "Read the files").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["dataset"].fingerprint == ds.fingerprint
    button(at, "Clear the files").click().run()
    (uploader,) = [u for u in at.file_uploader if u.label == "Files"]
    assert not uploader.value
