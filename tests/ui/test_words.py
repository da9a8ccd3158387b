"""Words for agents: labels instead of codes, plural-correct counts, short checked ticket
numbers, set-up problems on one line, latency for support only."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from agentdesk.ids import uuid7
from agentdesk.services.crm.search_query import QueryKind, parse_query
from agentdesk.services.desk.pop_latency import PopLatencyRecorder
from agentdesk.store.mutators.tickets import ticket_number, ticket_number_valid
from agentdesk.ui import format as fmt
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.status_bar import DeskStatusBar, StoreStatus

pytestmark = pytest.mark.gui


@pytest.mark.parametrize(
    ("kind", "code", "shown"),
    [
        ("segment", "young_saver", "Young saver"),
        ("intent", "order_product", "Order a product"),
        ("channel", "sms", "SMS"),
        ("disposition", "ticket", "Ticket opened for follow-up"),
        ("reason", "card_replacement", "Replacement card"),
        ("reason", "card_lost", "Lost or stolen card"),
        ("not_ready", "Meeting", "Team meeting"),
        ("segment", "brand_new_code", "Brand new code"),  # no label yet: words, not a code
    ],
)
def test_codes_are_shown_as_the_label_files_say(kind: Any, code: str, shown: str) -> None:
    assert fmt.label(kind, code) == shown


def test_counts_are_plural_correct() -> None:
    assert fmt.count(1, "result") == "1 result" and fmt.count(2, "result") == "2 results"
    assert fmt.count(1, "ticket") == "1 ticket" and fmt.count(0, "ticket") == "0 tickets"
    assert fmt.count(1200, "entry", "entries") == "1,200 entries"
    assert "1 change waiting" in StoreStatus(True, 1).describe()
    assert "3 changes waiting" in StoreStatus(True, 3).describe()


def test_new_ticket_numbers_are_short_checked_and_searchable() -> None:
    number = ticket_number(uuid7())
    assert len(number) == 13 and number.count("-") == 3 and ticket_number_valid(number)
    assert not set(number[2:]) & set("ILOU")  # nothing read or heard twice
    # One wrong character is caught by the check character.
    data = number[2:6] + number[7:11]
    wrong = "0" if data[3] != "0" else "1"
    assert not ticket_number_valid(f"T-{data[:3]}{wrong}-{data[4:]}-{number[-1]}")
    # Typed in lower case, with O for 0 and spaces for dashes: found by the same prefix.
    typed = number.lower().replace("0", "o").replace("-", " ").replace(" ", "-", 1)
    parsed = parse_query(typed)
    assert parsed.kind is QueryKind.TICKET and parsed.terms == (number,)
    # Numbers issued in the old format stay valid for search.
    old = parse_query("T-06H3-NX2E-Z4JB-K5Z2")
    assert old.kind is QueryKind.TICKET and old.terms == ("T-06H3-NX2E-Z4JB-K5Z2",)


def test_set_up_problems_are_one_line_with_details_on_click_and_latency_is_for_support(
    qtbot: Any, caplog: Any
) -> None:
    bridge = Bridge()
    try:
        bar = DeskStatusBar(bridge, PopLatencyRecorder(), None)
        qtbot.addWidget(bar)
        bar.show()
        assert not bar.latency.isVisible()  # "Pop: 62 ms" is for support (--verbose)
        assert not bar.setup.isVisible()
        bar.add_setup_note(
            "No OS keyring backend is available on this computer, so secrets are kept in "
            "memory for this session only (never written to a file): 'Remember me' is off "
            "and the local cache is rebuilt at every start. Install one."
        )
        assert bar.setup.isVisible() and "\n" not in bar.setup.text()
        assert bar.setup.text().startswith("⚠ No OS keyring backend is available")
        assert "Remember me" in bar.setup.toolTip()
        with caplog.at_level(logging.DEBUG):
            verbose = DeskStatusBar(bridge, PopLatencyRecorder(), None)
            qtbot.addWidget(verbose)
            verbose.show()
            assert verbose.latency.isVisible()
    finally:
        bridge.shutdown()
