"""One ID&V banner per call (issue 14 item 3): the pop says what this call's verification is,
in words, distinct from the document check on file; an IVR language unlike the customer's
is flagged."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from agentdesk.services.crm.caller_match import (
    CallerMatch,
    CustomerCard,
    CustomerSummary,
    MatchKind,
)
from agentdesk.services.crm.phone import normalise
from agentdesk.services.desk.call_data import IvrData
from agentdesk.services.desk.screen_pop import CallInfo, CallPhase
from agentdesk.services.desk.session import PopContent
from agentdesk.ui.screen_pop import NOT_VERIFIED, ScreenPopView, idv_banner
from agentdesk.ui.workspace.view import CustomerWorkspace
from tests.ui.data import add_customer

pytestmark = pytest.mark.gui


def test_a_call_without_ivr_verification_says_so_once_and_the_document_chip_says_what_it_is(
    desk_factory: Any,
) -> None:
    def seed(central: Any) -> None:
        add_customer(central, "Ada Lovelace", "+447700900123")  # document check on file

    desk = desk_factory(seed=seed)
    window = desk.window
    placed = desk.call("+447700900123")  # straight to the queue: no ID&V in the IVR
    desk.wait_pop(placed)
    pop = window.pop
    assert pop.idv.isVisible() and pop.idv.text() == NOT_VERIFIED
    assert pop.idv.property("verdict") == "not_verified"
    assert "ID&V" not in pop.ivr.text()  # one banner, not a second red line beside it
    window.actions_by_id["answer"].trigger()
    desk.qtbot.waitUntil(lambda: window.workspace_tabs.count() == 1, timeout=10_000)
    workspace = window.workspace_tabs.widget(0)
    assert isinstance(workspace, CustomerWorkspace)
    desk.qtbot.waitUntil(lambda: workspace.card is not None, timeout=10_000)
    chips = [workspace.chips.itemAt(i).widget().text() for i in range(workspace.chips.count())]
    assert not any(text.startswith("ID ") and "verified" in text for text in chips), chips
    assert any("ID document" in text for text in chips), chips  # the document, named as such


def _pop(ivr: IvrData, language: str = "en") -> PopContent:
    who = CustomerSummary(uuid.uuid4(), "Jonas Weber", "person", "retail", language, False)
    card = CustomerCard(who, (), 0, (), ())
    call = CallInfo(
        "9.1", "9.1", "general", "+447700900555", None, "PJSIP/1001-9", CallPhase.RINGING, 0.0, ivr
    )
    match = CallerMatch(normalise("+447700900555"), MatchKind.SINGLE, "local", card=card)
    return PopContent(call, match, False, 0.0, who.id)


def test_verified_by_pin_in_words_and_a_language_mismatch_flagged(qtbot: Any) -> None:
    view = ScreenPopView()
    qtbot.addWidget(view)
    view.show()
    view.show_pop(
        _pop(IvrData(language="de", idv_result="passed", idv_method="pin", idv_attempts=1))
    )
    qtbot.waitUntil(lambda: view.idv.isVisible())
    assert view.idv.text() == "Verified by PIN, 1 attempt"
    assert view.idv.property("verdict") == "verified"
    assert "IVR DE" in view.ivr.text() and "customer's EN" in view.ivr.text()
    view.show_pop(_pop(IvrData(language="en", idv_result="failed", idv_attempts=0)))
    assert view.idv.text() == NOT_VERIFIED  # "Failed (0 attempts)" was no verdict at all
    assert "≠" not in view.ivr.text()
    view.clear()
    assert not view.idv.isVisible()


def test_banner_wording() -> None:
    assert idv_banner(IvrData())[0] == NOT_VERIFIED
    assert idv_banner(IvrData(idv_result="failed", idv_method="dob", idv_attempts=3)) == (
        "Caller not verified (date of birth failed, 3 attempts) — complete ID&V",
        "not_verified",
    )
    assert idv_banner(IvrData(idv_result="passed", idv_method="otp", idv_attempts=2))[0] == (
        "Verified by one-time code, 2 attempts"
    )
    assert idv_banner(IvrData(idv_result="partial"))[1] == "partial"
