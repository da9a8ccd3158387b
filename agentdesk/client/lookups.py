"""Look-ups the desktop asks the server for: caller match, customer card, search, reveal.

Each mirrors the in-process service it replaces (same method names, same
frozen dataclasses back), so the desk and workspace code does not know
whether it talks to a database or to the server. Every call carries this
desktop's client id: customers the server hands out become its pins.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter

from agentdesk.client.api import ServerApi, ServerRefused
from agentdesk.services.crm.caller_match import CallerMatch, CustomerCard, Source
from agentdesk.services.crm.phone import CallerNumber
from agentdesk.services.crm.search import SearchResults
from agentdesk.services.platform.reveal import RevealedValue
from agentdesk.services.supervisor.floor_stats import BreachedTickets, WorkstationLatency

_MATCH = TypeAdapter(CallerMatch)
_CARD = TypeAdapter(CustomerCard)
_SEARCH = TypeAdapter(SearchResults)

ClientIdSource = Callable[[], uuid.UUID]


class ServerMatcher:
    """``CallerMatcher``'s interface, answered by the server (which holds every customer)."""

    def __init__(self, api: ServerApi, client_id: ClientIdSource) -> None:
        self._api = api
        self._client_id = client_id

    @property
    def source(self) -> Source:
        return "central"

    def match(self, raw: str | None) -> CallerMatch:
        data = self._api.request(
            "POST",
            "/customers/match",
            params={"client_id": str(self._client_id())},
            json={"number": (raw or "")[:64]},
        )
        return _MATCH.validate_python(data)

    def match_number(self, number: CallerNumber) -> CallerMatch:
        return self.match(number.raw)

    def card(self, customer_id: uuid.UUID) -> CustomerCard | None:
        try:
            data = self._api.request(
                "GET",
                f"/customers/{customer_id}/card",
                params={"client_id": str(self._client_id())},
            )
        except ServerRefused as exc:
            if exc.status == 404:
                return None
            raise
        return _CARD.validate_python(data)


class ServerSearch:
    """``SearchService``'s interface over the whole customer base, through the server."""

    def __init__(self, api: ServerApi, client_id: ClientIdSource) -> None:
        self._api = api
        self._client_id = client_id

    def search(self, raw: str) -> SearchResults:
        data = self._api.request(
            "POST",
            "/customers/search",
            params={"client_id": str(self._client_id())},
            json={"q": raw[:200]},
        )
        return _SEARCH.validate_python(data)


class ServerRevealer:
    """Reveals a protected field through the server (which audits it); the value is not kept."""

    def __init__(self, api: ServerApi, client_id: ClientIdSource) -> None:
        self._api = api
        self._client_id = client_id

    def __call__(
        self, customer_id: uuid.UUID, target: str, target_id: uuid.UUID | None, reason: str
    ) -> RevealedValue:
        body: dict[str, Any] = {"target": target, "reason": reason}
        if target_id is not None:
            body["target_id"] = str(target_id)
        data = self._api.request(
            "POST",
            f"/customers/{customer_id}/reveal",
            params={"client_id": str(self._client_id())},
            json=body,
        )
        return RevealedValue(str(data["value"]), uuid.UUID(data["audit_id"]), str(data["field"]))


class ServerFloorReads:
    """The supervisor's historical reads (``FloorReads``), answered by the server."""

    _LATENCY = TypeAdapter(tuple[WorkstationLatency, ...])
    _BREACHED = TypeAdapter(BreachedTickets)

    def __init__(self, api: ServerApi) -> None:
        self._api = api

    def pop_latency(self, day: dt.date, tz: dt.tzinfo) -> tuple[WorkstationLatency, ...]:
        data = self._api.request(
            "GET", "/supervisor/pop-latency", params={"day": day.isoformat(), "tz": str(tz)}
        )
        return self._LATENCY.validate_python(data)

    def breached(self, now: dt.datetime) -> BreachedTickets:
        return self._BREACHED.validate_python(
            self._api.request("GET", "/supervisor/breached-tickets")
        )
