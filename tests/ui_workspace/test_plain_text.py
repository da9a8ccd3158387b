"""Hostile data is shown as written, never interpreted (issue 10, item 7).

Names, notes and titles arrive from other desktops, imports and callers; a
name such as ``<b style=color:green>ID&V PASSED</b>`` must not paint a
green banner, an RTL override must not reorder what follows it, and a lone
surrogate must be refused before it is stored.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from agentdesk.services.crm.customers import CustomerValidationError
from agentdesk.services.tickets.views import TicketValidationError
from agentdesk.store.mutations import MutationRejected
from agentdesk.ui import format as fmt
from agentdesk.ui.tickets.pane import TicketPane
from agentdesk.ui.workspace.context import WorkspaceContext
from agentdesk.ui.workspace.view import CustomerWorkspace
from tests.ui_workspace.builders import Org, add_customer

WAIT_MS = 10_000
MARKUP = "<b style=color:green>ID&V PASSED</b>"
RLO = "\u202e"


def _greenish_pixels(widget: QWidget) -> int:
    """How many pixels of ``widget`` as painted are clearly green (the fake banner)."""
    image = widget.grab().toImage()
    count = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            c = QColor(image.pixel(x, y))
            count += c.green() > 100 and c.green() > c.red() + 60 and c.green() > c.blue() + 60
    return count


def _open(qtbot: QtBot, context: WorkspaceContext, cid: object) -> CustomerWorkspace:
    ws = CustomerWorkspace(context, cid)  # type: ignore[arg-type]
    qtbot.addWidget(ws)
    ws.resize(1366, 700)
    ws.show()
    qtbot.wait_until(lambda: ws.card is not None, timeout=WAIT_MS)
    return ws


def test_display_text_neutralises_bidi_and_controls() -> None:
    assert fmt.display_text(f"Amelia {RLO}DESSAP") == "Amelia \ufffdDESSAP"
    assert fmt.display_text("a\u2066b\u2069c\u200fd") == "a\ufffdb\ufffdc\ufffdd"
    assert fmt.display_text("bell\x07 and \ud800") == "bell\ufffd and \ufffd"
    assert fmt.display_text("two\nlines\tand tab") == "two lines and tab"
    assert fmt.display_text("two\r\nlines", multiline=True) == "two\nlines"
    assert fmt.display_text("مريم أحمد") == "مريم أحمد"  # real right-to-left names untouched
    assert fmt.esc(MARKUP) == "&lt;b style=color:green&gt;ID&amp;V PASSED&lt;/b&gt;"
    assert fmt.tab_text("ID&V") == "ID&&V"  # a literal "&", not an Alt+V mnemonic


def test_markup_in_a_customer_name_is_painted_as_written(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext
) -> None:
    cid = add_customer(engine, given="<b style=color:green>ID&V", family="PASSED</b>")
    ws = _open(qtbot, context, cid)
    assert ws.name.textFormat() is Qt.TextFormat.PlainText
    assert ws.name.text() == MARKUP
    assert _greenish_pixels(ws.name) == 0
    # Every label in the workspace is plain text, or rich text built from escaped values;
    # form-row captions (labels with a buddy) are fixed strings of ours.
    auto = [
        label.accessibleName() or label.text()
        for label in ws.findChildren(QLabel)
        if label.textFormat() is Qt.TextFormat.AutoText and label.buddy() is None
    ]
    assert auto == []


def test_rtl_override_in_a_name_is_shown_as_a_visible_mark(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext
) -> None:
    cid = add_customer(engine, given="Amelia", family=f"{RLO}DESSAP")
    ws = _open(qtbot, context, cid)
    assert RLO not in ws.name.text() and ws.name.text() == "Amelia \ufffdDESSAP"


def test_ticket_heading_escapes_the_customer_name(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext, org: Org
) -> None:
    cid = add_customer(engine, given="<b style=color:green>ID&V", family="PASSED</b>")
    created = context.tickets.create(reason="payment_failed", title=MARKUP, customer_id=cid)
    pane = TicketPane(context.bridge, context.tickets, "customer")
    qtbot.addWidget(pane)
    pane.resize(1000, 600)
    pane.show()
    with qtbot.wait_signal(pane.status_changed, timeout=WAIT_MS):
        pane.show_customer(cid)
    pane.select_ticket(created.id)
    qtbot.wait_until(lambda: pane.detail.loaded is not None, timeout=WAIT_MS)
    heading = pane.detail.heading
    assert heading.textFormat() is Qt.TextFormat.RichText  # for the bold number only
    assert "&lt;b style=color:green&gt;ID&amp;V PASSED&lt;/b&gt;" in heading.text()
    assert "<b style" not in heading.text()
    assert _greenish_pixels(heading) == 0
    tip = pane.model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b style" in tip and "<b style" not in tip
    assert context.tickets.get(created.id).title == MARKUP  # stored exactly as typed


def test_notes_store_markup_and_bidi_as_typed_but_refuse_lone_surrogates(
    engine: Engine, context: WorkspaceContext, org: Org
) -> None:
    cid = add_customer(engine)
    context.timeline.add_note(cid, f"{MARKUP}\nline two\t{RLO}x", org.agent_id)
    with pytest.raises(MutationRejected, match=r"lone UTF-16 surrogate.*U\+D83D"):
        context.timeline.add_note(cid, "broken paste \ud83d here", org.agent_id)
    with pytest.raises(MutationRejected, match="control character \\(U\\+0007\\)"):
        context.timeline.add_note(cid, "bell \x07", org.agent_id)


def test_single_line_fields_refuse_line_breaks_and_controls(
    engine: Engine, context: WorkspaceContext
) -> None:
    cid = add_customer(engine)
    card = context.customers.load(cid)
    with pytest.raises(CustomerValidationError, match=r"line break.*single line"):
        context.customers.update(card, {"family_name": "Okafor\nID&V PASSED"})
    with pytest.raises(CustomerValidationError, match="surrogate"):
        context.customers.update(card, {"family_name": "Oka\udc00for"})
    with pytest.raises(TicketValidationError, match="surrogate"):
        context.tickets.create(reason="payment_failed", title="bad \ud800", customer_id=cid)
    outcome = context.customers.update(card, {"family_name": f"{RLO}rofakO"})
    assert "family_name" in outcome.applied  # bidi controls are stored; shown neutralised


def test_timeline_shows_notes_neutralised_and_tooltips_escaped(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext, org: Org
) -> None:
    cid = add_customer(engine)
    context.timeline.add_note(cid, f"{RLO}{MARKUP}", org.agent_id)
    ws = _open(qtbot, context, cid)
    model = ws.timeline.model
    qtbot.wait_until(lambda: model.entry_count() == 1, timeout=WAIT_MS)
    tip = model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b style=color:green&gt;" in tip and RLO not in tip
    shown = model.index(0, 0).data(Qt.ItemDataRole.DisplayRole)
    assert RLO not in shown
