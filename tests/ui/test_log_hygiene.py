"""No caller number, customer name or note reaches a log record at INFO or above (item 8)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from PySide6.QtWidgets import QWidget

from agentdesk.logsafe import describe_error, mask_phone
from agentdesk.services.desk.agent_state import AgentState
from tests.ui.data import add_customer

NUMBER = "+447700900123"
NAME = "Ada Lovelace"
CALLER_NAME = "ADA L MOBILE"
NOTE = "Customer mentioned her sort code 40-03-12"


def test_mask_phone_keeps_only_the_last_four_digits() -> None:
    assert mask_phone("+44 7700 900123") == "…0123"
    assert mask_phone("07700900123") == "…0123"
    assert mask_phone("123") == "…***"
    assert mask_phone("anonymous") == mask_phone(None) == "-"


def test_describe_error_drops_quoted_values() -> None:
    class Driver(Exception):
        pass

    class Statement(Exception):
        def __init__(self) -> None:
            super().__init__("INSERT … [parameters: ('Ada Lovelace', '+447700900123')]")
            self.orig = Driver("duplicate key value\nDETAIL: Key (e164)=(+447700900123) exists")

    text = describe_error(Statement())
    assert text == "Statement (Driver: duplicate key value)"
    assert describe_error(ValueError("Ada Lovelace")) == "ValueError"
    assert "refused" in describe_error(ConnectionRefusedError(111, "refused"))


def test_a_call_from_ring_to_wrap_up_logs_no_number_name_or_note(
    desk_factory: Any, caplog: pytest.LogCaptureFixture, qtbot: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    desk = desk_factory(seed=lambda central: add_customer(central, NAME, NUMBER))
    other = QWidget()  # the window is not in front: the tray notification path runs too
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitUntil(lambda: not desk.window.isActiveWindow())
    placed = desk.call(NUMBER, name=CALLER_NAME, intent="balance")
    desk.wait_pop(placed)
    assert desk.window.tray.last_message is not None  # a notification went out
    desk.window.actions_by_id["answer"].trigger()
    desk.wait_state(AgentState.ON_CALL)
    desk.window.actions_by_id["hangup"].trigger()
    desk.wait_state(AgentState.WRAP_UP)
    form = desk.window.wrapup
    qtbot.waitUntil(lambda: form.context is not None and form.isEnabled())
    form.set_disposition("resolved")
    form.notes.setPlainText(NOTE)
    with qtbot.waitSignal(desk.controller.wrapups.saved, timeout=10_000):
        desk.window.actions_by_id["wrapup"].trigger()
    desk.wait_state(AgentState.AVAILABLE)

    loud = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert any("…0123" in r.getMessage() for r in loud)  # the call is still traceable
    for record in loud:
        text = record.getMessage() + (record.exc_text or "")
        for secret in ("7700900123", "7700 900123", NAME, "Lovelace", CALLER_NAME, NOTE):
            assert secret not in text, (record.name, text)
