"""Who may do what: role checks every supervisor service runs before it reads or acts.

Hiding a menu item is a courtesy; the check that counts is here, in the
services layer, so an agent's session gets :class:`PermissionDenied` from
any supervisor use case however it is reached (a menu, a shortcut, a test,
a script). On PostgreSQL the same split is enforced again by database roles
(``agentdesk.store.grants``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from agentdesk.models import Role


class Capability(StrEnum):
    """Things a session may be allowed to do beyond an agent's own work."""

    VIEW_WALLBOARD = "view the supervisor wallboard"
    VIEW_REPORTS = "read queue and agent reports"
    CONTROL_AGENTS = "pause, unpause or move agents between queues"
    ACKNOWLEDGE_ALERTS = "acknowledge wallboard alerts"
    VIEW_POP_LATENCY = "read screen-pop latency per workstation"
    MANAGE_GRANTS = "manage database roles and grants"
    EDIT_KNOWLEDGE = "write, publish and retire knowledge articles"


_SUPERVISOR = frozenset(
    {
        Capability.VIEW_WALLBOARD,
        Capability.VIEW_REPORTS,
        Capability.CONTROL_AGENTS,
        Capability.ACKNOWLEDGE_ALERTS,
        Capability.VIEW_POP_LATENCY,
    }
)
CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.AGENT: frozenset(),
    Role.SUPERVISOR: _SUPERVISOR,
    Role.ADMIN: _SUPERVISOR | {Capability.MANAGE_GRANTS, Capability.EDIT_KNOWLEDGE},
    Role.EDITOR: frozenset({Capability.EDIT_KNOWLEDGE}),
}


class Session(Protocol):
    """The part of a signed-in identity the checks read (``AgentIdentity`` fits)."""

    @property
    def login(self) -> str: ...

    @property
    def role(self) -> Role: ...


class PermissionDenied(PermissionError):
    """The signed-in user's role does not allow this; the message says who, what and why."""

    def __init__(self, login: str, role: Role | str, capability: Capability) -> None:
        self.login = login
        self.role = str(role)
        self.capability = capability
        super().__init__(
            f"{login!r} is signed in as {self.role}, which may not {capability.value}; "
            "ask a supervisor or an administrator."
        )


def role_of(session: Session) -> Role:
    """The session's role; anything unrecognised is treated as the least privileged."""
    try:
        return Role(session.role)
    except ValueError:
        return Role.AGENT


def allows(session: Session, capability: Capability) -> bool:
    return capability in CAPABILITIES[role_of(session)]


def can_supervise(session: Session) -> bool:
    """True for supervisors and admins: the UI shows supervisor views only then."""
    return allows(session, Capability.VIEW_WALLBOARD)


def require(session: Session, capability: Capability) -> None:
    """Raise :class:`PermissionDenied` unless the session's role grants ``capability``."""
    if not allows(session, capability):
        raise PermissionDenied(session.login, role_of(session), capability)
