"""Reading and checking data. Every reader returns a :class:`Dataset` or raises :class:`DataError`.

Every file argument accepts a path or a binary file-like object with a ``.name`` (e.g.
Streamlit's UploadedFile). Inputs are size-checked (:class:`ReadLimits`), sniffed for binary
formats (pickles and other binaries are refused, never loaded), decompressed in a streaming
way when gzipped, and decoded (UTF-8, UTF-16 with or without BOM, else Windows-1252). Genotype
files are streamed (tables in chunks of lines, VCF/BCF through cyvcf2, PLINK through
bed-reader and PLINK 2 through pgenlib in chunks of markers) into one compact int8 matrix;
samples x markers is held against the memory limit before the genotypes are parsed.
:func:`resolve_dataset` turns what a user names (``yeast``, a folder, files) into a dataset.
"""

from ._bloom import YEAST_SAMPLE_DIR, load_yeast_sample, read_bloom
from ._dataset import MISSING_STATE, DataError, Dataset, MissingPolicy, Truth
from ._folder import (
    dataset_folder_name,
    dataset_to_zip,
    read_dataset_folder,
    write_dataset_folder,
)
from ._groups import MarkerGroups, parse_size, read_groups, resolve_groups, window_groups
from ._limits import ReadLimits
from ._maps import (
    markers_from_names,
    match_traits,
    normalize_chromosomes,
    read_known_qtl,
    read_markers,
    trait_key,
)
from ._memory import out_of_memory_message, usable_memory
from ._pgen import read_pgen
from ._plink import read_plink
from ._resolve import DatasetSpec, describe_spec, resolve_dataset, spec_exists
from ._upload import read_uploaded, recognise_layout
from ._vcf import read_vcf

__all__ = [
    "MISSING_STATE",
    "YEAST_SAMPLE_DIR",
    "DataError",
    "Dataset",
    "DatasetSpec",
    "MarkerGroups",
    "MissingPolicy",
    "ReadLimits",
    "Truth",
    "dataset_folder_name",
    "dataset_to_zip",
    "describe_spec",
    "load_yeast_sample",
    "markers_from_names",
    "match_traits",
    "normalize_chromosomes",
    "out_of_memory_message",
    "parse_size",
    "read_bloom",
    "read_dataset_folder",
    "read_groups",
    "read_known_qtl",
    "read_markers",
    "read_pgen",
    "read_plink",
    "read_uploaded",
    "read_vcf",
    "recognise_layout",
    "resolve_dataset",
    "resolve_groups",
    "spec_exists",
    "trait_key",
    "usable_memory",
    "window_groups",
    "write_dataset_folder",
]
