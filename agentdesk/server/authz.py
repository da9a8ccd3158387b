"""Authorisation of pushed mutations: role, ownership and need-to-know, on the server.

The desktop's own checks are courtesy; these are the ones that count. Each
pushed entry is checked inside the transaction that would apply it, and a
refusal is recorded as that entry's verdict (so it is never retried and
never blocks the desktop's queue). Customers a desktop creates become its
pins in the same transaction, so their later changes reach it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from agentdesk.models import Reminder, SyncPin, Ticket, TicketAlert, utcnow
from agentdesk.server.auth import Principal
from agentdesk.server.pins import PinBook
from agentdesk.services.orders.gate import check_order, shipped_catalogue
from agentdesk.store.field_crypto import FieldCipher
from agentdesk.store.mutations import MutationRejected
from agentdesk.store.sync.protocol import PushEntry

# Which roles may send each mutation (absent: nobody).
_SUPERVISORS = frozenset({"supervisor", "admin"})
_EVERYONE = frozenset({"agent", "supervisor", "admin", "editor"})
_EDITORS = frozenset({"editor", "admin"})  # write and publish knowledge articles
ROLES: dict[str, frozenset[str]] = {
    "customer.create": _EVERYONE,
    "customer.patch": _EVERYONE,
    "customer.add_phone": _EVERYONE,
    "customer.add_email": _EVERYONE,
    "customer.add_address": _EVERYONE,
    "customer.delete": _SUPERVISORS,
    "interaction.add": _EVERYONE,
    "ticket.create": _EVERYONE,
    "ticket.update": _EVERYONE,
    "ticket.reopen": _EVERYONE,
    "ticket.comment": _EVERYONE,
    "audit.add": _EVERYONE,
    "reminder.set": _EVERYONE,
    "reminder.close": _EVERYONE,
    "ticket_alert.read": _EVERYONE,
    "order.place": _EVERYONE,
    "knowledge.publish": _EDITORS,
    "knowledge.review": _EDITORS,
    "knowledge.retire": _EDITORS,
}

_PIN = cast(Table, SyncPin.__table__)
# (connection, customer id, caller ID as given) -> the number is one of that customer's
CallerOwner = Callable[[Connection, uuid.UUID, str], bool]


def _uuid(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None  # the mutator itself refuses a malformed id with the field named


class MutationAuthorizer:
    """Checks one desktop's pushed entries against its principal."""

    def __init__(
        self,
        principal: Principal,
        client_id: uuid.UUID,
        *,
        postgres: bool,
        pins: PinBook | None = None,
        field_cipher: FieldCipher | None = None,
        caller_owner: CallerOwner | None = None,
    ) -> None:
        self.principal = principal
        self._caller_owner = caller_owner  # CallerMatcher.owns: is a number the customer's
        self._cipher = field_cipher  # orders: the age from the date of birth
        self.client_id = client_id
        self._pins = pins
        self._insert = postgresql.insert if postgres else sqlite.insert

    def __call__(self, session: Session, entry: PushEntry) -> None:
        role = self.principal.role.value
        if role not in ROLES.get(entry.name, frozenset()):
            raise MutationRejected(f"the {role} role may not perform {entry.name}")
        args = entry.args
        if entry.name == "customer.create":
            new_id = _uuid(args.get("id"))
            if new_id is not None:
                self._pin(session, new_id)
            return
        if entry.name.startswith("customer."):
            self._require_customer(session, _uuid(args.get("id") or args.get("customer_id")))
        elif entry.name == "interaction.add":
            agent = _uuid(args.get("agent_id"))
            if agent is not None and agent != self.principal.agent_id:
                raise MutationRejected("an interaction is filed in your own name only", "agent_id")
            customer = _uuid(args.get("customer_id"))
            if not self._called_by(session, customer, args):
                self._require_customer(session, customer, optional=True)
            self._require_ticket(session, _uuid(args.get("ticket_id")), optional=True)
        elif entry.name == "ticket.create":
            self._require_customer(session, _uuid(args.get("customer_id")), optional=True)
        elif entry.name == "order.place":
            ticket = args.get("ticket")
            ticket = ticket if isinstance(ticket, dict) else {}
            self._require_customer(session, _uuid(ticket.get("customer_id")))
            check_order(
                session,
                args,
                catalogue=shipped_catalogue(),
                cipher=self._cipher,
                today=utcnow().date(),
            )
        elif entry.name in ("ticket.update", "ticket.reopen"):
            self._require_ticket(session, _uuid(args.get("id")))
        elif entry.name == "ticket.comment":
            self._require_ticket(session, _uuid(args.get("ticket_id")))
        elif entry.name == "reminder.set":
            self._require_own(_uuid(args.get("agent_id")))
            self._require_ticket(session, _uuid(args.get("ticket_id")), optional=True)
            self._require_customer(session, _uuid(args.get("customer_id")), optional=True)
        elif entry.name == "reminder.close":
            reminder_id = _uuid(args.get("id"))
            row = None if reminder_id is None else session.get(Reminder, reminder_id)
            if row is not None:
                self._require_own(row.agent_id)
        elif entry.name == "ticket_alert.read":
            alert_id = _uuid(args.get("id"))
            alert = None if alert_id is None else session.get(TicketAlert, alert_id)
            if alert is not None and alert.recipient_id != self.principal.agent_id:
                raise MutationRejected("an alert is marked read by its recipient only", "id")

    def _called_by(
        self, session: Session, customer: uuid.UUID | None, args: dict[str, Any]
    ) -> bool:
        """A call's wrap-up for a customer whose number the call came from: that customer is
        the one the pop match handed this desktop, so it is pinned now and the wrap-up
        accepted. The match's own pin write can be lost (the instance that sent the offer
        was killed before it landed: the 2,000-desktop run lost 6 wrap-ups so). No wider
        than the match and search endpoints, which pin whoever owns a number they are given.
        """
        if customer is None or self._caller_owner is None or self.principal.full_replica:
            return False
        call = args.get("call")
        call = call if isinstance(call, dict) else {}
        if not (args.get("linkedid") or call.get("linkedid") or call.get("uniqueid")):
            return False  # not a call
        number = args.get("caller_id") or call.get("caller_e164")
        if not isinstance(number, str) or self._pinned(session, customer):
            return False
        if not self._caller_owner(session.connection(), customer, number):
            return False
        self._pin(session, customer)
        return True

    def _require_own(self, agent_id: uuid.UUID | None) -> None:
        """Reminders are an agent's own; supervisors may set and close them for their agents."""
        if agent_id is None or self.principal.role.value in _SUPERVISORS:
            return
        if agent_id != self.principal.agent_id:
            raise MutationRejected("a reminder is set and closed by its own agent only", "agent_id")

    # --- need-to-know ----------------------------------------------------------------------

    def _pin(self, session: Session, customer_id: uuid.UUID) -> None:
        session.execute(
            self._insert(_PIN)
            .values(client_id=self.client_id, customer_id=customer_id)
            .on_conflict_do_nothing()
        )
        if self._pins is not None:
            # Before the commit (and its NOTIFY): a later change to this customer finds the
            # pin in memory. A batch rolled back leaves a stray pin: one needless poke at most.
            self._pins.add(self.client_id, {customer_id})

    def _pinned(self, session: Session, customer_id: uuid.UUID) -> bool:
        found = session.execute(
            select(_PIN.c.customer_id).where(
                _PIN.c.client_id == self.client_id, _PIN.c.customer_id == customer_id
            )
        ).first()
        return found is not None

    def _require_customer(
        self, session: Session, customer_id: uuid.UUID | None, *, optional: bool = False
    ) -> None:
        if customer_id is None or self.principal.full_replica:
            return  # a missing id is the mutator's to refuse, with the field named
        if not self._pinned(session, customer_id):
            if self._pins is not None and self._pins.promised(self.client_id, customer_id):
                self._pin(session, customer_id)  # a pop match whose own pin write is late
                return
            raise MutationRejected(
                "this customer was never opened on this desktop; open the customer first",
                "customer_id",
            )

    def _require_ticket(
        self, session: Session, ticket_id: uuid.UUID | None, *, optional: bool = False
    ) -> None:
        if ticket_id is None or self.principal.full_replica:
            return
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            return  # created earlier in this batch or unknown: the mutator decides
        if (
            ticket.team_id in self.principal.team_ids
            or ticket.assignee_id == self.principal.agent_id
            or (ticket.customer_id is not None and self._pinned(session, ticket.customer_id))
        ):
            return
        raise MutationRejected("this ticket is neither your team's nor yours", "ticket_id")
