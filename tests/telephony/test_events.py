"""Typed events: decoded once in telephony, tolerant of odd PBX input, the only AMI view."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from agentdesk.telephony.codec import AmiMessage
from agentdesk.telephony.events import (
    AgentRingNoAnswer,
    Decoder,
    DeviceState,
    QueueCallerWithdraw,
    QueueMember,
    UnknownEvent,
    VarSet,
    decode,
    known_events,
)

ROOT = Path(__file__).resolve().parents[2] / "agentdesk"


def test_bad_numbers_become_none_and_are_counted() -> None:
    decoder = Decoder()
    event = decoder.decode(
        AmiMessage.build(
            ("Event", "QueueMember"),
            ("Location", "PJSIP/1"),
            ("Penalty", "٣"),
            ("Status", "42"),
            ("CallsTaken", "7"),
            ("Paused", "1"),
        )
    )
    assert isinstance(event, QueueMember)
    assert (event.penalty, event.status, event.calls_taken, event.paused) == (None, None, 7, True)
    assert decoder.bad_values == 2
    row = decode(AmiMessage.build(("Event", "QueueMember"), ("Status", "6")))
    assert isinstance(row, QueueMember) and row.status is DeviceState.RINGING


def test_units_unknown_events_and_non_events() -> None:
    rna = decode(AmiMessage.build(("Event", "AgentRingNoAnswer"), ("RingTime", "15000")))
    assert isinstance(rna, AgentRingNoAnswer) and rna.ring_time_ms == 15000
    unknown = decode(AmiMessage.build(("Event", "RTCPSent")))
    assert isinstance(unknown, UnknownEvent) and unknown.name == "RTCPSent"
    assert decode(AmiMessage.build(("Response", "Success"))) is None
    status = decode(AmiMessage.build(("Event", "VarSet"), ("Variable", "QUEUESTATUS"),
                                     ("Value", "WITHDRAW"), ("Uniqueid", "1.1")))  # fmt: skip
    assert isinstance(status, QueueCallerWithdraw) and status.uniqueid == "1.1"
    other = decode(AmiMessage.build(("Event", "VarSet"), ("Variable", "__IDV_RESULT")))
    assert isinstance(other, VarSet) and other.bare_variable == "IDV_RESULT"


names = st.sampled_from([*sorted(known_events()), "Bogus", ""])
text = st.text(max_size=20)


@settings(max_examples=300, deadline=None)
@given(names, st.lists(st.tuples(st.sampled_from(
    ["Linkedid", "Status", "Paused", "HoldTime", "Duration", "Timestamp", "ChanVariable",
     "Reason", "UserEvent", "Queue", "ChannelState"]), text), max_size=10))  # fmt: skip
def test_decode_never_raises(name: str, headers: list[tuple[str, str]]) -> None:
    decode(AmiMessage((("Event", name), *headers)))


_HEADER_READ = re.compile(r"""\.get\(\s*["'][A-Z][A-Za-z-]*["']|\[\s*["']Event["']\s*\]""")
_CODEC_IMPORT = re.compile(r"agentdesk\.telephony\.codec|AmiMessage")


def test_nothing_above_telephony_reads_ami_headers() -> None:
    """Header names live in telephony/events.py; services and ui use typed fields."""
    offenders = []
    for package in ("services", "ui"):
        for path in (ROOT / package).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            reads_headers = _CODEC_IMPORT.search(source) and _HEADER_READ.search(source)
            if reads_headers or "agentdesk.telephony.codec" in source:
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
