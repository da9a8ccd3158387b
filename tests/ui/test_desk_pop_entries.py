"""Several calls on the screen pop: each its own entry; removing one never clears another."""

from __future__ import annotations

from typing import Any

import pytest

from agentdesk.services.crm.caller_match import CallerMatch, MatchKind
from agentdesk.services.crm.phone import normalise
from agentdesk.services.desk.call_data import IvrData
from agentdesk.services.desk.screen_pop import CallInfo, CallPhase
from agentdesk.services.desk.session import PopContent
from agentdesk.ui.screen_pop import ScreenPopView

pytestmark = pytest.mark.gui


def _pop(linkedid: str, number: str, phase: CallPhase) -> PopContent:
    call = CallInfo(
        linkedid,
        linkedid,
        "general",
        number,
        None,
        f"PJSIP/1001-{linkedid}",
        phase,
        0.0,
        IvrData(),
    )
    return PopContent(call, CallerMatch(normalise(number), MatchKind.NONE, "local"), False, 0.0)


def test_a_second_offer_waits_beside_the_live_call_and_its_removal_keeps_the_call(
    qtbot: Any,
) -> None:
    view = ScreenPopView()
    qtbot.addWidget(view)
    view.show()
    live = _pop("1.1", "+447700900101", CallPhase.CONNECTED)
    view.show_pop(live)
    offer = _pop("1.2", "+447700900102", CallPhase.RINGING)
    view.show_pop(offer)
    assert view.content is live  # the call on the line is not painted over
    assert set(view.entries) == {"1.1", "1.2"} and view.calls.count() == 2
    assert view.calls.isVisible()
    view.remove("1.2")  # the offer is withdrawn
    assert view.content is live and set(view.entries) == {"1.1"}
    assert view.banner.text().startswith("On call") and not view.calls.isVisible()


def test_the_agent_can_switch_between_calls_and_removing_the_shown_one_shows_the_other(
    qtbot: Any,
) -> None:
    view = ScreenPopView()
    qtbot.addWidget(view)
    view.show()
    first = _pop("2.1", "+447700900201", CallPhase.RINGING)
    second = _pop("2.2", "+447700900202", CallPhase.RINGING)
    view.show_pop(first)
    view.show_pop(second)
    assert view.content is second  # nothing live: the newest offer shows
    view.calls.setCurrentIndex(0)
    assert view.content is first
    view.remove("2.1")
    assert view.content is second and view.banner.text().startswith("Incoming call")
    view.remove("2.2")
    assert view.content is None and view.banner.text() == "No call"
