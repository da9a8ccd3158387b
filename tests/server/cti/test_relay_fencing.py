"""A deposed leader's messages are fenced off by epoch on the followers (``cti/relay.py``).

When a lease lapses under load, the old leader keeps publishing until its next renewal
tells it so, while the new one already numbers the same agents' messages under a newer
epoch. Without fencing a desktop got both streams and saw (and wrapped up) calls twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agentdesk.server.cti.relay import STALE_MAX, CtiRelay, _Follow


class _Sub:
    login = "alice"

    def __init__(self) -> None:
        self.got: list[Any] = []

    def put(self, item: Any) -> None:
        self.got.append(item.message)


def _msg(epoch: int, seq: int, text: str) -> dict[str, Any]:
    return {"e": epoch, "s": seq, "m": {"type": "event", "text": text}}


def _relay() -> CtiRelay:
    return CtiRelay.__new__(CtiRelay)  # _pass needs none of the hub's or bus's state


def test_messages_from_an_older_epoch_are_dropped_and_the_current_ones_pass() -> None:
    relay, sub, follow = _relay(), _Sub(), _Follow("lab")
    follow.answered, follow.epoch, follow.seq = True, 10, 5
    relay._pass(sub, follow, _msg(9, 41, "old leader, still publishing"))  # type: ignore[arg-type]
    relay._pass(sub, follow, _msg(10, 6, "new leader"))  # type: ignore[arg-type]
    relay._pass(sub, follow, _msg(9, 42, "old leader again"))  # type: ignore[arg-type]
    relay._pass(sub, follow, _msg(10, 7, "new leader, next"))  # type: ignore[arg-type]
    assert [m["text"] for m in sub.got] == ["new leader", "new leader, next"]
    assert (follow.epoch, follow.seq) == (10, 7)


def test_epochs_that_stay_behind_are_taken_as_a_restart_and_resynced() -> None:
    relay, sub, follow = _relay(), _Sub(), _Follow("lab")
    follow.answered, follow.epoch, follow.seq = True, 10, 5
    asked: list[str] = []

    async def hello(_sub: Any, site: str) -> None:
        asked.append(site)

    relay._hello = hello  # type: ignore[method-assign]

    async def scenario() -> None:
        for seq in range(1, STALE_MAX + 2):
            relay._pass(sub, follow, _msg(2, seq, f"after a restart {seq}"))  # type: ignore[arg-type]
        await asyncio.sleep(0)  # let the scheduled hello run

    asyncio.run(scenario())
    assert sub.got == []  # nothing delivered out of order: the leader is asked for the state
    assert asked == ["lab"] and follow.answered is False and follow.epoch is None
