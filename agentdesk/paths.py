"""Where agentdesk finds its shipped resources (IVR flows, policies, reference data)."""

from __future__ import annotations

from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent.parent / "resources"


def resource(*parts: str) -> Path:
    """Path of a file under ``resources/``."""
    return RESOURCES_DIR.joinpath(*parts)
