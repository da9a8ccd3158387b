"""Request and response bodies of the API (pydantic): what an integrator reads at ``/docs``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_STRICT = ConfigDict(extra="forbid")


class SignInRequest(BaseModel):
    """Credentials for a new session."""

    model_config = _STRICT
    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    workstation: str | None = Field(default=None, max_length=80)


class AgentOut(BaseModel):
    id: uuid.UUID
    login: str
    display_name: str
    role: str
    interface: str | None
    extension: str | None
    team_ids: list[uuid.UUID]


class SessionOut(BaseModel):
    """A session: the token is returned once, at sign-in, and never again."""

    token: str | None = None
    session_id: uuid.UUID
    agent: AgentOut
    expires_at: dt.datetime
    idle_timeout_seconds: int | None = None
    full_replica: bool = False


class PushEntryIn(BaseModel):
    model_config = _STRICT
    client_seq: int = Field(ge=1)
    mutation_id: uuid.UUID
    name: str = Field(min_length=1, max_length=64)
    args: dict[str, Any]


class PushIn(BaseModel):
    """A batch of outbox entries in client order."""

    model_config = _STRICT
    client_id: uuid.UUID
    entries: list[PushEntryIn] = Field(max_length=1000)
    give_up: list[uuid.UUID] = Field(default_factory=list, max_length=1000)


class ClosureIn(BaseModel):
    model_config = _STRICT
    client_id: uuid.UUID
    customers: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    tickets: list[uuid.UUID] = Field(default_factory=list, max_length=500)


class UnitsIn(BaseModel):
    model_config = _STRICT
    client_id: uuid.UUID
    wanted: list[tuple[str, uuid.UUID]] = Field(max_length=1000)


class RevealIn(BaseModel):
    """What to reveal and why (the reason code comes from the site's list)."""

    model_config = _STRICT
    target: Literal["document", "date_of_birth"]
    target_id: uuid.UUID | None = None
    reason: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=500)


class RevealOut(BaseModel):
    value: str
    audit_id: uuid.UUID
    field: str


class MatchIn(BaseModel):
    """A caller's number as the PBX gave it."""

    model_config = _STRICT
    number: str = Field(max_length=64)


class SearchIn(BaseModel):
    """What the agent typed in the search box."""

    model_config = _STRICT
    q: str = Field(max_length=200)
