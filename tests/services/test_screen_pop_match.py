"""CallerMatcher: none / single / multiple matches by E.164, and the pop card contents."""

from __future__ import annotations

from sqlalchemy import Engine

from agentdesk.services.crm.caller_match import CallerMatcher, MatchKind
from tests.ui.data import add_customer


def test_single_match_from_any_number_format(sqlite_central_engine: Engine) -> None:
    cid = add_customer(
        sqlite_central_engine,
        "Ada Lovelace",
        "+44 7700 900123",
        products=3,
        open_tickets=2,
        interactions=4,
    )
    matcher = CallerMatcher(sqlite_central_engine, source="local")
    for raw in ("+447700900123", "07700 900123", "0044 7700 900123", "sip:+447700900123@pbx"):
        match = matcher.match(raw)
        assert match.kind is MatchKind.SINGLE and match.customer_id == cid, raw
    card = match.card
    assert card is not None and card.summary.display_name == "Ada Lovelace"
    assert card.product_count == 3 and len(card.open_tickets) == 2 and len(card.recent) == 4
    assert card.recent[0].started_at > card.recent[-1].started_at


def test_shared_number_gives_a_chooser(sqlite_central_engine: Engine) -> None:
    add_customer(sqlite_central_engine, "Tom Shared", "+447700900555")
    add_customer(sqlite_central_engine, "Tina Shared", "07700 900555")
    match = CallerMatcher(sqlite_central_engine, source="central").match("+447700900555")
    assert match.kind is MatchKind.MULTIPLE and match.card is None and match.source == "central"
    assert [c.display_name for c in match.candidates] == ["Tina Shared", "Tom Shared"]
    card = CallerMatcher(sqlite_central_engine, source="central").card(match.candidates[1].id)
    assert card is not None and card.summary.display_name == "Tom Shared"


def test_withheld_unknown_and_garbage_are_no_match(sqlite_central_engine: Engine) -> None:
    matcher = CallerMatcher(sqlite_central_engine, source="local")
    for raw in ("", "anonymous", "<unknown>", "+447700900999", "\x00\x01 drop table", "9" * 500):
        match = matcher.match(raw)
        assert match.kind is MatchKind.NONE and match.card is None, raw
    assert matcher.match("anonymous").source == "none"
