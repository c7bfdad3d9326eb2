"""Data: upload files, load the yeast sample or simulate; then check the data (QC)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gpatlas_core import pl, tl
from gpatlas_core.io import DataError
from pages._lib import loaders, state, ui
from pages._lib.hosting import limits

POLICIES = {
    "own_state": "Own allele state (an extra 'NA' column per marker)",
    "most_frequent": "The marker's most frequent state",
}
UPLOAD_TYPES = [
    "csv",
    "tsv",
    "txt",
    "tab",
    "pheno",
    "phen",
    "gz",
    "bgz",
    "bed",
    "bim",
    "fam",
    "vcf",
    "bcf",
    "pgen",
    "pvar",
    "psam",
    "json",
    "zip",
]


def _adopt(load) -> None:
    """Load, check size and make it the session's dataset; on failure keep the old one."""
    try:
        ds = load()
        loaders.check_size(ds)
    except DataError as err:
        st.session_state["data_error"] = str(err)
        return
    st.session_state.pop("data_error", None)
    state.set_dataset(ds)
    st.rerun()  # redraw the sidebar's progress too


def upload_tab(policy: str) -> None:
    st.markdown(
        "Upload **one** of: the files of a dataset folder (`genotypes.csv`, `phenotypes.csv`, "
        "optional `markers.csv`, `known_qtl.csv`) or a zip of such a folder (as this page offers "
        "for download); a PLINK trio (`.bed`, `.bim`, `.fam`) or a PLINK 2 trio (`.pgen`, "
        "`.pvar`, `.psam`) with a phenotype table; a VCF or BCF with a phenotype table. A "
        "markers table and a known-QTL table can be added to any of them."
    )
    files = st.file_uploader(
        "Files",
        accept_multiple_files=True,
        type=UPLOAD_TYPES,
        help=f"Up to {limits().max_upload_mb} MB in total. Samples are matched by id.",
        key=f"upload-{st.session_state.get('upload-round', 0)}",
    )
    files, replaced = latest_by_name(files or [])
    if replaced:
        st.info(
            "Uploaded again, the latest copy is used: " + ", ".join(replaced),
            icon=":material/published_with_changes:",
        )
    c1, c2 = st.columns([1, 1])
    if c1.button("Read the files", disabled=not files, icon=":material/upload_file:"):
        with st.spinner("Reading…"):
            _adopt(lambda: loaders.read_uploaded(files, policy))
    if c2.button("Clear the files", disabled=not files, icon=":material/delete_sweep:"):
        st.session_state["upload-round"] = st.session_state.get("upload-round", 0) + 1
        st.rerun()


def latest_by_name(files: list) -> tuple[list, list[str]]:
    """The uploads with one file per name, the latest upload of a name kept (Streamlit lists
    files in upload order: after a failed read the user adds corrected copies of the same
    names), and the names that were replaced."""
    by_name: dict[str, object] = {}
    replaced: list[str] = []
    for f in files:
        name = str(getattr(f, "name", f))
        if name in by_name and name not in replaced:
            replaced.append(name)
        by_name.pop(name, None)
        by_name[name] = f
    return list(by_name.values()), replaced


def sample_tab(policy: str) -> None:
    st.markdown(
        "**Yeast BY x RM cross** (Bloom et al. 2013): 1,008 haploid segregants, 11,623 markers, "
        "46 growth traits (colony size in different media), 591 known QTL with 1.5-LOD intervals."
    )
    if st.button("Load the yeast sample", type="primary", icon=":material/science:"):
        _adopt(lambda: loaders.yeast_sample(policy))


def simulate_tab() -> None:
    st.markdown(
        "A population with known causal alleles, pleiotropy and pairwise interactions "
        "(Avasthi, Mets, York 2024). The truth is kept, so later pages can score recovery."
    )
    lim = limits()
    max_n = max(100, min(5000, lim.max_individuals or 5000))
    max_l = max(40, min(20000, lim.max_markers or 20000))
    c1, c2, c3 = st.columns(3)

    def slider(col, field: str, label: str, lo, hi, default, **kw):
        key = ui.remembered(f"sim-{field}", default, lo=lo, hi=hi)
        return col.slider(label, lo, hi, key=key, **kw)

    settings = {
        "n_individuals": slider(
            c1, "n_individuals", "Individuals", 50, max_n, min(600, max_n), step=50
        ),
        "n_loci": slider(c1, "n_loci", "Loci", 20, max_l, min(1000, max_l), step=20),
        "n_alleles": slider(c1, "n_alleles", "Allele states per locus", 2, 4, 3),
        "n_traits": slider(c2, "n_traits", "Traits", 2, 100, 20),
        "causal_per_trait": slider(c2, "causal_per_trait", "Causal loci per trait", 1, 50, 10),
        "noise": slider(
            c2,
            "noise",
            "Noise",
            0.0,
            0.5,
            0.01,
            step=0.01,
            help="Mean noise as a share of the mean trait value",
        ),
        "p_pleiotropy": slider(
            c3,
            "p_pleiotropy",
            "Pleiotropy",
            0.0,
            1.0,
            0.2,
            help="Chance a causal locus also affects another trait",
        ),
        "p_interaction": slider(
            c3,
            "p_interaction",
            "Interaction",
            0.0,
            1.0,
            0.2,
            help="Chance a pair of causal loci interacts",
        ),
    }
    seed = c3.number_input(
        "Seed",
        0,
        2**31 - 1,
        key=ui.remembered("sim-seed", 1),
        help="Same seed, same population",
    )
    if settings["causal_per_trait"] > settings["n_loci"]:
        st.warning("Causal loci per trait cannot exceed the number of loci.")
        return
    if st.button("Simulate", type="primary", icon=":material/casino:"):
        with st.spinner("Simulating…"):
            _adopt(lambda: loaders.simulate(settings, int(seed)))


def qc(ds) -> None:
    s = ds.summary()
    st.header(f"Check the data: {s['name']}")
    c = st.columns(5)
    c[0].metric("Individuals", f"{s['samples']:,}")
    c[1].metric("Markers", f"{s['markers']:,}", help="Loci with a genotype call")
    c[2].metric("Allele columns", f"{s['allele_columns']:,}", help="One-hot inputs of the model")
    c[3].metric("Traits", s["traits"])
    c[4].metric("Known QTL", s["known_qtl"])
    c = st.columns(3)
    c[0].metric("Missing phenotype values", f"{100 * s['missing_phenotype_fraction']:.1f}%")
    c[1].metric("Missing genotype calls", f"{100 * s['missing_call_fraction']:.2f}%")
    c[2].metric("Chromosomes", s["chromosomes"])
    reader_notes(ds.report or {})
    position_notes(ds)
    sample_matching(ds.report or {}, ds)
    download_dataset(ds)
    names = ["Traits", "Correlation", "Missing values", "Markers", "Allele states"]
    names += ["Allele frequencies", "Population structure"]
    if ds.truth is not None:
        names.append("Simulation truth")
    tabs = st.tabs(names)
    with tabs[0]:
        chosen = st.multiselect("Traits to show", ds.traits, default=ds.traits[:8])
        if chosen:
            ui.figure(pl.trait_histograms(ds, traits=chosen), "trait_histograms.html")
    with tabs[1]:
        ui.figure(pl.trait_correlation(ds), "trait_correlation.html")
    with tabs[2]:
        if s["missing_phenotype_fraction"] == 0 and s["missing_call_fraction"] == 0:
            st.success(
                "No missing values: every trait is measured and every genotype called "
                "(no missing calls).",
                icon=":material/check_circle:",
            )
        else:
            ui.figure(pl.missingness(ds), "missingness.html")
    with tabs[3]:
        ui.figure(pl.markers_per_chromosome(ds), "markers_per_chromosome.html")
        ui.figure(pl.marker_density(ds), "marker_density.html")
    with tabs[4]:
        ui.figure(pl.allele_state_counts(ds), "allele_states.html")
        if ds.known_qtl is not None:
            st.markdown("**Known QTL**")
            st.dataframe(ds.known_qtl, hide_index=True, height=250)
            ui.download_table(ds.known_qtl, "known_qtl.csv")
    with tabs[5]:
        frequencies(ds)
    with tabs[6]:
        structure(ds)
    if ds.truth is not None:
        with tabs[7]:
            truth_tables(ds)


def download_dataset(ds) -> None:
    """The dataset as a zip of a dataset folder, built only when clicked; upload reads it back."""
    from gpatlas_core.io import dataset_folder_name, dataset_to_zip

    st.download_button(
        "Download the dataset (zip of a dataset folder)",
        data=lambda: dataset_to_zip(ds),
        file_name=f"{dataset_folder_name(ds.name)}.zip",
        mime="application/zip",
        on_click="ignore",
        icon=":material/folder_zip:",
        help="genotypes.csv, phenotypes.csv, markers.csv"
        + (", truth/causal_alleles.csv, truth/interactions.csv" if ds.truth is not None else "")
        + ": upload the zip on this page to read it back",
    )


def frequencies(ds) -> None:
    freqs = state.cached("allele-frequencies")
    if freqs is None:
        freqs = tl.allele_frequencies(ds)
        state.store("allele-frequencies", freqs)
    rare = int((freqs["maf"] < 0.05).sum())
    mono = int((freqs["n_states"] < 2).sum())
    st.caption(
        "Minor allele frequency (MAF) per marker over the called individuals: 1 minus the "
        "frequency of the most common state (for three or more states, the summed frequency of "
        f"all others). {rare:,} markers have MAF below 0.05, {mono:,} carry a single state."
    )
    ui.figure(pl.maf_histogram(freqs), "maf_histogram.html")
    ui.download_table(freqs, "allele_frequencies.csv")


def structure(ds) -> None:
    pca = state.cached("genotype-pca")
    if pca is None:
        with st.spinner("Computing the genotype PCA…"):
            try:
                pca = tl.genotype_pca(ds, n_components=10, seed=0)
            except DataError as err:
                st.info(str(err))
                return
        state.store("genotype-pca", pca)
    c1, c2 = st.columns(2)
    by = c1.selectbox("Colour by", ["nothing", *ds.traits], key="pca-colour")
    k = len(pca.explained)
    y_pc = c2.selectbox("Second axis", list(range(2, k + 1)), key="pca-y") if k >= 2 else 1
    color = None if by == "nothing" else ds.phenotypes[:, list(ds.traits).index(by)]
    ui.figure(
        pl.genotype_pca(pca, color=color, color_label=by, pcs=(1, int(y_pc))),
        "genotype_pca.html",
    )
    st.caption(
        "Each point is an individual on the leading principal components of its genotypes "
        "(every allele state standardised by its frequency). Clusters or gradients are "
        "population structure (subpopulations, relatedness) that can confound genotype-trait "
        "associations; a cross of two parents or a simulation shows no clusters and a flat "
        "variance profile."
    )
    scores = pd.DataFrame(pca.scores, columns=[f"PC{i + 1}" for i in range(k)])
    scores.insert(0, "sample", pca.samples)
    ui.download_table(scores, "genotype_pca.csv")


def truth_tables(ds) -> None:
    causal, inter = ds.truth.causal, ds.truth.interactions
    st.caption(
        f"What the simulation built in: {causal['marker'].nunique():,} causal loci over "
        f"{causal['trait'].nunique():,} traits (one row per allele state, locus and trait, with "
        f"its weight), and {len(inter):,} interacting pairs (carrying the given allele state at "
        "both loci changes the trait)."
    )
    st.markdown("**Causal alleles**")
    st.dataframe(
        causal,
        hide_index=True,
        height=250,
        column_config={"weight": st.column_config.NumberColumn("weight", format="%.4g")},
    )
    ui.download_table(causal, "causal_alleles.csv", label="Download causal alleles (CSV)")
    st.markdown("**Interactions**")
    if inter.empty:
        st.info("This simulation has no interacting pairs (interaction probability 0).")
    else:
        st.dataframe(inter, hide_index=True, height=250)
        ui.download_table(inter, "interactions.csv", label="Download interactions (CSV)")


def reader_notes(report: dict) -> None:
    """What the reader accepted but the user should know (one warning per point)."""
    single = report.get("single_state_markers")
    if single:
        n, examples = single.get("count", 0), ", ".join(map(str, single.get("examples", [])[:10]))
        st.warning(
            f"{n:,} marker{' has' if n == 1 else 's have'} a single allele state ({examples}"
            f"{' …' if n > 10 else ''}): no information for the model.",
            icon=":material/info:",
        )
    unmatched = report.get("known_qtl_unmatched")
    dropped = report.get("known_qtl_dropped_traits")
    if unmatched:
        names = unmatched.get("traits", [])
        st.warning(
            f"{unmatched.get('rows', 0):,} of {unmatched.get('of_rows', 0):,} known QTL "
            f"({len(names)} trait name{'' if len(names) == 1 else 's'}) match no phenotype "
            "column and were left out: "
            + ", ".join(map(str, names[:20]))
            + (" …" if len(names) > 20 else ""),
            icon=":material/info:",
        )
    elif dropped:
        st.warning(
            "Known-QTL rows for traits that are not in the phenotype table were left out: "
            + ", ".join(map(str, dropped[:20]))
            + (" …" if len(dropped) > 20 else ""),
            icon=":material/info:",
        )
    renamed = report.get("known_qtl_renamed_traits")
    if renamed:
        st.caption(
            "Known-QTL trait names matched to phenotype columns: "
            + ", ".join(f"{a} → {b}" for a, b in list(renamed.items())[:20])
            + (" …" if len(renamed) > 20 else "")
        )
    ignored = [f for f in report.get("ignored_files") or [] if f != "dataset.json"]
    if ignored:
        st.warning("Files not used: " + ", ".join(map(str, ignored)), icon=":material/info:")
    only_geno, only_pheno = unmatched_counts(report)
    if only_geno or only_pheno:
        matched = report.get("matched_samples")
        parts = []
        if only_geno:
            parts.append(
                f"{only_geno:,} genotyped sample{'' if only_geno == 1 else 's'} have no phenotypes"
            )
        if only_pheno:
            parts.append(
                f"{only_pheno:,} phenotyped sample{'' if only_pheno == 1 else 's'} have no genotypes"
            )
        st.warning(
            "Not every sample id matched: "
            + "; ".join(parts)
            + (f". Only the {matched:,} matched samples are used" if matched else "")
            + " (the ids are listed under Samples below). Check that both files use the same ids.",
            icon=":material/person_search:",
        )


def unmatched_counts(report: dict) -> tuple[int, int]:
    """Sample ids only in the genotype file and only in the phenotype file: the reader's full
    counts (its id lists are capped), else the lengths of the lists."""
    return tuple(
        int(report.get(f"n_unmatched_{side}_ids", len(report.get(f"unmatched_{side}_ids") or [])))
        for side in ("genotype", "phenotype")
    )


def position_notes(ds) -> None:
    """Say when markers have no map position (no markers table, names without positions)."""
    pos = ds.markers["position"].to_numpy()
    missing = int((pos < 0).sum())
    if missing:
        st.warning(
            f"{missing:,} of {ds.n_loci:,} markers have no position (no markers table, and "
            "their names carry none): they are drawn in input order on an 'unknown' "
            "chromosome, and crosses treat them as unlinked. Add a markers.csv (marker, "
            "chromosome, position) to place them.",
            icon=":material/location_off:",
        )


def sample_matching(report: dict, ds) -> None:
    """Matched and unmatched sample ids (from the reader's report), then the full report."""
    if not report:
        return
    # what the report leaves out, the dataset itself says: every row it holds is matched
    n = ds.n_samples
    only_geno, only_pheno = unmatched_counts(report)
    report = {
        "genotype_samples": n + only_geno,
        "phenotype_samples": n + only_pheno,
        "matched_samples": n,
        **report,
    }
    unmatched = {
        "Genotyped but no phenotypes": report.get("unmatched_genotype_ids") or [],
        "Phenotyped but no genotypes": report.get("unmatched_phenotype_ids") or [],
    }
    n_unmatched = sum(len(v) for v in unmatched.values())
    with st.expander(
        f"Samples: {report.get('matched_samples', '?')} matched, {n_unmatched} unmatched",
        expanded=n_unmatched > 0,
    ):
        c = st.columns(3)
        c[0].metric("In the genotype file", report.get("genotype_samples", "–"))
        c[1].metric("In the phenotype file", report.get("phenotype_samples", "–"))
        c[2].metric("Matched (used)", report.get("matched_samples", "–"))
        for what, ids in unmatched.items():
            if ids:
                shown = ", ".join(map(str, list(ids)[:30]))
                st.write(f"**{what}** ({len(ids)}): {shown}" + (" …" if len(ids) > 30 else ""))
        st.caption("What the reader did")
        st.json(report, expanded=False)


st.title("Data")
with st.expander("Load data", expanded=state.dataset() is None, icon=":material/upload:"):
    policy = st.selectbox(
        "Missing genotype calls count as",
        list(POLICIES),
        format_func=POLICIES.get,
        help="How a missing call enters the model. Applies to uploads and the yeast sample.",
    )
    t_upload, t_sample, t_sim = st.tabs(["Upload your files", "Yeast sample", "Simulate"])
    with t_upload:
        upload_tab(policy)
    with t_sample:
        sample_tab(policy)
    with t_sim:
        simulate_tab()
if "data_error" in st.session_state:
    kept = state.dataset()
    st.error(
        f"Could not load the data: {st.session_state['data_error']}"
        + (f"\n\nStill using the previous dataset, {kept.name}." if kept is not None else "")
    )
ds = state.dataset()
if ds is None:
    st.info("Choose a source above to get started.")
else:
    qc(ds)
