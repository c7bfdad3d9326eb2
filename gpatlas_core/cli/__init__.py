"""One entry point, ``python -m gpatlas_core SUBCOMMAND``; each subcommand lives in its own module
with ``register(subparsers)`` that adds its parser and sets ``func(args) -> int``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..io import DataError
from . import (
    _cross,
    _cv,
    _evaluate,
    _importance,
    _info,
    _perturb,
    _simulate,
    _train,
    _tune,
    _vida,
)

_SUBCOMMANDS = (
    _info,
    _simulate,
    _train,
    _evaluate,
    _cv,
    _tune,
    _importance,
    _vida,
    _perturb,
    _cross,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gpatlas_core",
        description="G-P Atlas: map genotypes to many phenotypes from the command line.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _SUBCOMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
