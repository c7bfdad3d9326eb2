"""Run bundles for the Train page: thin wrappers over :mod:`gpatlas_core.bundle` (shared with
the command line, ``python -m gpatlas_core evaluate RUN.zip``).

Loading accepts only ``.safetensors``, ``.json`` and ``.csv`` members and never unpickles.
"""

from __future__ import annotations

from gpatlas_core.bundle import ALLOWED_SUFFIXES, MAX_UNPACKED_BYTES, read_bundle, run_to_zip

__all__ = ["ALLOWED_SUFFIXES", "MAX_UNPACKED_BYTES", "run_from_zip", "run_to_zip"]


def run_from_zip(data: bytes, *, name: str = "bundle.zip"):
    """Read a run bundle made by :func:`run_to_zip` (or a zip of any run folder)."""
    from .hosting import limits

    cap = min(MAX_UNPACKED_BYTES, limits().max_uncompressed_mb * 1024 * 1024)
    return read_bundle(data, name=name, max_bytes=cap)
