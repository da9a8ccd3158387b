"""The 360 view's products: live from the core system, else the last known values, marked stale.

``LiveProductsReader.read`` asks the core system through the circuit breaker.
An answer is kept (per customer, least recently used first out) as the last
known value. When the core system is slow, down, answers garbage or the
breaker is open, the reader answers at once with the last known value, or,
if this server never saw one, with the products the CRM stored
(``crm_products``), marked ``stale`` with their as-of time and the reason.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import cast

from sqlalchemy import Engine, select

from agentdesk.models import Product
from agentdesk.services.corebank.breaker import BreakerSettings, CircuitBreaker
from agentdesk.services.corebank.client import (
    CoreBankError,
    CoreBanking,
    CoreBankNotFound,
    CoreBankSettings,
    HttpCoreBank,
)
from agentdesk.services.corebank.models import (
    CorePosition,
    LiveProduct,
    LiveProducts,
    LiveTransaction,
    ProductKind,
)
from agentdesk.services.crm.customer_views import mask_product
from agentdesk.store.engine import read_session

log = logging.getLogger(__name__)

UNAVAILABLE = "core system unavailable"
NOT_CONFIGURED = "no core system configured"
Fallback = Callable[[uuid.UUID], LiveProducts | None]


class LiveProductsReader:
    """Products, balances and recent transactions of one customer, as fresh as can be had."""

    def __init__(
        self,
        core: CoreBanking | None,
        breaker: CircuitBreaker,
        fallback: Fallback,
        *,
        recent: int = 10,
        keep: int = 20_000,
    ) -> None:
        self._core = core
        self.breaker = breaker
        self._fallback = fallback
        self._recent = recent
        self._keep = keep
        self._known: OrderedDict[uuid.UUID, LiveProducts] = OrderedDict()
        self._lock = threading.Lock()

    def close(self) -> None:
        close = getattr(self._core, "close", None)
        if close is not None:
            close()

    def read(self, customer_id: uuid.UUID) -> LiveProducts:
        if self._core is None:
            return self._stale(customer_id, NOT_CONFIGURED)
        if not self.breaker.allow():
            return self._stale(customer_id, UNAVAILABLE)
        try:
            position = self._core.position(customer_id, recent=self._recent)
        except CoreBankNotFound:
            self.breaker.record_success()  # a healthy answer: it has nothing for this customer
            return LiveProducts(
                customer_id=customer_id,
                as_of=dt.datetime.now(dt.UTC),
                stale=False,
                source="core",
                reason="the core system holds no products for this customer",
            )
        except CoreBankError as exc:
            self.breaker.record_failure()
            log.warning("core system: %s (breaker %s)", exc, self.breaker.state)
            return self._stale(customer_id, UNAVAILABLE)
        except BaseException:
            self.breaker.record_failure()  # never leave a half-open probe outstanding
            raise
        self.breaker.record_success()
        live = from_position(position)
        self._remember(live)
        return live

    def _remember(self, live: LiveProducts) -> None:
        if self._keep == 0:
            return
        with self._lock:
            self._known[live.customer_id] = live
            self._known.move_to_end(live.customer_id)
            while len(self._known) > self._keep:
                self._known.popitem(last=False)

    def _stale(self, customer_id: uuid.UUID, reason: str) -> LiveProducts:
        with self._lock:
            known = self._known.get(customer_id)
        if known is not None:
            return known.model_copy(
                update={"stale": True, "source": "last-known", "reason": reason}
            )
        stored = self._fallback(customer_id)
        if stored is not None:
            return stored.model_copy(update={"reason": reason})
        return LiveProducts(
            customer_id=customer_id, as_of=None, stale=True, source="none", reason=reason
        )


def build_reader(engine: Engine, settings: CoreBankSettings | None) -> LiveProductsReader:
    """The server's reader: HTTP to ``settings.url`` (or none), the CRM's rows as fallback."""
    core = None
    if settings is not None:
        core = HttpCoreBank(
            settings.url,
            timeout=settings.timeout,
            connect_timeout=settings.connect_timeout,
            ca_file=settings.ca_file,
        )
    breaker = (
        CircuitBreaker(BreakerSettings(settings.failure_threshold, settings.cool_down))
        if settings
        else CircuitBreaker()
    )
    return LiveProductsReader(
        core,
        breaker,
        crm_products(engine),
        recent=settings.recent if settings else 10,
        keep=settings.last_known if settings else 0,
    )


def from_position(position: CorePosition) -> LiveProducts:
    """The 360 rows of a core system's answer: numbers masked, balances per kind."""
    rows: list[LiveProduct] = []
    for a in position.accounts:
        rows.append(
            LiveProduct(
                id=a.id,
                kind=a.kind,
                name=a.name,
                masked_number=mask_product(a.kind, None, None, a.number_last4),
                status=a.status,
                currency=a.currency,
                balance=a.ledger_balance,
                available=a.available_balance,
                limit=a.overdraft_limit,
                interest_rate=a.interest_rate,
            )
        )
    for c in position.cards:
        rows.append(
            LiveProduct(
                id=c.id,
                kind="card",
                name=c.name,
                masked_number=mask_product("card", None, c.bin, c.last4),
                status=c.status,
                currency=c.currency,
                balance=c.balance,
                available=c.available,
                limit=c.credit_limit,
            )
        )
    for loan in position.loans:
        rows.append(
            LiveProduct(
                id=loan.id,
                kind=loan.kind,
                name=loan.name,
                masked_number=mask_product(loan.kind, None, None, loan.number_last4),
                status=loan.status,
                currency=loan.currency,
                balance=loan.outstanding,
                interest_rate=loan.interest_rate,
                next_payment=loan.monthly_payment,
                next_payment_on=loan.next_payment_on,
            )
        )
    return LiveProducts(
        customer_id=position.customer_id,
        as_of=position.as_of,
        stale=False,
        source="core",
        products=tuple(rows),
        transactions=tuple(
            LiveTransaction.model_validate(t.model_dump()) for t in position.transactions
        ),
    )


def crm_products(engine: Engine) -> Fallback:
    """The products the CRM stored for a customer (the core system's last feed), as stale rows."""

    def load(customer_id: uuid.UUID) -> LiveProducts | None:
        with read_session(engine) as s:
            rows = (
                s.execute(select(Product).where(Product.customer_id == customer_id)).scalars().all()
            )
            products = tuple(
                LiveProduct(
                    id=p.id,
                    kind=cast(ProductKind, str(p.kind)),
                    name=p.name,
                    masked_number=mask_product(str(p.kind), None, p.card_bin, p.number_last4),
                    status=p.status,
                    currency=p.currency,
                    balance=p.balance,
                )
                for p in rows
                if p.balance is not None
            )
            as_of = max((_aware(p.as_of) for p in rows), default=None)
        if not products:
            return None
        return LiveProducts(
            customer_id=customer_id, as_of=as_of, stale=True, source="crm", products=products
        )

    return load


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
