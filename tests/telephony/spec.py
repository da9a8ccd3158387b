"""Asterisk 20 AMI event shapes, transcribed from the research notes (telephony.md §1.4-1.7).

Kept independent of the simulator's own tables: tests compare what the simulator
emits against this transcription, header by header.
"""

from __future__ import annotations

from collections import defaultdict

from agentdesk.telephony.codec import AmiMessage

SNAPSHOT = [
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
]
BRIDGE = [
    "BridgeUniqueid",
    "BridgeType",
    "BridgeTechnology",
    "BridgeCreator",
    "BridgeName",
    "BridgeNumChannels",
    "BridgeVideoSourceMode",
]
MEMBER = [
    "Queue",
    "MemberName",
    "Interface",
    "StateInterface",
    "Membership",
    "Penalty",
    "CallsTaken",
    "LastCall",
    "LastPause",
    "LoginTime",
    "InCall",
    "Status",
    "Paused",
    "PausedReason",
    "Ringinuse",
    "Wrapuptime",
]
AGENT = ["S", "S:Dest", "Queue", "Interface", "MemberName"]

# Event -> (class, body). "S" = snapshot, "S:<prefix>" = prefixed snapshot, "B" = bridge block.
EVENTS: dict[str, tuple[str, list[str]]] = {
    "Newchannel": ("call", ["S"]),
    "Newstate": ("call", ["S"]),
    "Hangup": ("call", ["S", "Cause", "Cause-txt"]),
    "HangupRequest": ("call", ["S"]),
    "SoftHangupRequest": ("call", ["S", "Cause"]),
    "Newexten": ("dialplan", ["S", "Extension", "Application", "AppData"]),
    "VarSet": ("dialplan", ["S", "Variable", "Value"]),
    "DTMFBegin": ("dtmf", ["S", "Digit", "Direction"]),
    "DTMFEnd": ("dtmf", ["S", "Digit", "DurationMs", "Direction"]),
    "DialBegin": ("call", ["S", "S:Dest", "DialString"]),
    "DialEnd": ("call", ["S", "S:Dest", "DialStatus"]),
    "Hold": ("call", ["S", "MusicClass"]),
    "Unhold": ("call", ["S"]),
    "MusicOnHoldStart": ("call", ["S", "Class"]),
    "MusicOnHoldStop": ("call", ["S"]),
    "BridgeCreate": ("call", ["B"]),
    "BridgeDestroy": ("call", ["B"]),
    "BridgeEnter": ("call", ["B", "S"]),
    "BridgeLeave": ("call", ["B", "S"]),
    "BlindTransfer": (
        "call",
        ["Result", "S:Transferer", "S:Transferee", "B", "IsExternal", "Context", "Extension"],
    ),
    "AttendedTransfer": (
        "call",
        [
            "Result",
            "S:OrigTransferer",
            "B:OrigBridge",
            "S:SecondTransferer",
            "B:SecondBridge",
            "S:Transferee",
            "S:TransferTarget",
            "IsExternal",
            "DestType",
            "DestBridgeUniqueid",
        ],
    ),
    "QueueCallerJoin": ("agent", ["S", "Queue", "Position", "Count"]),
    "QueueCallerLeave": ("agent", ["S", "Queue", "Position", "Count"]),
    "QueueCallerAbandon": ("agent", ["S", "Queue", "Position", "OriginalPosition", "HoldTime"]),
    "AgentCalled": ("agent", AGENT),
    "AgentRingNoAnswer": ("agent", [*AGENT, "RingTime"]),
    "AgentConnect": ("agent", [*AGENT, "HoldTime", "RingTime"]),
    "AgentComplete": ("agent", [*AGENT, "HoldTime", "TalkTime", "Reason"]),
    "QueueMemberStatus": ("agent", MEMBER),
    "QueueMemberPause": ("agent", MEMBER),
    "QueueMemberAdded": ("agent", MEMBER),
    "QueueMemberRemoved": ("agent", MEMBER),
}


def expected_keys(event: str, chanvars: int) -> list[str]:
    body = EVENTS[event][1]
    keys = ["Event", "Privilege"]
    for part in body:
        if part == "S" or part.startswith("S:"):
            prefix = part[2:]
            keys += [prefix + k for k in SNAPSHOT] + [prefix + "ChanVariable"] * chanvars
        elif part == "B" or part.startswith("B:"):
            keys += [part[2:] + k for k in BRIDGE]
        else:
            keys.append(part)
    return keys


def check_shape(message: AmiMessage, chanvars: int) -> None:
    """Header names, order and Privilege of one event against the transcription."""
    name = message.event or ""
    if name == "UserEvent":
        assert message.keys()[: 2 + len(SNAPSHOT)] == ["Event", "Privilege", *SNAPSHOT]
        assert message["Privilege"] == "user,all"
        return
    assert name in EVENTS, f"unexpected event {name}"
    assert message.keys() == expected_keys(name, chanvars), name
    assert message["Privilege"] == f"{EVENTS[name][0]},all", name


def check_invariants(events: list[AmiMessage]) -> None:
    """The AMI spec's hard guarantees plus app_queue's ordering rules (research §1.6)."""
    first: dict[str, str] = {}
    last: dict[str, str] = {}
    hung: set[str] = set()
    in_bridge: dict[str, set[str]] = defaultdict(set)
    dials: set[str] = set()
    connected: set[str] = set()
    for m in events:
        uid = m.get("Uniqueid")
        name = m.event or ""
        if uid is not None:
            assert uid not in hung, f"{name} after Hangup of {uid}"
            first.setdefault(uid, name)
            last[uid] = name
        if name == "Hangup":
            assert uid is not None and not in_bridge[uid], f"Hangup of {uid} while bridged"
            hung.add(uid)
        elif name == "BridgeEnter":
            in_bridge[m["Uniqueid"]].add(m["BridgeUniqueid"])
        elif name == "BridgeLeave":
            in_bridge[m["Uniqueid"]].discard(m["BridgeUniqueid"])
        elif name == "DialBegin":
            dials.add(m["DestUniqueid"])
        elif name == "DialEnd":
            dials.discard(m["DestUniqueid"])
        elif name == "QueueCallerLeave":
            connected.add(m["Uniqueid"])
        elif name == "AgentConnect":
            assert m["Uniqueid"] in connected, "QueueCallerLeave must precede AgentConnect"
        elif name == "AgentComplete":
            assert in_bridge[m["Uniqueid"]], "AgentComplete must precede the caller's BridgeLeave"
    for uid, name in first.items():
        assert name == "Newchannel", f"first event of {uid} is {name}"
    for uid in hung:
        assert last[uid] == "Hangup", f"last event of {uid} is {last[uid]}"
    assert not dials, f"DialBegin without DialEnd: {dials}"
