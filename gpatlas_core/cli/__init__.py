"""One entry point, ``python -m gpatlas_core SUBCOMMAND``; each subcommand lives in its own module
with ``register(subparsers)`` that adds its parser and sets ``func(args) -> int``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..io import DataError, out_of_memory_message

_SUBCOMMANDS = (
    "info",
    "simulate",
    "train",
    "evaluate",
    "cv",
    "tune",
    "importance",
    "vida",
    "perturb",
    "cross",
)
"""Subcommand names, in the order ``--help`` lists them; each lives in ``cli/_<name>.py``."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or (``only``) of that one alone: its module is then the
    only one imported, so ``info`` starts without torch and scikit-learn."""
    parser = argparse.ArgumentParser(
        prog="python -m gpatlas_core",
        description="G-P Atlas: map genotypes to many phenotypes from the command line.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _SUBCOMMANDS if only is None else (only,):
        importlib.import_module(f"{__name__}._{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    only = argv[0] if argv and argv[0] in _SUBCOMMANDS else None
    args = build_parser(only).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except MemoryError:
        # whatever was being built is dropped with the frame; files written before are intact
        print(f"error: {out_of_memory_message(f'`{args.command}`')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
