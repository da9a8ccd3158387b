"""Bearer tokens to principals: who is asking, in which role, over which working set.

The principal is built from the server's own session table and the agent
row (a role changed by an administrator in SQL applies within
``SESSION_CACHE_SECONDS``, 10 s: see ``services.platform.signin``; a sign-out
or revocation at once, on every instance sharing a bus: ``server/peers.py``);
nothing in the request body can change it.

WebSockets check their session when they open and again while open
(``socket_session``, ``still_signed_in``). With the database away, an opening
socket is closed with 1013 (try again later) and an open one is kept: it was
checked when it opened, and it is asked again at its next check.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from agentdesk.models import Role
from agentdesk.server.context import Ctx, ServerContext
from agentdesk.server.problems import forbidden, unauthorized
from agentdesk.services.platform.signin import SessionInfo
from agentdesk.store.sync.scope import SyncScope

SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
TRY_AGAIN_LATER = 1013  # RFC 6455 close code: the desktop reconnects after its back-off


class DatabaseAway(Exception):
    """A socket's session could not be checked: the central database did not answer."""


async def socket_session(ctx: ServerContext, token: str | None) -> SessionInfo | None:
    """The live session behind a socket's token (None: ended); ``DatabaseAway`` if unknown."""
    try:
        return await run_in_threadpool(ctx.signin.authenticate, token or "")
    except SQLAlchemyError as exc:
        raise DatabaseAway(type(exc).__name__) from exc


async def still_signed_in(ctx: ServerContext, token: str | None) -> bool:
    """An open socket's periodic check: False only for a session known to have ended."""
    try:
        return await socket_session(ctx, token) is not None
    except DatabaseAway:
        return True  # kept; asked again at the next check


@dataclass(frozen=True)
class Principal:
    """The signed-in agent behind a request."""

    session_id: uuid.UUID
    agent_id: uuid.UUID
    login: str
    role: Role
    team_ids: frozenset[uuid.UUID]
    workstation: str | None
    full_replica: bool

    @property
    def scope(self) -> SyncScope:
        return SyncScope(
            team_ids=self.team_ids, agent_id=self.agent_id, full_replica=self.full_replica
        )

    @property
    def is_supervisor(self) -> bool:
        return self.role in SUPERVISORS


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def principal_from(ctx: ServerContext, info: SessionInfo) -> Principal:
    agent = info.agent
    return Principal(
        info.session_id,
        agent.id,
        agent.login,
        agent.role,
        frozenset(agent.team_ids),
        info.workstation,
        agent.role in ctx.full_replica_roles,
    )


def current_principal(request: Request, ctx: Ctx) -> Principal:
    """The request's principal; 401 without a live session."""
    token = bearer_token(request)
    if token is None:
        raise unauthorized("This request needs a session token (Authorization: Bearer …).")
    info = ctx.signin.authenticate(token)
    if info is None:
        raise unauthorized("Your session has ended (signed out, expired or revoked).")
    return principal_from(ctx, info)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def supervisor(principal: CurrentPrincipal) -> Principal:
    """The principal, if a supervisor or administrator; 403 otherwise."""
    if not principal.is_supervisor:
        raise forbidden("Only supervisors and administrators may do this.")
    return principal
