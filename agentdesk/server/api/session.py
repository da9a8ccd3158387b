"""Sign-in and sign-out. The token is returned once; the server stores only its hash."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from agentdesk.server.api.schemas import AgentOut, SessionOut, SignInRequest
from agentdesk.server.auth import CurrentPrincipal, bearer_token
from agentdesk.server.context import Ctx
from agentdesk.server.problems import Problem
from agentdesk.services.platform.signin import (
    AccountLocked,
    AgentProfile,
    DirectoryUnavailable,
    NotEntitled,
    SignInBusy,
    SignInError,
)

router = APIRouter(tags=["session"])


def _agent(profile: AgentProfile) -> AgentOut:
    return AgentOut(
        id=profile.id,
        login=profile.login,
        display_name=profile.display_name,
        role=profile.role.value,
        interface=profile.interface,
        extension=profile.extension,
        team_ids=list(profile.team_ids),
    )


def _refusal(exc: SignInError) -> Problem:
    if isinstance(exc, AccountLocked):
        return Problem(
            429,
            "account-locked",
            "Account locked for a while",
            str(exc),
            headers={"Retry-After": str(exc.retry_after)},
            retry_after=exc.retry_after,
        )
    if isinstance(exc, SignInBusy):
        return Problem(
            503,
            "signin-busy",
            "Too many sign-ins at once",
            str(exc),
            headers={"Retry-After": str(exc.retry_after)},
            retry_after=exc.retry_after,
        )
    if isinstance(exc, DirectoryUnavailable):
        return Problem(503, "directory-unavailable", "Directory unavailable", str(exc))
    if isinstance(exc, NotEntitled):
        return Problem(403, "no-role", "No agentdesk role", str(exc))
    return Problem(401, "wrong-credentials", "Sign-in refused", str(exc))


@router.post("/session", status_code=201, response_model=SessionOut)
def sign_in(body: SignInRequest, request: Request, ctx: Ctx) -> SessionOut:
    """Check the password (or the bank's directory) and open a session."""
    client_ip = request.client.host if request.client else None
    try:
        grant = ctx.signin.sign_in(
            body.login, body.password, workstation=body.workstation, client_ip=client_ip
        )
    except SignInError as exc:
        raise _refusal(exc) from exc
    return SessionOut(
        token=grant.token,
        session_id=grant.session_id,
        agent=_agent(grant.agent),
        expires_at=grant.expires_at,
        idle_timeout_seconds=grant.idle_timeout_seconds,
        full_replica=grant.agent.role in ctx.full_replica_roles,
    )


@router.get("/session", response_model=SessionOut)
def who_am_i(
    request: Request,
    principal: CurrentPrincipal,
    ctx: Ctx,
) -> SessionOut:
    """The current session (the token is not repeated)."""
    info = ctx.signin.authenticate(bearer_token(request) or "")
    assert info is not None  # current_principal just checked it
    return SessionOut(
        session_id=info.session_id,
        agent=_agent(info.agent),
        expires_at=info.expires_at,
        full_replica=principal.full_replica,
    )


@router.delete("/session", status_code=204)
def sign_out(
    request: Request,
    _principal: CurrentPrincipal,
    ctx: Ctx,
) -> Response:
    """End this session; the token stops working at once."""
    ctx.signin.sign_out(bearer_token(request) or "")
    return Response(status_code=204)
