"""The products tab with live balances from the core-banking simulator (its own process).

The workspace's ``live_products`` is the server's reader here (the same
breaker, timeout and last-known values the server's route uses; the route
itself is tested in tests/server/test_corebank_route.py), so the tab's
behaviour is driven by a real core system that answers, fails or hangs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from agentdesk.services.corebank.breaker import BreakerSettings, CircuitBreaker
from agentdesk.services.corebank.client import HttpCoreBank
from agentdesk.services.corebank.live import LiveProductsReader, crm_products
from agentdesk.ui.workspace.context import WorkspaceContext
from agentdesk.ui.workspace.view import CustomerWorkspace
from tests.services.corebank.conftest import Simulator, start_simulator
from tests.ui_workspace.builders import add_customer

WAIT_MS = 10_000


@pytest.fixture
def core(engine: Engine, tmp_path: Path) -> Iterator[Simulator]:
    sim = start_simulator(tmp_path / "cache.db", tmp_path)  # the same products as the cache
    yield sim
    sim.stop()


@pytest.fixture
def reader(core: Simulator, engine: Engine) -> Iterator[LiveProductsReader]:
    made = LiveProductsReader(
        HttpCoreBank(core.url, timeout=0.3),
        CircuitBreaker(BreakerSettings(failure_threshold=2, cool_down=60)),
        crm_products(engine),
        recent=8,
    )
    yield made
    made.close()


def _open(qtbot: QtBot, context: WorkspaceContext, cid: object) -> CustomerWorkspace:
    ws = CustomerWorkspace(context, cid)  # type: ignore[arg-type]
    qtbot.addWidget(ws)
    ws.resize(1366, 700)
    ws.show()
    ws.detail_tabs.setCurrentIndex(1)  # Products
    return ws


def test_live_balances_then_stale_ones_with_their_time(
    qtbot: QtBot,
    qtmodeltester: ModelTester,
    engine: Engine,
    context: WorkspaceContext,
    core: Simulator,
    reader: LiveProductsReader,
) -> None:
    cid = add_customer(engine)
    ws = _open(qtbot, dataclasses.replace(context, live_products=reader.read), cid)
    note = ws.live.note
    qtbot.wait_until(lambda: note.text().startswith("Balances live from the core system at"),
                     timeout=WAIT_MS)  # fmt: skip
    rows = ws.products.rows
    assert rows and all(r.source_system == "core system" for r in rows)
    assert ws.live.transactions.rowCount() == 8 and ws.live.transactions_view.isVisible()
    qtmodeltester.check(ws.live.transactions)
    product_names = {ws.live.transactions.data(ws.live.transactions.index(r, 1)) for r in range(8)}
    assert product_names <= {p.masked_number for p in reader.read(cid).products}
    assert ws.products_view.isColumnHidden(4)  # "As of": the note under the table says it

    core.faults(fail_rate=1.0)
    ws.refresh()
    qtbot.wait_until(lambda: "core system unavailable" in note.text(), timeout=WAIT_MS)
    assert note.text().startswith("As of ") and " — core system unavailable" in note.text()
    assert [r.balance for r in ws.products.rows] == [r.balance for r in rows]
    assert all(r.source_system == "last known" for r in ws.products.rows)
    assert ws.live.transactions.rowCount() == 8  # the last known ones, still shown


def test_without_a_server_the_stored_rows_stay_and_no_note_is_shown(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext
) -> None:
    cid = add_customer(engine)
    ws = _open(qtbot, context, cid)
    qtbot.wait_until(lambda: ws.card is not None, timeout=WAIT_MS)
    assert ws.card is not None and ws.products.rows == tuple(ws.card.products)
    assert not ws.live.note.isVisible() and not ws.live.transactions_view.isVisible()


def test_a_refused_request_keeps_the_stored_rows_and_says_why(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext
) -> None:
    def refused(_cid: object) -> object:
        raise PermissionError("This customer was never found on this desktop.")

    cid = add_customer(engine)
    ws = _open(qtbot, dataclasses.replace(context, live_products=refused), cid)
    qtbot.wait_until(lambda: "live balances unavailable" in ws.live.note.text(), timeout=WAIT_MS)
    assert "never found on this desktop" in ws.live.note.text()
    assert ws.card is not None and ws.products.rows == tuple(ws.card.products)


def test_balances_are_shown_whole_in_the_narrow_pane_at_1366x768(
    qtbot: QtBot,
    engine: Engine,
    context: WorkspaceContext,
    core: Simulator,
    reader: LiveProductsReader,
) -> None:
    """Seen in the demo at 1366×768: once live balances hid the "As of" column, the freed
    room stayed unused and the balances were cut ("-1,857.…")."""
    cid = add_customer(engine)
    ws = _open(qtbot, dataclasses.replace(context, live_products=reader.read), cid)
    ws.resize(780, 700)  # the workspace's width beside the call pane on a 1366 px screen
    qtbot.wait_until(lambda: ws.products_view.isColumnHidden(4), timeout=WAIT_MS)
    view, header = ws.products_view, ws.products_view.horizontalHeader()
    balance = 3
    assert header.sectionSize(balance) >= view.sizeHintForColumn(balance)

    def right() -> int:
        shown = [c for c in range(header.count()) if not header.isSectionHidden(c)]
        return header.sectionViewportPosition(shown[-1]) + header.sectionSize(shown[-1])

    # The hidden column's room went to the others.
    qtbot.wait_until(lambda: right() == view.viewport().width(), timeout=WAIT_MS)
