"""Orders for one signed-in agent: what a customer may order, placing it, following it.

An order is a fulfilment ticket (reason ``product_order``) that the routing rules send
to the back office, with SLA clocks from the team's policy, written through the
``order.place`` mutation so every cache and the notification intake see it. Its status
is the ticket's, read as an order's: new = placed, open or pending = in fulfilment,
resolved = fulfilled, closed without being resolved = rejected.

Here (the desktop) eligibility is decided from the cache: the birth year stands in for
the date of birth, which only the server can read; the server decides again, with the
date of birth, before it accepts the order (``gate.py``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from agentdesk.ids import uuid7
from agentdesk.models import Ticket, TicketHistory, TicketStatus, agent_team, utcnow
from agentdesk.services.desk.call_data import IvrData
from agentdesk.services.orders.catalogue import Catalogue, CatalogueProduct
from agentdesk.services.orders.eligibility import Verdict, evaluate, evaluate_all
from agentdesk.services.orders.facts import UnknownCustomer, read_facts
from agentdesk.services.orders.verification import (
    Verification,
    recorded_verification,
    verification_for,
)
from agentdesk.services.scripts.engine import IdvCheck
from agentdesk.services.tickets.plan import Routed, TicketPlanner
from agentdesk.services.tickets.sla import SlaDue
from agentdesk.services.tickets.views import OPEN_STATUSES
from agentdesk.store.engine import read_session
from agentdesk.store.mutation_args.base import rejecting
from agentdesk.store.mutation_args.orders import ORDER_REASON, OrderPlace
from agentdesk.store.mutation_args.tickets import (
    TicketChanges,
    TicketCommentAdd,
    TicketCreate,
    TicketUpdate,
)
from agentdesk.store.mutations import MutationRejected
from agentdesk.store.mutators.orders import PRODUCT_FIELD, VERIFIED_FIELD
from agentdesk.store.writer import LocalWriter


class OrderStatus(StrEnum):
    PLACED = "placed"
    IN_FULFILMENT = "in fulfilment"
    FULFILLED = "fulfilled"
    REJECTED = "rejected"


class OrderRefused(ValueError):
    """An order that cannot be placed; the message says why, for the agent."""


@dataclass(frozen=True)
class OrderRow:
    """One order as the customer's order list shows it."""

    ticket_id: uuid.UUID
    number: str
    product_code: str
    product_name: str
    status: OrderStatus
    placed_at: dt.datetime
    resolution_due: dt.datetime | None
    verification: str


_NEXT: dict[OrderStatus, tuple[OrderStatus, ...]] = {
    OrderStatus.PLACED: (OrderStatus.IN_FULFILMENT, OrderStatus.FULFILLED, OrderStatus.REJECTED),
    OrderStatus.IN_FULFILMENT: (OrderStatus.FULFILLED, OrderStatus.REJECTED),
}
_TICKET_STATUS = {
    OrderStatus.IN_FULFILMENT: TicketStatus.OPEN,
    OrderStatus.FULFILLED: TicketStatus.RESOLVED,
    OrderStatus.REJECTED: TicketStatus.CLOSED,  # closed without being resolved
}


def order_status(ticket_status: str, was_resolved: bool) -> OrderStatus:
    """The order's status from its ticket's (see the module docstring)."""
    if ticket_status == TicketStatus.NEW.value:
        return OrderStatus.PLACED
    if ticket_status == TicketStatus.RESOLVED.value:
        return OrderStatus.FULFILLED
    if ticket_status == TicketStatus.CLOSED.value:
        return OrderStatus.FULFILLED if was_resolved else OrderStatus.REJECTED
    return OrderStatus.IN_FULFILMENT


def open_order_products(session: Session, customer_id: uuid.UUID) -> dict[str, str]:
    """Product code → order number of the customer's orders still placed or in fulfilment."""
    rows = session.execute(
        select(TicketHistory.new_value, Ticket.number)
        .join(Ticket, Ticket.id == TicketHistory.ticket_id)
        .where(
            Ticket.customer_id == customer_id,
            Ticket.reason == ORDER_REASON,
            Ticket.status.in_(OPEN_STATUSES),
            Ticket.deleted_at.is_(None),
            TicketHistory.field == PRODUCT_FIELD,
        )
    ).all()
    return {code: number for code, number in rows if code}


class OrderService:
    """Order use cases against one store (a desktop's cache, or the centre in tests)."""

    def __init__(
        self,
        engine: Engine,
        writer: LocalWriter,
        planner: TicketPlanner,
        catalogue: Catalogue,
        agent_id: uuid.UUID | None = None,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        call_checks: Callable[[str], IdvCheck | None] | None = None,
    ) -> None:
        """``call_checks`` gives the agent's ID&V recorded on a call's script, by Linkedid."""
        self._call_checks = call_checks or (lambda _linkedid: None)
        self._engine = engine
        self._writer = writer
        self._planner = planner
        self._catalogue = catalogue
        self._agent_id = agent_id
        self._clock = clock

    @property
    def catalogue(self) -> Catalogue:
        return self._catalogue

    def call_check(self, linkedid: str | None) -> IdvCheck | None:
        """The agent's ID&V recorded in the script of call ``linkedid`` (None: not checked)."""
        return self._call_checks(linkedid) if linkedid else None

    def offers(self, customer_id: uuid.UUID) -> list[Verdict]:
        """Every catalogue product with the customer's eligibility and the reasons."""
        today = self._clock().date()
        with read_session(self._engine) as session:
            try:
                facts = read_facts(session, customer_id, today)
            except UnknownCustomer as exc:
                raise OrderRefused(str(exc)) from exc
        return evaluate_all(self._catalogue, facts, today)

    def place(
        self,
        customer_id: uuid.UUID,
        product_code: str,
        *,
        ivr: IvrData | None,
        agent_method: str | None = None,
        channel: str = "phone",
        note: str = "",
        script: IdvCheck | None = None,
    ) -> OrderRow:
        """Place the order; :class:`OrderRefused` (nothing written) when it cannot be.

        ``script`` is the agent's ID&V recorded in the call's script: it decides the
        verification when the IVR did not verify the caller (``verification.py``).
        """
        args = self.plan(
            customer_id,
            product_code,
            ivr=ivr,
            agent_method=agent_method,
            channel=channel,
            note=note,
            script=script,
        )
        try:
            self._writer.write("order.place", args)
        except MutationRejected as exc:
            raise OrderRefused(str(exc)) from exc
        return self._row(args.ticket.id)

    def plan(
        self,
        customer_id: uuid.UUID,
        product_code: str,
        *,
        ivr: IvrData | None,
        agent_method: str | None = None,
        channel: str = "phone",
        note: str = "",
        script: IdvCheck | None = None,
    ) -> OrderPlace:
        """Every check, routing and the SLA clocks: the ``order.place`` arguments to write."""
        try:
            product = self._catalogue.get(product_code)
            verification = verification_for(ivr, agent_method, script)
        except (ValueError, PermissionError) as exc:
            raise OrderRefused(str(exc)) from exc
        now = self._clock()
        with read_session(self._engine) as session:
            try:
                facts = read_facts(session, customer_id, now.date())
            except UnknownCustomer as exc:
                raise OrderRefused(str(exc)) from exc
            verdict = evaluate(product, facts, now.date())
            if not verdict.eligible:
                raise OrderRefused(f"{product.name}: {verdict.describe().lower()}")
            pending = open_order_products(session, customer_id).get(product.code)
            if pending is not None:
                raise OrderRefused(
                    f"{product.name} is already on order for this customer ({pending})"
                )
            routed = self._planner.route_new(
                session,
                reason=ORDER_REASON,
                customer_id=customer_id,
                product=product.kind.value,
                channel=channel,
                team_id=None,
                priority=None,
            )
        clocks = self._planner.new_clocks(routed.team, routed.priority, now)
        return self._args(product, verification, customer_id, routed, clocks, note)

    def _args(
        self,
        product: CatalogueProduct,
        verification: Verification,
        customer_id: uuid.UUID,
        routed: Routed,
        clocks: SlaDue,
        note: str,
    ) -> OrderPlace:
        description = f"Order for {product.name} ({product.code}). {verification.describe()}."
        if note.strip():
            description += "\n\n" + note.strip()
        try:
            with rejecting("order.place"):
                return OrderPlace(
                    ticket=TicketCreate(
                        id=uuid7(),
                        reason=ORDER_REASON,
                        title=product.name,
                        description=description,
                        customer_id=customer_id,
                        priority=routed.priority,
                        team_id=routed.team_id,
                        created_by=self._agent_id,
                        status=TicketStatus.NEW,
                        routed_by=routed.routed_by,
                        assign=routed.assign,
                        first_response_due=clocks.first_response_due,
                        resolution_due=clocks.resolution_due,
                    ),
                    product_code=product.code,
                    verified_by=verification.source,
                    verification_method=verification.method,
                )
        except MutationRejected as exc:
            raise OrderRefused(str(exc)) from exc

    def can_work(self, order: OrderRow) -> bool:
        """True when the signed-in agent is in the team the order was routed to (the back
        office): only they move an order along. The centre's ticket checks apply as well."""
        with read_session(self._engine) as session:
            team_id = session.scalar(select(Ticket.team_id).where(Ticket.id == order.ticket_id))
            if team_id is None or self._agent_id is None:
                return False
            member = session.execute(
                select(agent_team.c.agent_id).where(
                    agent_team.c.agent_id == self._agent_id, agent_team.c.team_id == team_id
                )
            ).first()
        return member is not None

    def advance(self, order: OrderRow, to: OrderStatus, reason: str = "") -> OrderRow:
        """Move ``order`` to ``to`` (in fulfilment, fulfilled, or rejected with a reason)."""
        if not self.can_work(order):
            raise OrderRefused("only the team the order was routed to can move it along")
        allowed = _NEXT.get(order.status, ())
        if to not in allowed:
            raise OrderRefused(f"an order that is {order.status.value} cannot become {to.value}")
        if to is OrderStatus.REJECTED and len(reason.strip()) < 5:
            raise OrderRefused("say why the order is rejected (at least 5 characters)")
        now = self._clock()
        done = to is not OrderStatus.IN_FULFILMENT
        try:
            with rejecting("ticket.update"):
                changes = (
                    TicketChanges(status=_TICKET_STATUS[to], sla_paused_at=now)  # clocks stop
                    if done
                    else TicketChanges(status=_TICKET_STATUS[to])
                )
                update = TicketUpdate(id=order.ticket_id, changes=changes)
            self._writer.write("ticket.update", update)
            if reason.strip():
                with rejecting("ticket.comment"):
                    comment = TicketCommentAdd(
                        id=uuid7(),
                        ticket_id=order.ticket_id,
                        body=f"Order {to.value}: {reason.strip()}",
                        author_id=self._agent_id,
                    )
                self._writer.write("ticket.comment", comment)
        except MutationRejected as exc:
            raise OrderRefused(str(exc)) from exc
        return self._row(order.ticket_id)

    def orders(self, customer_id: uuid.UUID) -> list[OrderRow]:
        """The customer's orders, newest first."""
        with read_session(self._engine) as session:
            ids = session.scalars(
                select(Ticket.id)
                .where(
                    Ticket.customer_id == customer_id,
                    Ticket.reason == ORDER_REASON,
                    Ticket.deleted_at.is_(None),
                )
                .order_by(Ticket.created_at.desc())
            ).all()
        return [self._row(ticket_id) for ticket_id in ids]

    def _row(self, ticket_id: uuid.UUID) -> OrderRow:
        with read_session(self._engine) as session:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None:
                raise OrderRefused("this order is not on file")
            history = session.execute(
                select(TicketHistory.field, TicketHistory.new_value).where(
                    TicketHistory.ticket_id == ticket_id,
                    TicketHistory.field.in_((PRODUCT_FIELD, VERIFIED_FIELD, "status")),
                )
            ).all()
            facts = {field: value for field, value in history if field != "status"}
            resolved = any(f == "status" and v == TicketStatus.RESOLVED.value for f, v in history)
            code = facts.get(PRODUCT_FIELD) or ""
            name = next((p.name for p in self._catalogue.products if p.code == code), ticket.title)
            return OrderRow(
                ticket_id=ticket.id,
                number=ticket.number,
                product_code=code,
                product_name=name,
                status=order_status(ticket.status.value, resolved),
                placed_at=ticket.created_at,
                resolution_due=ticket.resolution_due,
                verification=recorded_verification(facts.get(VERIFIED_FIELD)),
            )
