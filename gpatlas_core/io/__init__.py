"""Reading and checking data. Every reader returns a :class:`Dataset` or raises :class:`DataError`."""

from ._dataset import MISSING_STATE, Dataset, DataError, MissingPolicy, Truth

__all__ = ["MISSING_STATE", "DataError", "Dataset", "MissingPolicy", "Truth"]
