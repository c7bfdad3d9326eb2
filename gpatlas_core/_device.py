"""Choosing the torch device: one rule for training and ablation (plain torch, no streamlit)."""

from __future__ import annotations

import torch

from .io import DataError


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The device for ``device``: ``"auto"`` is CUDA when available, else the CPU; any other
    name (``"cpu"``, ``"cuda"``, ``"cuda:1"``) or a ``torch.device`` is checked and returned.

    Raises :class:`~gpatlas_core.io.DataError` for a name torch does not know, or for a CUDA
    device this machine does not have.
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise DataError(f"unknown device {device!r}: use 'auto', 'cpu' or 'cuda'") from err
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DataError(f"device {str(dev)!r} was requested but no CUDA GPU is available")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DataError(
                f"device {str(dev)!r} was requested but this machine has "
                f"{torch.cuda.device_count()} CUDA GPU(s)"
            )
    return dev
