"""Supervisor views: the live wallboard (desk and wall-screen modes), alerts, reports.

:func:`open_wallboard` is the one way in: it builds the role-checked
supervisor service, the live feed on the telephony loop and the window, and
raises :class:`~agentdesk.services.platform.roles.PermissionDenied` for a session
whose role may not see supervisor data.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QWidget

from agentdesk.services.desk.agent_state import ReasonCode
from agentdesk.services.platform.roles import Session
from agentdesk.services.supervisor import SupervisorService, SupervisorSettings
from agentdesk.services.supervisor.floor_stats import FloorReads
from agentdesk.services.supervisor.service import AuditLog
from agentdesk.telephony.client import AmiClient
from agentdesk.telephony.loop_thread import LoopThread
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.supervisor.feed import SupervisorFeed
from agentdesk.ui.supervisor.wallboard import WallboardWindow

__all__ = ["SupervisorFeed", "WallboardWindow", "open_wallboard"]


def open_wallboard(
    session: Session,
    settings: SupervisorSettings,
    *,
    audit: AuditLog,
    client: AmiClient | None,
    loop: LoopThread,
    bridge: Bridge,
    floor: FloorReads | None = None,
    queue_log: Path | None = None,
    workstation: str = "",
    reasons: tuple[ReasonCode, ...] = (),
    start_client: bool = True,
    clock: Callable[[], float] = time.time,
    parent: QWidget | None = None,
) -> WallboardWindow:
    """Build and start the wallboard for ``session`` (PermissionDenied for agents).

    ``start_client=False`` shares an AMI client another part of the desktop
    already started (the agent desktop's); the wallboard then resyncs itself.

    The telephony thread folds hundreds of AMI events a second into the board
    in Python; every time the GUI thread needs the GIL meanwhile it waits up to
    the interpreter's switch interval (5 ms by default). 1 ms keeps the GUI's
    waits short (bench/wallboard.py: p99 stall 14 → 11 ms at 500 agents).
    """
    sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
    service = SupervisorService(
        session, settings, audit=audit, pbx=client, floor=floor, queue_log=queue_log,
        workstation=workstation, clock=clock,
    )  # fmt: skip
    feed = SupervisorFeed(service, client, loop, bridge)
    window = WallboardWindow(feed, bridge, reasons=reasons, clock=clock, parent=parent)
    feed.setParent(window)
    feed.start(start_client=start_client)
    return window
