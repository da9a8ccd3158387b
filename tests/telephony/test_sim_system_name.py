"""``--system-name`` (asterisk.conf ``systemname``) keeps two PBXs' Linkedids apart."""

from __future__ import annotations

import argparse

import pytest

from agentdesk.commands.pbx import _system_name
from agentdesk.telephony.sim.model import Ids


def test_uniqueids_carry_the_system_name_and_two_pbxs_never_share_one() -> None:
    london, leeds = Ids(1, "london"), Ids(1, "leeds")
    a = {london.uniqueid(1_800_000_000.5) for _ in range(50)}
    b = {leeds.uniqueid(1_800_000_000.5) for _ in range(50)}
    assert "london-1800000000.1" in a and not a & b
    assert Ids(1).uniqueid(1_800_000_000.0) == "1800000000.1"  # none set: Asterisk's default


@pytest.mark.parametrize("bad", ["", "lon don", "a-b", "x" * 21, "ü"])
def test_a_system_name_asterisk_would_mangle_is_refused(bad: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        _system_name(bad)


def test_the_pbx_command_starts_without_a_system_name() -> None:
    """Defect: argparse ran the option's check on its "" default, so every plain
    ``agentdesk pbx`` stopped with a usage error."""
    from agentdesk.cli import build_parser

    args = build_parser().parse_args(["pbx", "--port", "0"])
    assert args.system_name is None
    assert build_parser().parse_args(["pbx", "--system-name", "leeds"]).system_name == "leeds"
