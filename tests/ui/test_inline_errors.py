"""Errors beside their field (issue 14: "Pick a disposition." showed 500 px below the
disposition box; a new ticket's missing title was reported under the Team box)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from agentdesk.services.tickets.sla import load_policy
from agentdesk.ui.tickets.dialogs import TicketCreateDialog

pytestmark = pytest.mark.gui
NEAR_PX = 12  # the message starts at most this far under its field's bottom edge


def _gap_under(field: QWidget, text: str) -> int:
    """Pixels between ``field``'s bottom and the visible label showing ``text`` below it."""
    root = field.window()
    labels = [
        w for w in root.findChildren(QLabel) if w.isVisible() and text.lower() in w.text().lower()
    ]
    assert labels, f"no visible message with {text!r}"
    bottom = field.mapTo(root, QPoint(0, field.height())).y()
    return min(abs(label.mapTo(root, QPoint(0, 0)).y() - bottom) for label in labels)


def test_pick_a_disposition_shows_under_the_disposition(desk: Any) -> None:
    placed = desk.call("+447700900140")
    desk.wait_pop(placed)
    desk.window.actions_by_id["answer"].trigger()
    desk.qtbot.waitUntil(lambda: desk.controller.current_call() is not None, timeout=10_000)
    desk.qtbot.waitUntil(lambda: desk.window.actions_by_id["hangup"].isEnabled(), timeout=10_000)
    desk.window.actions_by_id["hangup"].trigger()
    form = desk.window.wrapup
    desk.qtbot.waitUntil(lambda: form.context is not None and form.isEnabled(), timeout=10_000)
    desk.window.call_tabs.setCurrentIndex(1)
    form.save()  # no disposition picked
    desk.qtbot.waitUntil(lambda: "disposition" in form.errors.text().lower(), timeout=10_000)
    assert _gap_under(form.disposition, "Pick a disposition") <= NEAR_PX
    assert form.disposition.hasFocus()
    form.set_disposition("info")
    assert form.errors.text() == ""  # answered: the message goes with it


def test_a_new_customers_missing_name_shows_under_the_name(desk: Any) -> None:
    placed = desk.call("+447700900141")
    desk.wait_pop(placed)
    desk.window.pop.new_button.click()
    dialog = desk.window.quick_customer
    desk.qtbot.waitExposed(dialog)
    dialog.submit()
    desk.qtbot.waitUntil(lambda: "name" in dialog.errors.text(), timeout=10_000)
    assert _gap_under(dialog.family, "name") <= NEAR_PX
    dialog.family.setText("Mensah")
    dialog.number.setText("not a number")
    dialog.submit()
    desk.qtbot.waitUntil(lambda: "not a phone number" in dialog.errors.text(), timeout=10_000)
    assert _gap_under(dialog.number, "not a phone number") <= NEAR_PX
    assert dialog.errors.label_for("family_name") is not None
    assert not dialog.errors.label_for("family_name").isVisible()  # one message at a time
    dialog.reject()


def test_a_ticket_without_a_title_says_so_under_the_title(qtbot: QtBot) -> None:
    dialog = TicketCreateDialog(load_policy(), [])
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog._on_accept()  # OK with no title
    assert dialog.isVisible() and "title" in dialog.errors.text()
    assert _gap_under(dialog.title, "needs a title") <= NEAR_PX
