"""AMI queue events become the queue_log lines Asterisk writes for the same moments."""

from __future__ import annotations

from agentdesk.services.supervisor.queue_log import QueueLogRecord
from agentdesk.services.supervisor.records import LeaveResolver, to_record
from agentdesk.telephony.codec import AmiMessage
from agentdesk.telephony.events import AmiEvent, decode

T = 1_700_000_000.0


def event(name: str, **headers: str) -> AmiEvent:
    decoded = decode(AmiMessage.build(("Event", name), *headers.items()))
    assert decoded is not None
    return decoded


def test_each_queue_event_maps_to_its_queue_log_line() -> None:
    cases = [
        (event("QueueCallerJoin", Uniqueid="1.1", Queue="q", CallerIDNum="+44", Position="2"),
         ("ENTERQUEUE", "NONE", ("", "+44", "2"))),
        (event("AgentConnect", Uniqueid="1.1", Queue="q", MemberName="Ann", HoldTime="9",
               DestUniqueid="1.2", RingTime="3"), ("CONNECT", "Ann", ("9", "1.2", "3"))),
        (event("AgentComplete", Uniqueid="1.1", Queue="q", MemberName="Ann", HoldTime="9",
               TalkTime="42", Reason="agent"), ("COMPLETEAGENT", "Ann", ("9", "42", ""))),
        (event("AgentComplete", Uniqueid="1.1", Queue="q", MemberName="Ann", HoldTime="9",
               TalkTime="42", Reason="transfer"),
         ("TRANSFER", "Ann", ("", "", "9", "42", ""))),
        (event("QueueCallerAbandon", Uniqueid="1.1", Queue="q", Position="1",
               OriginalPosition="3", HoldTime="47"), ("ABANDON", "NONE", ("1", "3", "47"))),
        (event("AgentRingNoAnswer", Uniqueid="1.1", Queue="q", MemberName="Ann",
               RingTime="15000"), ("RINGNOANSWER", "Ann", ("15000",))),
        (event("QueueMemberPause", Queue="q", MemberName="Ann", Paused="1",
               PausedReason="Lunch"), ("PAUSE", "Ann", ("Lunch",))),
        (event("QueueMemberPause", Queue="q", MemberName="Ann", Paused="0", PausedReason=""),
         ("UNPAUSE", "Ann", ("",))),
        (event("QueueMemberAdded", Queue="q", MemberName="Ann"), ("ADDMEMBER", "Ann", ("",))),
        (event("QueueMemberRemoved", Queue="q", MemberName="Ann"),
         ("REMOVEMEMBER", "Ann", ("",))),
    ]  # fmt: skip
    for message, (name, agent, data) in cases:
        record = to_record(message, T)
        assert record is not None, message
        assert (record.event, record.agent, record.data, record.queue) == (name, agent, data, "q")
        assert record.timestamp == T


def test_events_without_a_queue_log_twin_and_garbage_numbers() -> None:
    assert to_record(event("Newchannel", Uniqueid="1.1"), T) is None
    assert to_record(event("QueueCallerLeave", Uniqueid="1.1", Queue="q"), T) is None
    assert to_record(event("AgentConnect", Uniqueid="1.1"), T) is None  # no queue
    odd = to_record(event("AgentComplete", Uniqueid="1.1", Queue="q", MemberName="Ann",
                          HoldTime="٣", TalkTime="9" * 40), T)  # fmt: skip
    assert odd is not None and odd.data == ("", "", "")


def test_leave_at_answer_or_after_abandon_is_not_a_flow_out() -> None:
    out: list[QueueLogRecord] = []
    resolver = LeaveResolver(out.append, grace_s=2)
    resolver.leave("1.1", "q", T, 9)  # Asterisk: Leave just before AgentConnect
    resolver.settle("1.1", "q")
    resolver.settle("1.2", "q")  # abandon first, then its Leave
    resolver.leave("1.2", "q", T, 30)
    resolver.leave("1.3", "q", T, 300)  # nobody answered: timed out of the queue
    resolver.flush(T + 1)
    assert out == []
    resolver.flush(T + 2)
    assert [(r.call_id, r.event, r.field("waittime")) for r in out] == [
        ("1.3", "EXITWITHTIMEOUT", "300")
    ]


def test_caller_names_lose_asterisks_c_escaping() -> None:
    from agentdesk.services.supervisor.floor import caller_label
    from agentdesk.telephony.events import ChannelInfo

    def label(num: str, name: str) -> str:
        return caller_label(ChannelInfo(caller_num=num, caller_name=name))

    assert label("+44", "Gareth O\\'Brien") == "Gareth O'Brien <+44>"
    assert label("<unknown>", "<unknown>") == "withheld"
    odd = label("1", "a\\nb \\\\ c \\q")
    assert odd == "a b \\ c q <1>"
