"""``HttpCentral``: the sync port spoken to ``agentdesk server`` over HTTPS and a WebSocket.

The desktop's ``Syncer`` and ``SyncEngine`` use it exactly like the
in-process centre; nothing here opens a database. A snapshot arrives as
newline-delimited JSON and is trusted only when its closing line arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
import websockets

from agentdesk.client.api import ServerApi, ServerRefused, ServerUnavailable, SessionEnded
from agentdesk.store.sync.backoff import Backoff
from agentdesk.store.sync.local import Unit
from agentdesk.store.sync.port import (
    Closure,
    LiveSource,
    PokeCallback,
    PullPage,
    Snapshot,
    StateCallback,
    TableChunk,
)
from agentdesk.store.sync.protocol import (
    ClientIdentityError,
    Cursor,
    PoisonSuspect,
    PushEntry,
    PushReply,
    ResyncRequired,
)
from agentdesk.store.sync.wire import (
    decode_dict_rows,
    decode_rows,
    feed_row_from_json,
    push_entry_json,
    push_reply_from_json,
    table_named,
    unit_from_json,
)

log = logging.getLogger(__name__)


def _protocol_errors(exc: ServerRefused) -> Exception:
    """The sync protocol's own exceptions from the server's problem types."""
    if exc.kind == "resync-required":
        return ResyncRequired(str(exc))
    if exc.kind == "client-identity":
        return ClientIdentityError(str(exc))
    if exc.kind == "poison-suspect":
        return PoisonSuspect(uuid.UUID(str(exc.body.get("mutation_id"))), str(exc))
    return exc


class HttpCentral:
    """The central side of sync, reached through the server as the signed-in agent.

    ``client_id`` is the desktop's sync client id, sent on the live link so the
    server pokes it only for changes its pull would return. Whoever builds the
    sync engine sets it; the first sync request teaches it too, for callers that
    did not (until then the server pokes this desktop for every change).
    """

    def __init__(self, api: ServerApi, client_id: uuid.UUID | None = None) -> None:
        self.api = api
        self.client_id = client_id

    def _learn(self, client_id: uuid.UUID) -> None:
        if self.client_id is None:
            self.client_id = client_id

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return self.api.request(method, path, **kwargs)
        except ServerRefused as exc:
            raise _protocol_errors(exc) from exc

    def describe(self) -> str:
        return self.api.base_url

    def identity(self) -> str:
        return str(self._call("GET", "/sync/identity")["identity"])

    @contextmanager
    def snapshot(self, client_id: uuid.UUID, *, reference_only: bool = False) -> Iterator[Snapshot]:
        self._learn(client_id)
        params = {"client_id": str(client_id), "reference_only": str(reference_only).lower()}
        try:
            with self.api.stream("/sync/snapshot", params) as response:
                if response.status_code >= 400:
                    response.read()
                    self.api.check(response)
                lines = response.iter_lines()
                first = json.loads(next(lines))
                yield Snapshot(Cursor.parse(first["cursor"]), _chunks(lines))
        except httpx.TransportError as exc:
            raise ServerUnavailable(f"the cache fill was cut off ({type(exc).__name__})") from exc
        except ServerRefused as exc:
            raise _protocol_errors(exc) from exc

    def apply_batch(
        self, client_id: uuid.UUID, entries: Sequence[PushEntry], give_up: frozenset[uuid.UUID]
    ) -> PushReply:
        self._learn(client_id)
        body = {
            "client_id": str(client_id),
            "entries": [push_entry_json(e) for e in entries],
            "give_up": [str(m) for m in give_up],
        }
        return push_reply_from_json(self._call("POST", "/sync/push", json=body))

    def pull(self, client_id: uuid.UUID, cursor: Cursor, limit: int) -> PullPage:
        self._learn(client_id)
        body = self._call(
            "GET",
            "/sync/pull",
            params={"client_id": str(client_id), "cursor": str(cursor), "limit": limit},
        )
        return PullPage(
            [feed_row_from_json(r) for r in body["rows"]],
            Cursor.parse(body["upto"]),
            bool(body["held_back"]),
        )

    def units(self, client_id: uuid.UUID, wanted: Sequence[tuple[str, uuid.UUID]]) -> list[Unit]:
        body = self._call(
            "POST",
            "/sync/units",
            json={"client_id": str(client_id), "wanted": [[k, str(i)] for k, i in wanted]},
        )
        return [unit_from_json(u) for u in body["units"]]

    def closure(
        self, client_id: uuid.UUID, customers: list[uuid.UUID], tickets: list[uuid.UUID]
    ) -> Closure:
        out: Closure = []
        # The server takes at most 500 of each per request.
        for start in range(0, max(len(customers), len(tickets), 1), 500):
            body = self._call(
                "POST",
                "/sync/closure",
                json={
                    "client_id": str(client_id),
                    "customers": [str(c) for c in customers[start : start + 500]],
                    "tickets": [str(t) for t in tickets[start : start + 500]],
                },
            )
            for part in body["tables"]:
                table = table_named(part["t"])
                out.append((table, decode_dict_rows(table, part["rows"])))
        return out

    def live(self) -> LiveSource | None:
        return WebSocketPokes(self.api, lambda: self.client_id)


def _chunks(lines: Iterator[str]) -> Iterator[TableChunk]:
    for text in lines:
        if not text:
            continue
        item = json.loads(text)
        if item.get("end"):
            return
        table = table_named(item["t"])
        yield TableChunk(table, decode_rows(table, item["rows"]), bool(item["ref"]))
    raise ServerUnavailable("the cache fill ended early (no closing line); it will be retried")


class WebSocketPokes:
    """Pokes from the server's ``/live`` WebSocket, reconnecting with backoff and jitter.

    ``client_id()`` is read at every (re)connect and sent as ``?client_id=``: the
    server then pokes only for changes to this desktop's teams and customers.
    """

    def __init__(
        self, api: ServerApi, client_id: Callable[[], uuid.UUID | None] | None = None
    ) -> None:
        self._api = api
        self._client_id = client_id or (lambda: None)

    def url(self) -> str:
        client_id = self._client_id()
        base = self._api.ws_url
        return base if client_id is None else f"{base}?client_id={client_id}"

    async def run(
        self, stop: asyncio.Event, on_poke: PokeCallback, on_state: StateCallback
    ) -> None:
        backoff = Backoff(0.5, 30.0)
        ssl_ctx = self._api.verify if isinstance(self._api.verify, ssl.SSLContext) else None
        if self._api.ws_url.startswith("wss://") and ssl_ctx is None:
            ssl_ctx = ssl.create_default_context()
        while not stop.is_set():
            try:
                async with websockets.connect(
                    self.url(),
                    additional_headers={"Authorization": f"Bearer {self._api.token}"},
                    ssl=ssl_ctx,
                    open_timeout=5,
                    ping_interval=20,
                    max_size=64 * 1024,
                ) as ws:
                    backoff.reset()
                    on_state(True, None)
                    await self._receive(ws, stop, on_poke)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: say so, wait, reconnect
                code = getattr(getattr(exc, "rcvd", None), "code", None)
                if code == 4401:
                    on_state(False, "session ended")
                else:
                    on_state(False, f"live link: {type(exc).__name__}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff.next_delay())

    @staticmethod
    async def _receive(ws: Any, stop: asyncio.Event, on_poke: PokeCallback) -> None:
        stopping = asyncio.create_task(stop.wait())
        receiving: asyncio.Task[Any] | None = None
        try:
            while not stop.is_set():
                receiving = asyncio.create_task(ws.recv())
                done, _ = await asyncio.wait(
                    {receiving, stopping}, return_when=asyncio.FIRST_COMPLETED
                )
                if receiving not in done:
                    return
                message = json.loads(receiving.result())
                receiving = None
                if message.get("type") == "poke":
                    on_poke()
        finally:
            stopping.cancel()
            if receiving is not None:
                receiving.cancel()
                # Collect its outcome (a close from the server while we stop) so it is not
                # reported as an unhandled task exception.
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await receiving


__all__ = ["HttpCentral", "ServerUnavailable", "SessionEnded", "WebSocketPokes"]
