"""Customer look-ups the desktop cannot answer from its cache: pop match, search, card, reveal.

Every customer the server hands out here becomes a pin of the asking
desktop (so its later changes reach that desktop's cache) and nothing
else does: a card or a reveal for a customer this desktop was never handed
is refused.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import TypeAdapter

from agentdesk.server.api.schemas import MatchIn, RevealIn, RevealOut, SearchIn
from agentdesk.server.auth import CurrentPrincipal, Principal
from agentdesk.server.context import ClientId, Ctx, ServerContext
from agentdesk.server.problems import Problem, forbidden
from agentdesk.services.crm.caller_match import CallerMatch, CustomerCard
from agentdesk.services.crm.search import SearchResults
from agentdesk.services.platform.reveal import RevealRateLimited, RevealRefused, reveal
from agentdesk.store.sync.port import DirectCentral

router = APIRouter(prefix="/customers", tags=["customers"])

MATCH = TypeAdapter(CallerMatch)
SEARCH = TypeAdapter(SearchResults)
CARD = TypeAdapter(CustomerCard)


def _pins(ctx: ServerContext, principal: Principal) -> DirectCentral:
    return DirectCentral(
        ctx.store, principal.scope, principal.login, filter_pull=True, on_pin=ctx.pins.add
    )


def _require_pinned(
    ctx: ServerContext, principal: Principal, client_id: uuid.UUID, customer_id: uuid.UUID
) -> None:
    if principal.full_replica:
        return
    if ctx.pins.promised(client_id, customer_id):
        return  # a pop match whose pin is still being written (``api/cti._pin``)
    if customer_id not in _pins(ctx, principal).pinned(client_id, [customer_id]):
        raise forbidden("This customer was never found on this desktop (search or pop first).")


@router.post("/match")
def match(body: MatchIn, client_id: ClientId, principal: CurrentPrincipal, ctx: Ctx) -> Any:
    """Customers owning a caller's number (one with its card, several as a chooser, or none).

    A POST so the number never sits in a URL (proxies and access logs keep URLs).
    """
    result = ctx.matcher.match(body.number)
    ids = {c.id for c in result.candidates}
    _pins(ctx, principal).pin(client_id, ids)
    return MATCH.dump_python(result, mode="json")


@router.post("/search")
def search(body: SearchIn, client_id: ClientId, principal: CurrentPrincipal, ctx: Ctx) -> Any:
    """Customers by name, phone in any format, e-mail or account digits; tickets by number.

    A POST so what the agent typed never sits in a URL.
    """
    results = ctx.search.search(body.q)
    ids = {h.customer_id or h.id for h in results.hits if h.kind == "customer"}
    ids |= {h.customer_id for h in results.hits if h.kind == "ticket" and h.customer_id}
    _pins(ctx, principal).pin(client_id, ids)
    return SEARCH.dump_python(results, mode="json")


@router.get("/{customer_id}/card")
def card(
    customer_id: uuid.UUID,
    client_id: ClientId,
    principal: CurrentPrincipal,
    ctx: Ctx,
) -> Any:
    """The pop card of a customer this desktop was handed."""
    _require_pinned(ctx, principal, client_id, customer_id)
    found = ctx.matcher.card(customer_id)
    if found is None:
        raise Problem(404, "not-found", "No such customer", "The customer no longer exists.")
    return CARD.dump_python(found, mode="json")


@router.post("/{customer_id}/reveal", response_model=RevealOut)
def reveal_field(
    customer_id: uuid.UUID,
    body: RevealIn,
    client_id: ClientId,
    principal: CurrentPrincipal,
    ctx: Ctx,
) -> RevealOut:
    """One protected value for display only, audited in the same transaction, rate-limited."""
    _require_pinned(ctx, principal, client_id, customer_id)
    if ctx.cipher is None:
        raise Problem(
            503,
            "no-field-key",
            "Protected fields cannot be revealed",
            "The server was started without the field-encryption key.",
        )
    try:
        value = reveal(
            ctx.engine,
            ctx.cipher,
            actor_login=principal.login,
            actor_role=principal.role.value,
            customer_id=customer_id,
            field="identity_number" if body.target == "document" else body.target,
            document_id=body.target_id if body.target == "document" else None,
            reason_code=body.reason,
            note=body.note,
            workstation=principal.workstation,
            policy=ctx.reveal_policy,
        )
    except RevealRateLimited as exc:
        raise Problem(429, "reveal-rate", "Too many reveals", str(exc)) from exc
    except RevealRefused as exc:
        raise Problem(403, f"reveal-{exc.code}", "Reveal refused", str(exc)) from exc
    return RevealOut(value=value.value, audit_id=value.audit_id, field=value.field)
