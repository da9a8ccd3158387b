"""Realistic queue_log files for report tests, written by the PBX simulator itself."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from agentdesk.telephony.sim import PbxSimulator, load_config

TODAY = dt.date(2026, 11, 23)
LAST_WEEK = dt.date(2026, 11, 16)


def make_queue_log(
    path: Path,
    days: tuple[dt.date, ...] = (LAST_WEEK, TODAY),
    *,
    start: dt.time = dt.time(9, 0),
    hours: float = 2.0,
    agents: int = 12,
) -> Path:
    """Append ``hours`` of simulated traffic from ``start`` (UTC) on each day."""
    for day in days:
        epoch = dt.datetime.combine(day, start, tzinfo=dt.UTC).timestamp()
        sim = PbxSimulator(load_config(), seed=day.toordinal(), epoch=epoch, queue_log=path,
                           virtual_agents=agents, traffic=True)  # fmt: skip
        sim.run_for(hours * 3600)
        sim.close()
    return path
