"""The desk session's pops: who is calling, one entry per call, no lookups the server did."""

from __future__ import annotations

import uuid

from agentdesk.services.crm.caller_match import (
    CallerMatch,
    CustomerCard,
    CustomerSummary,
    MatchKind,
)
from agentdesk.services.crm.phone import normalise
from agentdesk.services.desk.call_requests import Hold
from agentdesk.services.desk.screen_pop import CallPhase
from tests.services.desk.conftest import DeskMaker
from tests.ui.ami_events import called, connect, ring_no_answer
from tests.ui.data import add_customer

SHARED = "+447700900555"


def test_a_number_shared_with_a_customer_not_cached_brings_up_the_chooser(
    make_desk: DeskMaker,
) -> None:
    """Defect: the cached owner popped alone and the centre was never asked."""
    desk = make_desk()
    tom = add_customer([desk.local, desk.central], "Tom Shared", SHARED)
    tina = add_customer(desk.central, "Tina Shared", SHARED)  # not in this cache
    desk.online(("general", False, ""))
    desk.event(called("1.1", number=SHARED))
    first = desk.seen.pops[-1]
    assert first.match.kind is MatchKind.SINGLE and first.match.source == "local"
    assert first.looking_up  # the single local owner is being confirmed centrally
    assert desk.central_matcher is not None and desk.central_matcher.numbers == []
    desk.runner.drain("central")
    assert desk.central_matcher.numbers == [SHARED]
    pop = desk.session.pops["1.1"]
    assert pop.match.kind is MatchKind.MULTIPLE and not pop.looking_up
    assert {c.id for c in pop.match.candidates} == {tom, tina}
    assert pop.chosen is None  # the agent picks; nobody is filed under a guess


def test_a_single_local_owner_the_centre_confirms_stays_the_cached_card(
    make_desk: DeskMaker,
) -> None:
    desk = make_desk()
    ada = add_customer([desk.local, desk.central], "Ada Lovelace", "+447700900123")
    desk.online(("general", False, ""))
    desk.event(called("1.2", number="+447700900123"))
    desk.runner.drain("central")
    pop = desk.session.pops["1.2"]
    assert pop.match.source == "local" and pop.chosen == ada and not pop.looking_up


def _server_match(name: str, number: str) -> CallerMatch:
    who = CustomerSummary(uuid.uuid4(), name, "person", "retail", "en", False, "mobile")
    return CallerMatch(normalise(number), MatchKind.SINGLE, "central", (who,), CustomerCard(who))


def test_an_offer_the_server_matched_pops_that_match_with_no_lookup_of_our_own(
    make_desk: DeskMaker,
) -> None:
    desk = make_desk()
    desk.local_matcher.inner = None  # asking either matcher fails the test
    assert desk.central_matcher is not None
    desk.central_matcher.inner = None
    desk.online(("general", False, ""))
    match = _server_match("Grace Hopper", "+447700900321")
    desk.session.handle_match("2.1", match)
    desk.event(called("2.1", number="+447700900321"))
    pop = desk.seen.pops[-1]
    assert pop.match is match and pop.chosen == match.customer_id and not pop.looking_up
    assert desk.runner.jobs == [] and desk.local_matcher.numbers == []
    assert desk.cached == [match.customer_id]  # joins the working set, in the background


def test_a_second_offer_during_a_call_is_its_own_entry_and_its_dismissal_clears_only_it(
    make_desk: DeskMaker,
) -> None:
    """Defect: the second offer painted over the live call; its dismissal cleared it."""
    desk = make_desk(central=False)
    desk.online(("general", False, ""))
    desk.event(called("3.1", number="+447700900101"))
    desk.event(connect("3.1"))
    desk.event(called("3.2", number="+447700900102", agent_unique="3.2-b"))
    assert set(desk.session.pops) == {"3.1", "3.2"}
    assert desk.session.pops["3.1"].call.phase is CallPhase.CONNECTED
    assert desk.session.pops["3.2"].call.phase is CallPhase.RINGING
    desk.event(ring_no_answer("3.2"))
    assert desk.seen.dismissed == [("3.2", "not answered")]
    assert set(desk.session.pops) == {"3.1"}
    assert desk.session.current_call() is not None
    assert desk.session.current_call().linkedid == "3.1"  # type: ignore[union-attr]


def test_answer_reaches_a_call_ringing_while_another_is_connected(make_desk: DeskMaker) -> None:
    desk = make_desk(central=False)
    desk.online(("general", False, ""))
    desk.event(called("4.1"))
    desk.event(connect("4.1"))
    desk.event(called("4.2", agent_unique="4.2-b"))
    desk.session.answer()
    assert [r.kind for r in desk.sent.requests] == ["answer"]
    desk.session.toggle_hold()
    assert desk.sent.requests[-1] == Hold("4.1", on=True)
