"""Reading and checking data. Every reader returns a :class:`Dataset` or raises :class:`DataError`.

Every file argument accepts a path or a binary file-like object with a ``.name`` (e.g.
Streamlit's UploadedFile). Inputs are size-checked (:class:`ReadLimits`), sniffed for binary
formats (pickles and other binaries are refused, never loaded), decompressed in a streaming
way when gzipped, and decoded (UTF-8, UTF-16 with or without BOM, else Windows-1252).
"""

from ._bloom import YEAST_SAMPLE_DIR, load_yeast_sample, read_bloom
from ._dataset import MISSING_STATE, DataError, Dataset, MissingPolicy, Truth
from ._folder import (
    dataset_folder_name,
    dataset_to_zip,
    read_dataset_folder,
    write_dataset_folder,
)
from ._limits import ReadLimits
from ._maps import markers_from_names, normalize_chromosomes, read_known_qtl, read_markers
from ._plink import read_plink
from ._upload import read_uploaded, recognise_layout
from ._vcf import read_vcf

__all__ = [
    "MISSING_STATE",
    "YEAST_SAMPLE_DIR",
    "DataError",
    "Dataset",
    "MissingPolicy",
    "ReadLimits",
    "Truth",
    "dataset_folder_name",
    "dataset_to_zip",
    "load_yeast_sample",
    "markers_from_names",
    "normalize_chromosomes",
    "read_bloom",
    "read_dataset_folder",
    "read_known_qtl",
    "read_markers",
    "read_plink",
    "read_uploaded",
    "read_vcf",
    "recognise_layout",
    "write_dataset_folder",
]
