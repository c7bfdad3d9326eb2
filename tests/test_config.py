"""Configs: one list of presets, each buildable, named alike in the type, the app and the CLI."""

from __future__ import annotations

import typing

import pytest

from gpatlas_core.config import PRESET_DESCRIPTIONS, PRESETS, PresetName, preset


def test_one_preset_list() -> None:
    assert set(typing.get_args(PresetName)) == set(PRESETS) == set(PRESET_DESCRIPTIONS)
    assert PRESETS[0] == "studio"  # the default in the app and the CLI
    for name in PRESETS:
        assert preset(name).preset == name


def test_unknown_preset_names_the_choices() -> None:
    with pytest.raises(ValueError, match="studio, quick, paper-simulated, paper-yeast"):
        preset("fast")  # type: ignore[arg-type]
