"""What the server's routers share: built once in ``server/app.py``, read from ``app.state``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, TypeVar

from fastapi import Depends, Query, Request
from sqlalchemy import Engine

from agentdesk.models import Role
from agentdesk.services.crm.caller_match import CallerMatcher
from agentdesk.services.crm.search import SearchService
from agentdesk.services.platform.reveal import RevealPolicy
from agentdesk.services.platform.signin import SignInService
from agentdesk.store.field_crypto import FieldCipher
from agentdesk.store.standby import ReportReader
from agentdesk.store.sync.central import CentralStore

if TYPE_CHECKING:
    from agentdesk.server.cti.hub import CtiHub
    from agentdesk.server.live import LiveHub
    from agentdesk.server.peers import PeerNews
    from agentdesk.server.pins import PinBook
    from agentdesk.server.scheduler import Scheduler
    from agentdesk.services.corebank.live import LiveProductsReader

T = TypeVar("T")


@dataclass
class ServerContext:
    """The server's long-lived parts. Nothing in here is per request."""

    engine: Engine
    store: CentralStore
    signin: SignInService
    matcher: CallerMatcher
    search: SearchService
    hub: LiveHub
    # Customers handed to each connected desktop, for targeting pokes (``server/pins.py``).
    pins: PinBook
    cipher: FieldCipher | None = None
    reveal_policy: RevealPolicy | None = None
    # Roles whose desktops may hold a full replica instead of a working set.
    full_replica_roles: frozenset[Role] = field(default_factory=frozenset)
    max_body_bytes: int = 8 * 1024 * 1024
    # Desktop client id -> the agent it is bound to (a binding never changes once made).
    client_owners: dict[uuid.UUID, str] = field(default_factory=dict)
    # The CTI gateway (``server/cti``): the PBX links and the desktops' CTI sockets.
    cti: CtiHub | None = None
    # The site's scheduler (``server/scheduler``): leader lease, timers, notifications.
    scheduler: Scheduler | None = None
    # The 360 view's live products from the core-banking system (``services/corebank``).
    corebank: LiveProductsReader | None = None
    # Where reports read: the hot standby when configured and answering, else ``engine``
    # (``store/standby.py`` says which reads may go there).
    reports: ReportReader | None = None
    # Several instances on a bus: session ends and pins told to the others at once.
    peers: PeerNews | None = None

    def read_report(self, work: Callable[[Engine], T]) -> T:
        """Run a report's reads on the standby (or the primary: none, or it does not answer)."""
        if self.reports is None:
            return work(self.engine)
        return self.reports.run(work)


def context(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.context
    return ctx


Ctx = Annotated[ServerContext, Depends(context)]
ClientId = Annotated[uuid.UUID, Query(description="this desktop installation's sync client id")]
