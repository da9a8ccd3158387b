"""The simulated core-banking system: a small ASGI app speaking the contract of docs/corebank.md.

Routes::

    GET /health                                       {"status": "ok"}
    GET /core/v1/customers/{id}/position?recent=N     accounts, cards, loans, N latest transactions
    GET /core/v1/products/{id}/transactions?limit=N   one product's N latest transactions
    GET /sim/faults, PUT /sim/faults                  the injected latency and failures (tests)
    GET /sim/stats                                    {"served": core requests answered so far}

Latency and failures are injected on ``/core/v1`` only, from a seeded random
generator so a run can be replayed: a delay of ``latency_ms`` ± ``jitter_ms``,
then with ``fail_rate`` a 503, with ``timeout_rate`` a hang of ``hang_s``
seconds before answering, with ``garbage_rate`` a broken answer (bytes that
are not JSON, JSON cut short, the wrong shape, an unknown field).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import parse_qs

from agentdesk.services.corebank.ledger import BookProduct, Entry, Ledgers

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
MAX_CONTROL_BODY = 16 * 1024


class Book(Protocol):
    """Where the simulator finds a customer's products (``ledger.StoreBook``)."""

    def products_of(self, customer_id: uuid.UUID) -> tuple[BookProduct, ...]: ...

    def product(self, product_id: uuid.UUID) -> BookProduct | None: ...


@dataclass(frozen=True)
class Faults:
    """Injected latency and failure rates (each rate a fraction of requests, 0 to 1)."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    fail_rate: float = 0.0
    timeout_rate: float = 0.0
    garbage_rate: float = 0.0
    hang_s: float = 30.0

    def __post_init__(self) -> None:
        if not 0 <= self.latency_ms <= 60_000 or not 0 <= self.jitter_ms <= 60_000:
            raise ValueError("latency and jitter must be between 0 and 60000 ms")
        rates = (self.fail_rate, self.timeout_rate, self.garbage_rate)
        if any(not 0 <= r <= 1 for r in rates) or sum(rates) > 1:
            raise ValueError("failure rates must each be between 0 and 1, and add up to 1 at most")
        if not 0 <= self.hang_s <= 600:
            raise ValueError("hang_s must be between 0 and 600 seconds")

    @classmethod
    def from_mapping(cls, data: Any) -> Faults:
        if not isinstance(data, dict):
            raise ValueError("send a JSON object of fault settings")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        values: dict[str, float] = {}
        for key, value in data.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key} must be a number")
            values[key] = float(value)
        return cls(**values)


class CoreSimulator:
    """The ASGI app of ``agentdesk corebank``."""

    def __init__(
        self,
        book: Book,
        *,
        seed: int = 42,
        today: dt.date | None = None,
        faults: Faults | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.book = book
        self.ledgers = Ledgers(seed, today or dt.datetime.now(dt.UTC).date())
        self.faults = faults or Faults()
        self._rng = random.Random(seed)
        self._clock = clock
        self.served = 0

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if path == "/health" and method == "GET":
            await _json(send, 200, {"status": "ok"})
        elif path == "/sim/stats" and method == "GET":
            await _json(send, 200, {"served": self.served})
        elif path == "/sim/faults":
            await self._faults_route(method, receive, send)
        elif path.startswith("/core/v1/"):
            if method != "GET":
                await _json(send, 405, {"error": "method-not-allowed"})
                return
            await self._core_route(path.split("/")[3:], query, send)
        else:
            await _json(send, 404, {"error": "no-such-route"})

    # --- /sim/faults ---------------------------------------------------------------------------

    async def _faults_route(self, method: str, receive: Receive, send: Send) -> None:
        if method == "PUT":
            try:
                body = await _body(receive)
                self.faults = Faults.from_mapping(json.loads(body or b"null"))
            except ValueError as exc:  # json.JSONDecodeError is a ValueError
                await _json(send, 400, {"error": "bad-faults", "detail": str(exc)})
                return
        elif method != "GET":
            await _json(send, 405, {"error": "method-not-allowed"})
            return
        await _json(send, 200, dataclasses.asdict(self.faults))

    # --- /core/v1 ------------------------------------------------------------------------------

    async def _core_route(self, parts: list[str], query: dict[str, list[str]], send: Send) -> None:
        self.served += 1
        answer = await self._answer(parts, query)
        if answer is None:
            return
        status, payload = answer
        faults = self.faults
        delay = faults.latency_ms + self._rng.uniform(-faults.jitter_ms, faults.jitter_ms)
        if delay > 0:
            await asyncio.sleep(delay / 1000)
        draw = self._rng.random()
        if draw < faults.fail_rate:
            await _json(send, 503, {"error": "unavailable", "detail": "core system busy"})
            return
        draw -= faults.fail_rate
        if draw < faults.timeout_rate:
            await asyncio.sleep(faults.hang_s)
        elif draw - faults.timeout_rate < faults.garbage_rate and status == 200:
            await _raw(send, 200, self._garbage(payload))
            return
        await _json(send, status, payload)

    async def _answer(
        self, parts: list[str], query: dict[str, list[str]]
    ) -> tuple[int, dict[str, Any]] | None:
        if len(parts) != 3 or parts[0] not in ("customers", "products"):
            return 404, {"error": "no-such-route"}
        try:
            key = uuid.UUID(parts[1])
        except ValueError:
            return 400, {"error": "bad-id", "detail": "not a UUID"}
        if parts[0] == "customers" and parts[2] == "position":
            n = _count(query, "recent", 10, 100)
            if n is None:
                return 400, {"error": "bad-recent", "detail": "recent: 0 to 100"}
            products = await asyncio.to_thread(self.book.products_of, key)
            if not products:
                return 404, {"error": "unknown-customer"}
            return 200, self.position(key, products, n)
        if parts[0] == "products" and parts[2] == "transactions":
            n = _count(query, "limit", 20, 500)
            if n is None:
                return 400, {"error": "bad-limit", "detail": "limit: 0 to 500"}
            product = await asyncio.to_thread(self.book.product, key)
            if product is None:
                return 404, {"error": "unknown-product"}
            entries = self.ledgers.transactions(product)[:n]
            return 200, {
                "product_id": str(key),
                "as_of": self._clock().isoformat(),
                "transactions": [_entry(e, product.currency) for e in entries],
            }
        return 404, {"error": "no-such-route"}

    def position(
        self, customer_id: uuid.UUID, products: tuple[BookProduct, ...], recent: int
    ) -> dict[str, Any]:
        """The JSON body of a position: every product by family, the latest transactions."""
        accounts: list[dict[str, Any]] = []
        cards: list[dict[str, Any]] = []
        loans: list[dict[str, Any]] = []
        entries: list[tuple[Entry, str]] = []
        for p in products:
            body = self._product(p)
            if body is None:
                continue  # investments and insurance live in other systems
            family = cards if p.kind == "card" else loans if p.kind in _LOANS else accounts
            family.append(body)
            entries += [(e, p.currency) for e in self.ledgers.transactions(p)]
        entries.sort(key=lambda pair: pair[0].id)  # within a day: each product's newest first
        entries.sort(key=lambda pair: pair[0].booked_on, reverse=True)
        return {
            "customer_id": str(customer_id),
            "as_of": self._clock().isoformat(),
            "accounts": accounts,
            "cards": cards,
            "loans": loans,
            "transactions": [_entry(e, cur) for e, cur in entries[:recent]],
        }

    def _product(self, p: BookProduct) -> dict[str, Any] | None:
        terms = self.ledgers.terms(p)
        common = {"id": str(p.id), "name": p.name, "status": p.status, "currency": p.currency}
        if p.kind == "card" and p.token and p.card_bin:
            limit = terms.limit or Decimal(0)
            return common | {
                "token": p.token,
                "bin": p.card_bin,
                "last4": p.last4,
                "scheme": {"4": "visa", "5": "mastercard"}.get(p.card_bin[0], "other"),
                "balance": _money(p.balance),
                "credit_limit": _money(limit),
                "available": _money(limit + p.balance),
            }
        if p.kind in _LOANS:
            return common | {
                "kind": p.kind,
                "number_last4": p.last4,
                "outstanding": _money(p.balance),
                "interest_rate": str(terms.rate),
                "monthly_payment": _money(terms.monthly_payment or Decimal(0)),
                "next_payment_on": _date(terms.next_payment_on),
                "maturity_on": _date(terms.maturity_on),
            }
        if p.kind in ("current", "savings", "deposit"):
            overdraft = terms.limit
            return common | {
                "kind": p.kind,
                "number_last4": p.last4,
                "ledger_balance": _money(p.balance),
                "available_balance": _money(p.balance + (overdraft or 0)),
                "overdraft_limit": None if overdraft is None else _money(overdraft),
                "interest_rate": None if terms.rate is None else str(terms.rate),
                "opened_on": _date(p.opened_on),
            }
        return None

    def _garbage(self, payload: dict[str, Any]) -> bytes:
        """One of the ways a core system's answer arrives broken."""
        text = json.dumps(payload).encode()
        kind = self._rng.randrange(4)
        if kind == 0:
            return b"\x00\xffcore dump <<<" + bytes(self._rng.randrange(256) for _ in range(32))
        if kind == 1:
            return text[: max(1, len(text) // 2)]  # cut off mid-answer
        if kind == 2:
            return json.dumps({k: "n/a" for k in payload}).encode()  # every field the wrong type
        return json.dumps(payload | {"legacy_field": "unexpected"}).encode()


_LOANS = ("mortgage", "loan")


def _count(query: dict[str, list[str]], name: str, default: int, most: int) -> int | None:
    raw = query.get(name, [str(default)])[-1]
    if not raw.isdigit() or int(raw) > most:
        return None
    return int(raw)


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _entry(e: Entry, currency: str) -> dict[str, Any]:
    return {
        "id": e.id,
        "product_id": str(e.product_id),
        "booked_on": e.booked_on.isoformat(),
        "description": e.description,
        "amount": _money(e.amount),
        "currency": currency,
        "balance_after": _money(e.balance_after),
    }


async def _json(send: Send, status: int, payload: dict[str, Any]) -> None:
    await _raw(send, status, json.dumps(payload).encode())


async def _raw(send: Send, status: int, body: bytes) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_CONTROL_BODY:
            raise ValueError("fault settings are a few numbers; the body is too large")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
