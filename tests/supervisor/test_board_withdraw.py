"""A withdrawn caller (QueueWithdrawCaller) counts as withdrawn on the live board: not abandoned,
not waiting.

The event order is Asterisk 20's app_queue.c ``queue_exec`` after a withdraw
request: ``record_abandoned()`` (``VarSet ABANDONED=TRUE``,
``QueueCallerAbandon``), ``QUEUE_WITHDRAW_INFO`` when the request had info,
``leave_queue()`` (``QueueCallerLeave``), then ``set_queue_result()``
(``VarSet QUEUESTATUS=WITHDRAW``), all on the caller's channel. A caller
who hangs up gets the same first two events and no ``QUEUESTATUS``.
"""

from __future__ import annotations

from agentdesk.services.supervisor import LiveBoard
from agentdesk.services.supervisor.views import QueueRow
from agentdesk.telephony.codec import AmiMessage
from agentdesk.telephony.events import AmiEvent, QueueCallerWithdraw, decode
from tests.supervisor.simfloor import SimFloor, settings
from tests.ui.ami_events import snapshot

T0 = 1_700_000_000.0
CALLER = "PJSIP/carrier-00000001"


def caller_event(name: str, uid: str, *body: tuple[str, str]) -> AmiEvent:
    klass = "dialplan" if name == "VarSet" else "agent"
    pairs = [("Event", name), ("Privilege", f"{klass},all"), *snapshot("", CALLER, uid, uid)]
    event = decode(AmiMessage((*pairs, *body)))
    assert event is not None
    return event


def join(uid: str) -> AmiEvent:
    return caller_event(
        "QueueCallerJoin", uid, ("Queue", "general"), ("Position", "1"), ("Count", "1")
    )


def gone(uid: str, wait: int) -> list[AmiEvent]:
    """What every unanswered exit through record_abandoned() starts with."""
    return [
        caller_event("VarSet", uid, ("Variable", "ABANDONED"), ("Value", "TRUE")),
        caller_event(
            "QueueCallerAbandon", uid, ("Queue", "general"), ("Position", "1"),
            ("OriginalPosition", "1"), ("HoldTime", str(wait)),
        ),
    ]  # fmt: skip


def leave(uid: str) -> AmiEvent:
    return caller_event(
        "QueueCallerLeave", uid, ("Queue", "general"), ("Position", "1"), ("Count", "0")
    )


def withdrawn(uid: str, info: str = "") -> list[AmiEvent]:
    events = gone(uid, 40)
    if info:
        events.append(
            caller_event("VarSet", uid, ("Variable", "QUEUE_WITHDRAW_INFO"), ("Value", info))
        )
    events.append(leave(uid))
    events.append(caller_event("VarSet", uid, ("Variable", "QUEUESTATUS"), ("Value", "WITHDRAW")))
    return events


def row(board: LiveBoard, now: float) -> QueueRow:
    (queue,) = board.snapshot(now).queues
    return queue


def feed(board: LiveBoard, events: list[AmiEvent], at: float) -> None:
    for event in events:
        board.handle(event, at)


def test_the_asterisk_sequence_decodes_to_a_withdrawal_last() -> None:
    events = withdrawn("1.1", "callback")
    assert isinstance(events[-1], QueueCallerWithdraw)
    assert [e.name for e in events] == [
        "VarSet", "QueueCallerAbandon", "VarSet", "QueueCallerLeave", "VarSet",
    ]  # fmt: skip


def test_a_withdrawn_caller_is_withdrawn_not_abandoned_and_not_waiting() -> None:
    board = LiveBoard(settings())
    board.handle(join("1.1"), T0)
    assert row(board, T0 + 1).waiting == 1
    feed(board, withdrawn("1.1", "callback"), T0 + 40)
    for at in (T0 + 40, T0 + 100):  # and still after any grace has passed
        board.tick(at)
        queue = row(board, at)
        assert (queue.offered, queue.abandoned, queue.withdrawn, queue.waiting) == (1, 0, 1, 0)
        assert queue.abandon_rate == 0.0


def test_a_caller_who_hangs_up_is_still_an_abandon() -> None:
    board = LiveBoard(settings())
    board.handle(join("2.1"), T0)
    feed(board, [*gone("2.1", 30), leave("2.1")], T0 + 30)
    assert row(board, T0 + 30).waiting == 0
    board.handle(caller_event("Hangup", "2.1", ("Cause", "16"), ("Cause-txt", "x")), T0 + 30)
    queue = row(board, T0 + 30)
    assert (queue.abandoned, queue.withdrawn) == (1, 0)


def test_without_the_caller_channel_events_an_abandon_counts_after_the_grace() -> None:
    """A wallboard AMI user without the ``dialplan``/``call`` classes sees neither VarSet nor
    Hangup: every exit through record_abandoned() still counts, as an abandon, moments later."""
    board = LiveBoard(settings())
    board.handle(join("3.1"), T0)
    feed(board, [gone("3.1", 12)[1], leave("3.1")], T0 + 12)
    assert row(board, T0 + 12).abandoned == 0
    assert board.tick(T0 + 15)
    assert row(board, T0 + 15).abandoned == 1
    # a withdrawal arriving after the abandon has been counted changes nothing
    assert not board.handle(withdrawn("3.1")[-1], T0 + 16)
    assert (row(board, T0 + 16).abandoned, row(board, T0 + 16).withdrawn) == (1, 0)


def test_withdrawal_from_the_simulator_shows_on_the_board() -> None:
    floor = SimFloor(agents=0)
    placed = floor.sim.place_call("+447700900001", queue="general")
    floor.run(5)
    request = AmiMessage.build(
        ("Action", "QueueWithdrawCaller"), ("ActionID", "w1"), ("Queue", "general"),
        ("Caller", placed.channel), ("WithdrawInfo", "callback"),
    )  # fmt: skip
    (reply,) = floor.sim.actions.queue_withdraw_caller(None, request)  # type: ignore[arg-type]
    assert reply.response == "Success"
    floor.run(10)
    queue = row(floor.board, floor.now)
    assert (queue.offered, queue.abandoned, queue.withdrawn, queue.waiting) == (1, 0, 1, 0)


def test_the_queue_table_shows_withdrawn_beside_abandonment() -> None:
    from agentdesk.ui.supervisor.columns import QUEUE_COLUMNS

    titles = [c.title for c in QUEUE_COLUMNS]
    assert titles[titles.index("Aband.") + 1] == "Withdrawn"
    column = QUEUE_COLUMNS[titles.index("Withdrawn")]
    board = LiveBoard(settings())
    board.handle(join("4.1"), T0)
    feed(board, withdrawn("4.1"), T0 + 5)
    assert column.text(row(board, T0 + 5), T0 + 5) == "1"
