"""The core-banking adapter: a typed protocol and its HTTP implementation.

``CoreBanking`` is what the rest of agentdesk needs from a bank's core
system (accounts, balances, cards, loans, recent transactions). ``HttpCoreBank``
speaks the JSON contract in docs/corebank.md with a timeout on every phase
and validates every answer strictly: a reply that is not exactly that
contract (garbage, cut short, an unknown field) is an error, never a partial
result. Synchronous and thread-safe (one ``httpx.Client`` with its pool).
"""

from __future__ import annotations

import dataclasses
import ssl
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from agentdesk.config import ConfigError
from agentdesk.services.corebank.breaker import BreakerSettings
from agentdesk.services.corebank.models import CorePosition, TransactionPage

M = TypeVar("M", bound=BaseModel)
MAX_BODY = 2 * 1024 * 1024  # a position is a few kB; anything this big is not one


class CoreBankError(Exception):
    """The core system could not give an answer; ``str()`` is readable by people."""


class CoreBankUnavailable(CoreBankError):
    """Not reachable, too slow, or it said it cannot answer now (5xx)."""


class CoreBankBadResponse(CoreBankError):
    """It answered, but not with the contract: garbage, partial JSON or unexpected fields."""


class CoreBankNotFound(CoreBankError):
    """It answered that it does not know this customer or product."""


class CoreBanking(Protocol):
    """What agentdesk reads from a core-banking system."""

    def position(self, customer_id: uuid.UUID, *, recent: int = 10) -> CorePosition:
        """Accounts, cards and loans with balances, and the ``recent`` latest transactions."""
        ...

    def transactions(self, product_id: uuid.UUID, *, limit: int = 20) -> TransactionPage:
        """One product's ``limit`` latest transactions, newest first."""
        ...


@dataclass(frozen=True)
class CoreBankSettings:
    """``[corebank]`` in the server's settings file."""

    url: str
    timeout: float = 0.6
    connect_timeout: float = 0.3
    failure_threshold: int = 5
    cool_down: float = 10.0
    recent: int = 10
    last_known: int = 20_000  # customers whose last answer is kept for stale display
    ca_file: str | None = None  # the bank's CA (PEM) for an https:// url; else the system's

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            wanted = str if f.name in ("url", "ca_file") else (int, float)
            if f.name == "ca_file" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, wanted):
                raise ValueError(f"[corebank] {f.name} must be a {f.type}")
        BreakerSettings(self.failure_threshold, self.cool_down)  # same limits as the breaker
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("[corebank] url must start with http:// or https://")
        if not 0 < self.timeout <= 30 or not 0 < self.connect_timeout <= 30:
            raise ValueError("[corebank] timeouts must be more than 0 and at most 30 seconds")
        if not 0 <= self.recent <= 100:
            raise ValueError("[corebank] recent must be between 0 and 100")
        if self.last_known < 0:
            raise ValueError("[corebank] last_known must be zero or more")
        if self.ca_file is not None and not Path(self.ca_file).expanduser().is_file():
            raise ValueError(f"[corebank] ca_file {self.ca_file} does not exist or is not a file")


def parse_corebank(raw: Any) -> CoreBankSettings | None:
    """``[corebank]`` from the settings file; None when the table is absent (no core system)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError("[corebank] must be a table")
    known = {f.name for f in dataclasses.fields(CoreBankSettings)}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"unknown [corebank] settings: {', '.join(sorted(unknown))}")
    if "url" not in raw:
        raise ConfigError("[corebank] needs url (the core system's address)")
    try:
        return CoreBankSettings(**raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc


class HttpCoreBank:
    """``CoreBanking`` over HTTP(S) to ``agentdesk corebank`` or a real core's gateway."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 0.6,
        connect_timeout: float = 0.3,
        ca_file: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        verify: ssl.SSLContext | bool = True
        if ca_file is not None:
            verify = ssl.create_default_context(cafile=str(Path(ca_file).expanduser()))
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/core/v1",
            timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout)),
            headers={"User-Agent": "agentdesk-server", "Accept": "application/json"},
            transport=transport,
            verify=verify,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpCoreBank:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def position(self, customer_id: uuid.UUID, *, recent: int = 10) -> CorePosition:
        found = self._get(f"/customers/{customer_id}/position", {"recent": recent}, CorePosition)
        if found.customer_id != customer_id:
            raise CoreBankBadResponse("the core system answered for another customer")
        return found

    def transactions(self, product_id: uuid.UUID, *, limit: int = 20) -> TransactionPage:
        found = self._get(f"/products/{product_id}/transactions", {"limit": limit}, TransactionPage)
        if found.product_id != product_id:
            raise CoreBankBadResponse("the core system answered for another product")
        return found

    def _get(self, path: str, params: dict[str, int], model: type[M]) -> M:
        try:
            response = self._http.get(path, params=params)
        except httpx.TimeoutException as exc:
            raise CoreBankUnavailable("the core system did not answer in time") from exc
        except httpx.TransportError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise CoreBankUnavailable(
                    "the core system's certificate is not trusted (check [corebank] ca_file)"
                ) from exc
            raise CoreBankUnavailable(
                f"the core system is unreachable ({type(exc).__name__})"
            ) from exc
        status = response.status_code
        if status == 404:
            raise CoreBankNotFound("the core system does not know this customer or product")
        if status >= 500 or status == 429:
            raise CoreBankUnavailable(f"the core system cannot answer now (HTTP {status})")
        if status != 200:
            raise CoreBankBadResponse(f"the core system refused the request (HTTP {status})")
        if "json" not in response.headers.get("content-type", ""):
            raise CoreBankBadResponse("the core system answered with something that is not JSON")
        if len(response.content) > MAX_BODY:
            raise CoreBankBadResponse("the core system's answer is too large to be a position")
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise CoreBankBadResponse(_first_problem(exc)) from None


def _first_problem(exc: ValidationError) -> str:
    errors = exc.errors(include_input=False, include_url=False)
    if errors and errors[0]["type"] in ("json_invalid", "json_type"):
        return "the core system's answer is not valid JSON (cut short or garbage)"
    where = ".".join(str(p) for p in errors[0]["loc"]) if errors else "?"
    what = errors[0]["msg"] if errors else "invalid"
    return f"the core system's answer does not match the contract ({where}: {what})"
