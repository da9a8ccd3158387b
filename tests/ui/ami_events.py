"""Asterisk 20 shaped AMI events for tests (header order as app_queue.c emits them)."""

from __future__ import annotations

from agentdesk.telephony.codec import AmiMessage
from agentdesk.telephony.events import AmiEvent, decode


def typed(message: AmiMessage) -> AmiEvent:
    """The message as the services receive it: decoded once, in telephony."""
    event = decode(message)
    assert event is not None
    return event


AGENT_IFACE = "PJSIP/1001"


def snapshot(
    prefix: str,
    channel: str,
    uniqueid: str,
    linkedid: str,
    *,
    number: str = "+447700900123",
    name: str = "<unknown>",
    state: int = 6,
    exten: str = "s",
    variables: dict[str, str] | None = None,
) -> list[tuple[str, str]]:
    desc = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}[state]
    pairs = [
        (f"{prefix}Channel", channel),
        (f"{prefix}ChannelState", str(state)),
        (f"{prefix}ChannelStateDesc", desc),
        (f"{prefix}CallerIDNum", number or "<unknown>"),
        (f"{prefix}CallerIDName", name),
        (f"{prefix}ConnectedLineNum", "<unknown>"),
        (f"{prefix}ConnectedLineName", "<unknown>"),
        (f"{prefix}Language", "en"),
        (f"{prefix}AccountCode", ""),
        (f"{prefix}Context", "from-carrier"),
        (f"{prefix}Exten", exten),
        (f"{prefix}Priority", "1"),
        (f"{prefix}Uniqueid", uniqueid),
        (f"{prefix}Linkedid", linkedid),
    ]
    for key, value in (variables or {}).items():
        pairs.append((f"{prefix}ChanVariable", f"{key}={value}"))
    return pairs


def agent_event(
    name: str,
    linkedid: str,
    *,
    interface: str = AGENT_IFACE,
    number: str = "+447700900123",
    queue: str = "general",
    extra: list[tuple[str, str]] | None = None,
    variables: dict[str, str] | None = None,
    agent_unique: str | None = None,
) -> AmiEvent:
    ext = interface.split("/", 1)[1]
    agent_chan = f"{interface}-0000000a"
    pairs = [("Event", name), ("Privilege", "agent,all")]
    pairs += snapshot(
        "", "PJSIP/carrier-00000001", linkedid, linkedid, number=number, variables=variables
    )
    pairs += snapshot(
        "Dest", agent_chan, agent_unique or f"{linkedid}1", linkedid, number=ext, state=5
    )
    pairs += [("Queue", queue), ("Interface", interface), ("MemberName", f"Agent {ext}")]
    pairs += extra or []
    return typed(AmiMessage(tuple(pairs)))


def called(linkedid: str, **kw: object) -> AmiEvent:
    return agent_event("AgentCalled", linkedid, **kw)  # type: ignore[arg-type]


def connect(linkedid: str, hold: int = 9, ring: int = 3, **kw: object) -> AmiEvent:
    return agent_event(
        "AgentConnect", linkedid, extra=[("HoldTime", str(hold)), ("RingTime", str(ring))], **kw
    )  # type: ignore[arg-type]


def complete(linkedid: str, talk: int = 42, reason: str = "caller", **kw: object) -> AmiEvent:
    return agent_event(
        "AgentComplete",
        linkedid,
        extra=[("HoldTime", "9"), ("TalkTime", str(talk)), ("Reason", reason)],
        **kw,
    )  # type: ignore[arg-type]


def ring_no_answer(linkedid: str, **kw: object) -> AmiEvent:
    return agent_event("AgentRingNoAnswer", linkedid, extra=[("RingTime", "15000")], **kw)  # type: ignore[arg-type]


def hold(linkedid: str, name: str = "Hold", interface: str = AGENT_IFACE) -> AmiEvent:
    pairs = [("Event", name), ("Privilege", "call,all")]
    pairs += snapshot("", f"{interface}-0000000a", f"{linkedid}1", linkedid)
    if name == "Hold":
        pairs.append(("MusicClass", "default"))
    return typed(AmiMessage(tuple(pairs)))


def member(
    name: str,
    *,
    queue: str = "general",
    paused: bool = False,
    reason: str = "",
    status: int = 1,
    interface: str = AGENT_IFACE,
) -> AmiEvent:
    key = "Location" if name == "QueueMember" else "Interface"
    who = "Name" if name == "QueueMember" else "MemberName"
    pairs = [("Event", name)]
    if name != "QueueMember":
        pairs.append(("Privilege", "agent,all"))
    pairs += [
        ("Queue", queue),
        (who, "Agent"),
        (key, interface),
        ("StateInterface", interface),
        ("Membership", "dynamic"),
        ("Penalty", "0"),
        ("CallsTaken", "0"),
        ("LastCall", "0"),
        ("LastPause", "0"),
        ("LoginTime", "0"),
        ("InCall", "0"),
        ("Status", str(status)),
        ("Paused", "1" if paused else "0"),
        ("PausedReason", reason),
        ("Ringinuse", "0"),
        ("Wrapuptime", "0"),
    ]
    return typed(AmiMessage(tuple(pairs)))


def user_event(linkedid: str, **fields: str) -> AmiEvent:
    pairs = [("Event", "UserEvent"), ("Privilege", "user,all")]
    pairs += snapshot("", "PJSIP/carrier-00000001", linkedid, linkedid)
    pairs.append(("UserEvent", "IVRResult"))
    pairs += list(fields.items())
    return typed(AmiMessage(tuple(pairs)))


def channel_row(
    channel: str,
    uniqueid: str,
    linkedid: str,
    *,
    state: int = 6,
    number: str = "+447700900123",
    application: str = "",
    data: str = "",
    duration: str = "00:01:05",
    variables: dict[str, str] | None = None,
) -> AmiEvent:
    """A ``CoreShowChannels`` row, as a resync lists a channel that is up (or ringing)."""
    pairs = [("Event", "CoreShowChannel")]
    pairs += snapshot(
        "", channel, uniqueid, linkedid, number=number, state=state, variables=variables
    )
    pairs += [
        ("BridgeId", ""),
        ("Application", application),
        ("ApplicationData", data),
        ("Duration", duration),
    ]
    return typed(AmiMessage(tuple(pairs)))
