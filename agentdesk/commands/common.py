"""Helpers shared by sub-commands: settings from the global ``--config`` option."""

from __future__ import annotations

import argparse
from pathlib import Path

from agentdesk.config import Settings, load_settings


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(Path(args.config) if getattr(args, "config", None) else None)
