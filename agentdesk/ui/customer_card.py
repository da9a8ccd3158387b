"""A customer's card: name, segment, products, open tickets, last contacts.

Used on the screen pop's single-match page and as the customer tab the main
window opens when no richer workspace view is plugged in.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.crm.caller_match import CustomerCard, InteractionLine, TicketLine
from agentdesk.ui import format as fmt
from agentdesk.ui.desk_theme import tone
from agentdesk.ui.row_model import Column, RowTableModel


def make_table(model: RowTableModel, parent: QWidget, rows_visible: int) -> QTableView:  # type: ignore[type-arg]
    """A read-only, keyboard-navigable table over a row model."""
    view = QTableView(parent)
    view.setModel(model)
    view.verticalHeader().hide()
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setWordWrap(False)
    header = view.horizontalHeader()
    # Fixed widths: ResizeToContents measures every row on each update, on the pop's hot path.
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    header.setDefaultSectionSize(140)
    # As tall as the rows it shows (up to a screenful); the card's stretch takes the rest.
    view.setSizeAdjustPolicy(QAbstractItemView.SizeAdjustPolicy.AdjustToContents)
    view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
    view.verticalHeader().setDefaultSectionSize(24)
    view.setMinimumHeight(28 + 24 * rows_visible)
    return view


def make_label(parent: QWidget, name: str, *, wrap: bool = True, rich: bool = False) -> QLabel:
    """A label that never takes the keyboard focus (the pop must not steal it)."""
    label = QLabel(parent)
    label.setObjectName(name)
    label.setWordWrap(wrap)
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(
        Qt.TextInteractionFlag.TextBrowserInteraction
        if rich
        else Qt.TextInteractionFlag.TextSelectableByMouse
    )
    label.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return label


class CustomerCardView(QWidget):
    """Shows one :class:`CustomerCard`."""

    open_requested = Signal(object)  # customer id

    def __init__(self, parent: QWidget | None = None, *, open_button: bool = True) -> None:
        super().__init__(parent)
        self._card: CustomerCard | None = None
        self.tickets = RowTableModel[TicketLine](
            [
                Column("Ticket", lambda t: t.number),
                Column("Status", lambda t: fmt.words(t.status)),
                Column("Title", lambda t: t.title, tooltip=lambda t: t.title),
            ],
            parent=self,
        )
        self.recent = RowTableModel[InteractionLine](
            [
                Column("When", lambda i: fmt.when(i.started_at)),
                Column("Channel", lambda i: fmt.words(i.channel)),
                Column(
                    "Outcome",
                    lambda i: i.subject or fmt.words(i.disposition_code),
                    tooltip=lambda i: i.subject or "",
                ),
            ],
            parent=self,
        )
        self.headings: dict[str, QLabel] = {}
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.name = make_label(self, "customerName")
        self.facts = make_label(self, "customerFacts", rich=True)
        self.products = make_label(self, "customerProducts")
        self.ticket_view = make_table(self.tickets, self, 3)
        self.recent_view = make_table(self.recent, self, 3)
        for title, widget in (
            ("", self.name),
            ("", self.facts),
            ("", self.products),
            ("Open tickets", self.ticket_view),
            ("Last contacts", self.recent_view),
        ):
            if title:
                heading = make_label(self, "sectionHeading", wrap=False)
                heading.setProperty("base", title)
                self.headings[title] = heading
                heading.setText(title)
                box.addWidget(heading)
            box.addWidget(widget)
        self.open_button = QPushButton("&Open customer", self)
        self.open_button.clicked.connect(self._on_open)
        self.open_button.setVisible(open_button)
        box.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignRight)
        box.addStretch(1)

    @property
    def card(self) -> CustomerCard | None:
        return self._card

    def show_card(self, card: CustomerCard) -> None:
        self._card = card
        s = card.summary
        self.name.setText(fmt.display_text(s.display_name))
        # facts is rich text (for the vulnerable-customer accent): every value is escaped.
        flags = [
            fmt.esc(fmt.words(s.segment)),
            fmt.esc(fmt.words(s.kind)),
            f"speaks {fmt.esc(s.preferred_language.upper())}",
        ]
        if s.birth_year:
            flags.append(f"born {s.birth_year}")
        if s.vulnerable:
            flags.append(f"<span style='color:{tone('bad')}'><b>Vulnerable customer</b></span>")
        self.facts.setText(" · ".join(flags))
        shown = fmt.display_text(
            ", ".join(p.masked or f"{fmt.words(p.kind)} ••••{p.last4}" for p in card.products)
        )
        hidden = card.product_count - len(card.products)
        more = f" and {hidden} more" if hidden > 0 else ""
        self.products.setText(
            f"Products ({card.product_count}): {shown}{more}"
            if card.product_count
            else "No products on file"
        )
        self.tickets.set_rows(card.open_tickets)
        self.recent.set_rows(card.recent)
        # An empty table says nothing; the heading says "none" and the table steps aside.
        for title, view, rows in (
            ("Open tickets", self.ticket_view, card.open_tickets),
            ("Last contacts", self.recent_view, card.recent),
        ):
            self.headings[title].setText(f"{title} ({len(rows)})" if rows else f"{title}: none")
            view.setVisible(bool(rows))

    def _on_open(self) -> None:
        if self._card is not None:
            self.open_requested.emit(self._card.summary.id)


CardLoader = Callable[[object], CustomerCard | None]
