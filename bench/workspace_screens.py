"""Take the workspace screenshots for docs/screenshots under a real X server (Xvfb).

Xvfb :98 -screen 0 1366x768x24 &  DISPLAY=:98 .venv/bin/python bench/workspace_screens.py
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtWidgets import QApplication, QMainWindow, QTabWidget

from agentdesk.services.crm.customers import CustomerService
from agentdesk.services.crm.search import SearchService
from agentdesk.services.crm.timeline import TimelineService
from agentdesk.services.tickets.service import TicketService
from agentdesk.services.tickets.sla import load_policy
from agentdesk.store import migrate
from agentdesk.store.engine import sqlite_engine
from agentdesk.store.writer import LocalWriter
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.search.popup import SearchPopup
from agentdesk.ui.tickets.pane import TicketPane
from agentdesk.ui.workspace.context import WorkspaceContext
from agentdesk.ui.workspace.view import CustomerWorkspace
from tests.ui_workspace.builders import (
    add_customer,
    add_interactions,
    add_many_customers,
    add_org,
)

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def settle(app: QApplication, seconds: float = 1.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def shoot(app: QApplication, name: str) -> None:
    settle(app)
    OUT.mkdir(parents=True, exist_ok=True)
    subprocess.run(["import", "-window", "root", str(OUT / f"{name}.png")], check=True)
    print("saved", OUT / f"{name}.png")


def main() -> None:
    app = QApplication(sys.argv)
    engine = sqlite_engine(Path(tempfile.mkdtemp()) / "screens.db")
    migrate.upgrade(engine)
    org = add_org(engine)
    add_many_customers(engine, 500)
    cid = add_customer(engine, vulnerable=True, marketing_opt_out=True, segment="premier")
    add_interactions(engine, cid, 5000, [org.agent_id, org.other_agent_id])
    writer = LocalWriter(engine, "alice")
    bridge = Bridge()
    tickets = TicketService(engine, writer, load_policy(), org.agent_id)
    ctx = WorkspaceContext(
        bridge,
        CustomerService(engine, writer),
        TimelineService(engine, writer),
        tickets,
        SearchService(engine),
        org.agent_id,
    )
    now = dt.datetime.now(dt.UTC)
    for reason, title, prio, ago in [
        ("card_lost", "Card lost in Lisbon", "urgent", 70),
        ("card_dispute", "Disputed £42.10 at Café Zürich", "high", 30),
        ("payment_failed", "Salary payment missing", "normal", 90),
        ("complaint", "Branch queue complaint", "low", 10),
    ]:
        row = tickets.create(
            reason=reason,
            title=title,
            customer_id=cid,
            priority=prio,
            now=now - dt.timedelta(minutes=ago),
            team_id=org.team_id,
        )
        tickets.assign(row, org.agent_id)
    window = QMainWindow()
    window.setWindowTitle("agentdesk — customer workspace")
    tabs = QTabWidget()
    workspace = CustomerWorkspace(ctx, cid, caller=True)
    tabs.addTab(workspace, "☎ Amelia Okafor")
    window.setCentralWidget(tabs)
    window.resize(1366, 768)
    window.move(0, 0)
    window.show()
    settle(app, 2.0)
    shoot(app, "workspace")
    workspace.activity_tabs.setCurrentWidget(workspace.timeline)
    workspace.timeline.list.setCurrentIndex(workspace.timeline.model.index(2))
    workspace.timeline.list.expand_requested.emit(workspace.timeline.model.index(2))
    shoot(app, "timeline")
    pane = TicketPane(bridge, tickets, "mine")
    tabs.addTab(pane, "My tickets")
    tabs.setCurrentWidget(pane)
    pane.refresh()
    settle(app, 1.0)
    pane.table.selectRow(0)
    shoot(app, "ticket_pane")
    popup = SearchPopup(bridge, ctx.search, window)
    popup.move(400, 120)
    popup.open_search()
    popup.box.setText("0044 (0)7700-900 123")
    settle(app, 0.8)
    popup.box.setText("amel")
    shoot(app, "search")
    bridge.shutdown()


if __name__ == "__main__":
    main()
