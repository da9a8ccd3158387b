"""After-call work: pause what was free, unpause only what ACW paused; missed calls stay paused."""

from __future__ import annotations

from agentdesk.services.desk.agent_state import AgentState
from agentdesk.services.desk.call_requests import Pause
from agentdesk.services.desk.wrapup import WrapUpDraft
from tests.services.desk.conftest import Desk, DeskMaker
from tests.ui.ami_events import called, complete, connect, member, ring_no_answer


def _talk_and_end(desk: Desk, linkedid: str) -> None:
    desk.event(called(linkedid))
    desk.event(connect(linkedid))
    desk.event(complete(linkedid))


def _pbx_applies(desk: Desk) -> None:
    """What the PBX reports back after each QueuePause the desk sent."""
    for request in desk.pauses():
        assert isinstance(request, Pause) and request.queue is not None
        desk.event(
            member(
                "QueueMemberPause",
                queue=request.queue,
                paused=request.paused,
                reason=request.reason,
            )
        )
    desk.sent.requests.clear()


def test_acw_leaves_the_pbx_auto_pause_alone_and_unpauses_only_what_it_paused(
    make_desk: DeskMaker,
) -> None:
    """Defect: ACW's unpause (Paused=false, every queue) cleared the PBX's Auto-Pause."""
    desk = make_desk()
    desk.online(("general", False, ""), ("sales", True, "Auto-Pause"))
    _talk_and_end(desk, "5.1")
    assert desk.pauses() == [Pause(True, "ACW", queue="general")]
    _pbx_applies(desk)
    assert desk.session.state.state is AgentState.WRAP_UP
    desk.session.save_wrap_up("5.1", WrapUpDraft("info"))
    desk.runner.drain()
    assert len(desk.seen.saved) == 1
    assert desk.pauses() == [Pause(False, queue="general")]
    _pbx_applies(desk)
    rows = {m.queue: (m.paused, m.reason) for m in desk.session.state.queues}
    assert rows == {"general": (False, ""), "sales": (True, "Auto-Pause")}


def test_a_missed_call_shows_as_missed_and_keeps_the_pbx_pause_until_the_agent_chooses(
    make_desk: DeskMaker,
) -> None:
    desk = make_desk(central=False)
    desk.online(("general", False, ""))
    desk.event(called("6.1"))
    desk.event(ring_no_answer("6.1"))
    desk.event(member("QueueMemberPause", paused=True, reason="Auto-Pause"))
    assert desk.seen.dismissed == [("6.1", "not answered")]
    assert ("warning", "Missed call (not answered).") in desk.seen.notices
    assert desk.sent.requests == []  # nothing unpauses behind the agent's back
    assert desk.session.state.state is AgentState.MISSED  # not "Available", not a break
    assert desk.session.state.label == "Missed call: not answered"
    assert [m.linkedid for m in desk.session.missed_calls] == ["6.1"]
    desk.session.go_available()  # the agent's own choice clears it
    assert desk.pauses() == [Pause(False)]


def test_a_second_wrap_up_keeps_acw_until_both_are_saved(make_desk: DeskMaker) -> None:
    desk = make_desk(central=False)
    desk.online(("general", False, ""))
    _talk_and_end(desk, "7.1")
    _pbx_applies(desk)
    desk.event(called("7.2", agent_unique="7.2-b"))
    desk.event(connect("7.2", agent_unique="7.2-b"))
    desk.event(complete("7.2", agent_unique="7.2-b"))
    assert desk.pauses() == []  # already paused for ACW: nothing to pause again
    desk.session.save_wrap_up("7.1", WrapUpDraft("info"))
    desk.runner.drain()
    assert desk.pauses() == []  # one wrap-up still open
    desk.session.save_wrap_up("7.2", WrapUpDraft("resolved"))
    desk.runner.drain()
    assert desk.pauses() == [Pause(False, queue="general")]


def test_the_acw_limit_saves_the_wrap_up_as_it_stands_without_sleeping(
    make_desk: DeskMaker,
) -> None:
    desk = make_desk(acw_limit=30, central=False)
    desk.online(("general", False, ""))
    _talk_and_end(desk, "8.1")
    desk.session.update_draft("8.1", WrapUpDraft("", "half-typed notes"))
    desk.clock.advance(29)
    desk.runner.drain()
    assert desk.seen.saved == []
    assert desk.session.wrapups.seconds_left("8.1") == 1
    desk.clock.advance(1)
    desk.runner.drain()
    assert len(desk.seen.saved) == 1 and desk.seen.finished == [("8.1", None)]
    assert desk.session.wrapups.pending() == []


def test_a_next_state_after_wrap_up_pauses_with_that_reason(make_desk: DeskMaker) -> None:
    desk = make_desk(central=False)
    desk.online(("general", False, ""))
    _talk_and_end(desk, "9.1")
    _pbx_applies(desk)
    desk.session.save_wrap_up("9.1", WrapUpDraft("info", next_state="Break"))
    desk.runner.drain()
    assert desk.pauses() == [Pause(True, "Break")]


def test_an_acw_unpause_lost_in_a_server_failover_is_sent_again_after_the_resync(
    make_desk: DeskMaker,
) -> None:
    """Defect (cluster e2e): the instance holding the PBX link died just as ACW ended; the
    unpause was refused (link moving) and the agent stayed paused with the ACW reason, so
    no call was offered again. The resync from the new link holder shows the stale pause."""
    desk = make_desk()
    desk.online(("general", False, ""))
    _talk_and_end(desk, "7.1")
    _pbx_applies(desk)
    desk.session.save_wrap_up("7.1", WrapUpDraft("info"))
    desk.runner.drain()
    assert desk.pauses() == [Pause(False, queue="general")]
    desk.sent.requests.clear()  # lost: the PBX never applied it
    desk.session.link_changed("reconnecting", "moving")
    desk.online(("general", True, "ACW"))
    assert desk.pauses() == [Pause(False, queue="general")]
    # A pause the agent chose, or ACW still running, is left alone.
    desk.sent.requests.clear()
    desk.online(("general", True, "Lunch"))
    assert desk.pauses() == []
