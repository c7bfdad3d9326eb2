"""Where one tier's training stands (:class:`TierState`, all a checkpoint needs to continue it
exactly) and what ``on_epoch`` receives after every epoch (:class:`EpochInfo`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..config import Tier


@dataclass(frozen=True)
class EpochInfo:
    """What ``on_epoch`` receives after every epoch. Losses are masked MSEs on the model scale
    (``test_loss`` on the test split, ``validation_loss`` on the validation part or None)."""

    tier: Tier
    epoch: int
    n_epochs: int
    train_loss: float
    test_loss: float
    seconds: float
    validation_loss: float | None = None


@dataclass
class TierState:
    """The training position within one tier; a fresh one starts the tier at epoch 0."""

    epoch: int = 0
    """Epochs finished."""
    perm: torch.Tensor | None = None
    """The current epoch's shuffled order of the training rows; None between epochs."""
    batch: int = 0
    """The next batch (of ``perm``) to train on."""
    loss_sum: torch.Tensor | None = None
    """Sum of the current epoch's batch losses (a 0-d tensor on the device, read once an epoch)."""
    reg_sum: float | torch.Tensor = 0.0
    """Sum of the current epoch's L1/L2 penalty values (a tensor after the first batch)."""
    n_done: int = 0
    """Batches trained in the current epoch (a batch of a single individual is skipped)."""
    seconds: float = 0.0
    """Training seconds of the current epoch so far, summed over stops and resumes."""
    best: float = math.inf
    """Lowest validation loss at an epoch end (inf: none yet)."""
    best_epoch: int | None = None
    """The epoch of ``best`` (0: the LASSO warm start itself)."""
    bad: int = 0
    """Epochs since ``best`` last improved (early stopping's count)."""
    best_state: dict[str, torch.Tensor] | None = None
    """Weights at ``best_epoch``: ``"{i}.{name}"`` for the i-th network trained in the tier."""
    opt: dict[int, dict[str, torch.Tensor]] | None = None
    """The optimiser's per-parameter state (``state_dict()["state"]``), kept on a stop or a
    checkpoint so that training continues with the same moments."""
    avg: dict[str, torch.Tensor] | None = None
    """Running mean of GQ's parameters over epoch ends (weight averaging); None: not started."""
    n_avg: int = 0
    """Epoch ends averaged into ``avg``."""

    @property
    def fresh(self) -> bool:
        """Nothing of this tier trained yet (not a position to resume from)."""
        return self.epoch == 0 and self.perm is None and self.opt is None

    def start_epoch(self, perm: torch.Tensor) -> None:
        """Begin an epoch over the training rows in the order ``perm``."""
        self.perm, self.batch = perm, 0
        self.loss_sum, self.reg_sum = torch.zeros((), device=perm.device), 0.0
        self.n_done, self.seconds = 0, 0.0

    def keep_best(self, loss: float, epoch: int, nets: list[nn.Module]) -> None:
        """``epoch`` (validation loss ``loss``) is the best so far: copy the weights of ``nets``."""
        self.best, self.best_epoch, self.bad = loss, epoch, 0
        self.best_state = {
            f"{i}.{k}": v.detach().clone()
            for i, net in enumerate(nets)
            for k, v in net.state_dict().items()
        }

    def restore_best(self, nets: list[nn.Module]) -> None:
        """Load the weights copied by :meth:`keep_best` back into ``nets``."""
        best = self.best_state or {}
        for i, net in enumerate(nets):
            prefix = f"{i}."
            net.load_state_dict(
                {k[len(prefix) :]: v for k, v in best.items() if k.startswith(prefix)}
            )

    def add_to_average(self, net: nn.Module) -> None:
        """Fold ``net``'s floating-point parameters into their running mean over epoch ends
        (stochastic weight averaging, Izmailov et al. 2018); BatchNorm statistics are
        re-estimated afterwards."""
        cur = {k: v.detach() for k, v in net.named_parameters()}
        if self.avg is None:
            self.avg = {k: v.clone() for k, v in cur.items()}
            self.n_avg = 1
            return
        self.n_avg += 1
        for k, v in cur.items():
            self.avg[k] += (v - self.avg[k]) / self.n_avg
