"""The supervisor's settings: service-level definition, wrap-up times and alert thresholds.

Read from ``resources/alerts.toml`` (or a site copy). The same
:class:`~agentdesk.services.supervisor.queue_metrics.MetricsConfig` drives the live
wallboard, the historical reports and the alerts, so the three never
disagree about what "service level" means.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from agentdesk.paths import resource
from agentdesk.services.supervisor.alerts import AlertConfigError, AlertThresholds, thresholds_from
from agentdesk.services.supervisor.queue_metrics import MetricsConfig, ServiceLevelDefinition


@dataclass(frozen=True)
class SupervisorSettings:
    """What the wallboard needs beyond the PBX link."""

    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    thresholds: AlertThresholds = field(default_factory=AlertThresholds)
    resync_s: float = 60.0
    # Queue figures (SL, ASA, AHT …) are recomputed at most this often; 0 = on every look.
    figures_refresh_s: float = 0.0

    @property
    def definition(self) -> ServiceLevelDefinition:
        return self.metrics.service_level

    def wrapup_s(self, queue: str) -> float:
        return float(self.metrics.wrapup_s.get(queue, 0.0))

    def is_acw(self, reason: str) -> bool:
        return self.metrics.is_acw_reason(reason)


def _local_zone() -> tzinfo:
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    return zone


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise AlertConfigError(f"[{name}] must be a table")
    return value


def _float(section: Mapping[str, Any], key: str, where: str, default: float) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise AlertConfigError(f"{where}.{key} must be a number >= 0, got {value!r}")
    return float(value)


def settings_from(data: Mapping[str, Any], tz: tzinfo | None = None) -> SupervisorSettings:
    """Build settings from a parsed alerts file; raises :class:`AlertConfigError`."""
    sl = _table(data, "service_level")
    try:
        definition = ServiceLevelDefinition(
            threshold_s=_float(sl, "threshold_s", "service_level", 20.0),
            short_abandon_s=_float(sl, "short_abandon_s", "service_level", 5.0),
            count_abandons=bool(sl.get("count_abandons", True)),
            exclude_short_abandons=bool(sl.get("exclude_short_abandons", True)),
            count_flowouts=bool(sl.get("count_flowouts", False)),
            target=_float(sl, "target_pct", "service_level", 80.0) / 100.0,
        )
    except ValueError as exc:
        raise AlertConfigError(f"[service_level]: {exc}") from exc
    wrapup = _table(data, "wrapup")
    queues = wrapup.get("queues", {})
    if not isinstance(queues, dict):
        raise AlertConfigError("[wrapup.queues] must be a table")
    reasons = wrapup.get("acw_reasons", ["ACW"])
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise AlertConfigError("wrapup.acw_reasons must be a list of pause reasons")
    metrics = MetricsConfig(
        service_level=definition,
        wrapup_s={str(q): _float(queues, q, "wrapup.queues", 0.0) for q in queues},
        acw_pause_reasons=frozenset(r.strip().lower() for r in reasons),
        tz=tz or _local_zone(),
    )
    pbx = _table(data, "pbx")
    return SupervisorSettings(
        metrics=metrics,
        thresholds=thresholds_from(_table(data, "alerts"), definition.target),
        resync_s=max(60.0, _float(pbx, "resync_s", "pbx", 60.0)),
        figures_refresh_s=_float(_table(data, "wallboard"), "figures_refresh_s", "wallboard", 1.0),
    )


def load_settings(path: Path | None = None, tz: tzinfo | None = None) -> SupervisorSettings:
    """Read the alerts file (default ``resources/alerts.toml``)."""
    source = path or resource("alerts.toml")
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise AlertConfigError(f"cannot read {source}: {exc}") from exc
    return settings_from(data, tz)
