"""Supervisor views: the live wallboard (desk and wall-screen modes), alerts, reports.

:func:`open_wallboard` is the one way in: it builds the role-checked
supervisor service, the live feed of the server's floor and the window, and
raises :class:`~agentdesk.services.platform.roles.PermissionDenied` for a session
whose role may not see supervisor data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QWidget

from agentdesk.client.floor import ServerFloorFeed
from agentdesk.services.desk.agent_state import ReasonCode
from agentdesk.services.platform.roles import Session
from agentdesk.services.supervisor import SupervisorService, SupervisorSettings
from agentdesk.services.supervisor.floor_stats import FloorReads
from agentdesk.services.supervisor.service import AuditLog
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.supervisor.feed import SupervisorFeed
from agentdesk.ui.supervisor.wallboard import WallboardWindow

__all__ = ["SupervisorFeed", "WallboardWindow", "open_wallboard"]


def open_wallboard(
    session: Session,
    settings: SupervisorSettings,
    *,
    audit: AuditLog,
    source: ServerFloorFeed,
    bridge: Bridge,
    floor: FloorReads | None = None,
    queue_log: Path | None = None,
    workstation: str = "",
    reasons: tuple[ReasonCode, ...] = (),
    clock: Callable[[], float] = time.time,
    parent: QWidget | None = None,
) -> WallboardWindow:
    """Build and start the wallboard for ``session`` (PermissionDenied for agents).

    ``source`` is the server's floor socket (``agentdesk.client.floor``); the wallboard
    owns it from here and stops it (and its loop thread) when it closes. ``queue_log``
    is read for reports and last week's reference only: the live figures are the server's.
    """
    service = SupervisorService(
        session, settings, audit=audit, floor=floor, queue_log=queue_log,
        workstation=workstation, clock=clock,
    )  # fmt: skip
    feed = SupervisorFeed(service, source, bridge)
    window = WallboardWindow(feed, bridge, reasons=reasons, clock=clock, parent=parent)
    feed.setParent(window)
    feed.start()
    return window
