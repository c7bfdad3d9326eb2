"""Training (docs/method.md section 2): tier 1 the phenotype autoencoder Q, P; tier 2 the
genotype encoder GQ through the frozen decoder P.

- ``_loop``: :func:`train` and one tier's epoch loop (start here).
- ``_trainer``: the data on the device, the optimiser, one step's loss, the per-epoch losses.
- ``_kernels``: masked MSE, genotype noise, the L1/L2 penalty, the fused first GQ layer.
- ``_state``: :class:`TierState` (the resumable position in a tier) and :class:`EpochInfo`.
- ``_checkpoint``: packing a state into ``Run.checkpoint`` and the checks before a resume.
- ``_new_run``: the seeded split, scaler, fill and initial weights of a new run.
- ``_warm_start``: the LASSO warm start P(Q(LASSO(x))) and BatchNorm recalibration.
"""

from .._device import resolve_device
from ._kernels import genotype_flip_probability
from ._loop import run_tier, train
from ._new_run import fold_split, init_networks, make_split
from ._state import EpochInfo, TierState
from ._trainer import Trainer

__all__ = [
    "EpochInfo",
    "TierState",
    "Trainer",
    "fold_split",
    "genotype_flip_probability",
    "init_networks",
    "make_split",
    "resolve_device",
    "run_tier",
    "train",
]
