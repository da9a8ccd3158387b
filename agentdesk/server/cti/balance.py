"""Sharing the PBX links between instances that did not start together.

``CtiRelay._claim_turn`` spreads the links when instances claim them at the
same time. An instance started later (a rolling restart, one back after a
crash) found every link held and stayed idle, and the other carried every
PBX: at 2,000 desktops that instance used 75 % of a core and its peer 19 %.

So each instance says it is up (``Bus.present``) every lease period, and one
that holds more than its share of links, ``ceil(links / instances)``, while
the set of instances has stayed the same for a period, hands one link over:
it gives the AMI link up and releases the lease, and does not claim that link
again for ``HOLD_OFF_PERIODS`` periods, so an instance with fewer links takes
it. One link per period: the desktops of that PBX see "the link is moving" for
the few seconds a takeover takes, as when an instance dies, and their calls
come back with the new holder's resync.
"""

from __future__ import annotations

from collections.abc import Iterable

HOLD_OFF_PERIODS = 3  # lease periods a handed-over link is left to the others


def share(links: int, instances: int) -> int:
    """The most links one instance should hold: ``ceil(links / instances)``."""
    return -(-links // max(1, instances))


def surplus(held: Iterable[str], links: int, instances: int) -> str | None:
    """The link to hand over (the last by name) when ``held`` is over the share, else None."""
    mine = sorted(held)
    return mine[-1] if len(mine) > share(links, instances) else None
