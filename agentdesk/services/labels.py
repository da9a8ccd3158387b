"""What agents read instead of stored codes, from the label files in ``resources/``.

``labels.toml`` holds segments, IVR intents, channels, document kinds, extra
ticket reasons and the system jobs that change records (a history's "changed by");
wrap-up dispositions come from ``dispositions.toml``, not-ready reasons from
``reason_codes.toml`` and the SLA's ticket reasons from ``sla.toml``.
A code with no label is shown in plain words ("young_saver" → "Young saver").
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from agentdesk.paths import resource

Kind = Literal[
    "segment", "intent", "channel", "document", "reason", "disposition", "not_ready", "actor"
]
_TABLES: dict[str, Kind] = {
    "segments": "segment",
    "intents": "intent",
    "channels": "channel",
    "documents": "document",
    "reasons": "reason",
    "actors": "actor",
}


def plain_words(code: str | None) -> str:
    """``card_lost`` → ``Card lost`` (for a code no label file names)."""
    return (code or "").replace("_", " ").strip().capitalize()


@dataclass(frozen=True)
class Labels:
    """Code → label per kind."""

    by_kind: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def label(self, kind: Kind, code: str | None) -> str:
        if not code:
            return ""
        return self.by_kind.get(kind, {}).get(code) or plain_words(code)

    def actor(self, changed_by: str | None) -> str:
        """Who made a change, in words: a system job's code ("seed", "escalation") by its
        label ("System (set-up data)"); anything else is a person (a name) and stays as it is."""
        if not changed_by:
            return ""
        return self.by_kind.get("actor", {}).get(changed_by.strip().lower()) or changed_by


def _read(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def load_labels(directory: Path | None = None) -> Labels:
    """Every label file under ``directory`` (``resources/`` by default)."""
    base = directory or resource()
    by_kind: dict[str, dict[str, str]] = {kind: {} for kind in _TABLES.values()}
    labels = _read(base / "labels.toml")
    for table, kind in _TABLES.items():
        by_kind[kind].update({str(k): str(v) for k, v in labels.get(table, {}).items()})
    for code, entry in _read(base / "sla.toml").get("reasons", {}).items():
        if isinstance(entry, dict) and "label" in entry:
            by_kind["reason"][str(code)] = str(entry["label"])
    by_kind["disposition"] = {
        str(d["code"]): str(d["label"])
        for d in _read(base / "dispositions.toml").get("disposition", [])
        if "code" in d and "label" in d
    }
    by_kind["not_ready"] = {
        str(r["code"]): str(r["label"])
        for r in _read(base / "reason_codes.toml").get("reason", [])
        if "code" in r and "label" in r
    }
    return Labels(by_kind)


@cache
def shipped_labels() -> Labels:
    """The shipped label files, read once (they do not change while the desktop runs)."""
    return load_labels()
