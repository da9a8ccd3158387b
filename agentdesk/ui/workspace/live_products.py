"""The products tab's live part: balances and recent transactions from the core system.

Asked of the server (``client/corebank.py``) on the central lane, never on
the GUI thread and never of the core system itself. The stored rows stay
on screen until the answer comes; then the balances are the core system's,
and the note under the table says how fresh they are: "as of 13:52 — core
system unavailable" when the server could only give the last known values.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QTableView, QVBoxLayout, QWidget

from agentdesk.services.corebank.models import LiveProducts, LiveTransaction
from agentdesk.services.crm.customer_views import ProductView
from agentdesk.ui import format as fmt
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.named import named
from agentdesk.ui.row_model import Column, RowTableModel
from agentdesk.ui.shell_widgets import fit_columns

LiveReader = Callable[[uuid.UUID], LiveProducts]
STALE_STYLE = "background:#ef6c00;color:white;padding:3px 6px;border-radius:4px"
FRESH_STYLE = "color:#2e7d32;padding:3px 0"
# The "As of" column's source for live rows (the values of this dict are what it shows).
SOURCES = {"core": "core system", "last-known": "last known"}


def when(moment: dt.datetime, today: dt.date | None = None) -> str:
    """``13:52`` today, ``28 Nov 13:52`` on another day (local time)."""
    local = moment.astimezone()
    return (
        f"{local:%H:%M}" if local.date() == (today or dt.date.today()) else f"{local:%d %b %H:%M}"
    )


def note_for(live: LiveProducts) -> str:
    """The line under the products table: how fresh the balances are, in words."""
    if not live.stale:
        return f"Balances live from the core system at {when(live.as_of)}" if live.as_of else ""
    reason = live.reason or "core system unavailable"
    if live.as_of is None:
        return f"No balances known — {reason}"
    return f"As of {when(live.as_of)} — {reason}"


def merged(stored: tuple[ProductView, ...], live: LiveProducts) -> tuple[ProductView, ...]:
    """The stored rows with the core system's balances (and the products only it knows)."""
    if live.source not in SOURCES or live.as_of is None:
        return stored  # the CRM's own rows are what the server fell back to
    source, as_of = SOURCES[live.source], live.as_of
    by_id = {p.id: p for p in live.products}
    rows = [
        dataclasses.replace(
            p,
            balance=lp.balance,
            currency=lp.currency,
            status=lp.status,
            as_of=as_of,
            source_system=source,
        )
        if (lp := by_id.pop(p.id, None)) is not None
        else p
        for p in stored
    ]
    rows += [
        ProductView(
            p.id, p.kind, p.name, p.masked_number, p.status, p.balance, p.currency, as_of, source
        )
        for p in by_id.values()
    ]
    return tuple(rows)


class LiveProductsPanel(QWidget):
    """The freshness note and the recent transactions; ``rows_ready`` carries merged rows."""

    rows_ready = Signal(object)  # tuple[ProductView, ...]

    def __init__(
        self,
        bridge: Bridge,
        read: LiveReader | None,
        table: Callable[[RowTableModel[LiveTransaction], str], QTableView],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._read = read
        self._asked = 0  # only the latest answer is shown
        self._names: dict[uuid.UUID, str] = {}
        self.note = fmt.plain(named(QLabel(wordWrap=True), "Balance freshness"))
        self.transactions = RowTableModel[LiveTransaction](self._columns(), parent=self)
        self.transactions_view = table(self.transactions, "Recent transactions")
        # Every column in sight in the narrow pane; the amounts never cut.
        fit_columns(self.transactions_view, whole=(len(self._columns()) - 1,))
        self.heading = fmt.plain(QLabel("Recent transactions"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.note)
        layout.addWidget(self.heading)
        layout.addWidget(self.transactions_view, 1)
        self.note.setVisible(read is not None)
        self.heading.setVisible(False)
        self.transactions_view.setVisible(False)

    def _columns(self) -> tuple[Column[LiveTransaction], ...]:
        return (
            Column[LiveTransaction]("Date", lambda t: f"{t.booked_on:%d %b}"),
            Column[LiveTransaction](
                "Product", lambda t: fmt.display_text(self._names.get(t.product_id, ""))
            ),
            Column[LiveTransaction]("Description", lambda t: fmt.display_text(t.description)),
            Column[LiveTransaction](
                "Amount", lambda t: f"{t.amount:,.2f} {t.currency}", align_right=True
            ),
        )

    def load(self, customer_id: uuid.UUID, stored: tuple[ProductView, ...]) -> None:
        """Ask the server for the live values; the stored rows stay until they come."""
        if self._read is None:
            return
        self._asked += 1
        asked = self._asked
        self.note.setStyleSheet("")
        self.note.setText("Fetching live balances…")
        self._bridge.submit(
            self._read,
            customer_id,
            on_done=lambda live: self._on_live(asked, stored, live),
            on_error=lambda exc: self._on_failed(asked, exc),
            lane="central",
        )

    def _on_live(self, asked: int, stored: tuple[ProductView, ...], live: LiveProducts) -> None:
        if asked != self._asked:
            return
        self._names = {p.id: p.masked_number for p in live.products}
        self.note.setText(note_for(live))
        self.note.setStyleSheet(STALE_STYLE if live.stale else FRESH_STYLE)
        self.transactions.set_rows(live.transactions)
        self.heading.setVisible(bool(live.transactions))
        self.transactions_view.setVisible(bool(live.transactions))
        self.rows_ready.emit(merged(stored, live))

    def _on_failed(self, asked: int, exc: BaseException) -> None:
        if asked != self._asked:
            return
        self.note.setText(f"Balances as stored in the CRM — live balances unavailable: {exc}")
        self.note.setStyleSheet(STALE_STYLE)
