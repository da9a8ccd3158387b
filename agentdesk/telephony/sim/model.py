"""Channels and bridges of the simulated PBX, as Asterisk 20 describes them in AMI snapshots."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field

#: ChannelState codes and their descriptions (include/asterisk/channelstate.h).
STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
DOWN, RING, RINGING, UP = 0, 4, 5, 6


@dataclass(slots=True, eq=False)
class Channel:
    """A live channel: identity, state, caller/connected line, dialplan position, variables."""

    name: str
    uniqueid: str
    linkedid: str
    state: int
    caller_num: str
    caller_name: str
    context: str
    exten: str
    created: float
    language: str = "en"
    connected_num: str = ""
    connected_name: str = ""
    priority: int = 1
    account_code: str = ""
    application: str = ""
    app_data: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    bridge: Bridge | None = None
    hungup: bool = False

    def set_var(self, name: str, value: str) -> None:
        # Inheritance prefixes (_X / __X) are part of how the variable was set, not its name.
        self.variables[name.lstrip("_")] = value


@dataclass(slots=True, eq=False)
class Bridge:
    """A two-party (or more) mixing bridge."""

    uniqueid: str
    technology: str = "simple_bridge"
    bridge_type: str = "basic"
    creator: str = ""
    name: str = ""
    channels: list[Channel] = field(default_factory=list)


class Ids:
    """Uniqueid and channel-name counters, deterministic for a given seed."""

    def __init__(self, seed: int, system_name: str = "") -> None:
        # asterisk.conf ``systemname`` prefixes every uniqueid (``<name>-<epoch>.<n>``), which
        # keeps Linkedids from two PBXs apart.
        self._prefix = f"{system_name}-" if system_name else ""
        self._unique = itertools.count(1)
        self._chan = itertools.count(1)
        self._uuid_seed = seed
        self._uuids = itertools.count(1)

    def uniqueid(self, epoch: float) -> str:
        return f"{self._prefix}{int(epoch)}.{next(self._unique)}"

    def channel_name(self, endpoint: str) -> str:
        # chan_pjsip names channels PJSIP/<endpoint>-%08x.
        return f"{endpoint}-{next(self._chan):08x}"

    def local_names(self, location: str) -> tuple[str, str]:
        """The two halves of a Local channel to ``exten@context[/options]``.

        core_local.c names them ``Local/<exten>@<context>-%08x;1`` and ``;2``:
        options are not part of the name, and no context means ``default``.
        """
        base = location.split("/", 1)[0]
        if "@" not in base:
            base += "@default"
        name = f"Local/{base}-{next(self._chan):08x}"
        return f"{name};1", f"{name};2"

    def uuid(self) -> str:
        """A UUID derived from the seed, so replays produce the same bridge ids."""
        value = (self._uuid_seed * 1_000_003 + next(self._uuids)) % (1 << 122)
        return str(uuid.UUID(int=value, version=4))
