"""Desktops sync only through the server: push as the session's agent, pull filtered by scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import func, select, update

from agentdesk.client.api import ServerApi, ServerRefused, SessionEnded
from agentdesk.ids import uuid7
from agentdesk.models import Agent, AuditEntry, ChangeLog, Customer, Interaction, Role, Ticket
from agentdesk.store.engine import read_session, write_session
from tests.server.conftest import PASSWORD, Desktop, RunningServer
from tests.sync.factories import REF, person, ticket


def _ids(engine: object, model: type) -> set[object]:
    with read_session(engine) as s:  # type: ignore[arg-type]
        return set(s.scalars(select(model.id)))  # type: ignore[attr-defined]


def test_a_write_reaches_a_colleague_and_is_applied_as_the_session_agent(
    server: RunningServer, desktop: Callable[..., Desktop]
) -> None:
    bob, bob2 = desktop("bob"), desktop("bob")
    customer = person()
    bob.writer.write("customer.create", customer)
    case = ticket(customer_id=str(customer["id"]), team_id=str(REF.team_a))
    bob.writer.write("ticket.create", case)
    bob.syncer.cycle()
    bob2.syncer.cycle()
    assert customer["id"] in _ids(bob2.engine, Customer)
    assert case["id"] in _ids(bob2.engine, Ticket)
    with read_session(server.engine) as s:
        row = s.get(Ticket, case["id"])
        assert row is not None


def test_an_agents_pull_never_returns_out_of_scope_rows(
    server: RunningServer, desktop: Callable[..., Desktop]
) -> None:
    alice, bob = desktop("alice"), desktop("bob")
    secret = person()
    alice.writer.write("customer.create", secret)
    case = ticket(customer_id=str(secret["id"]), team_id=str(REF.team_b))
    alice.writer.write("ticket.create", case)
    alice.syncer.cycle()
    with read_session(server.engine) as s:
        assert s.scalar(select(ChangeLog.seq).where(ChangeLog.entity_id == secret["id"]))
    # Bob (team A) asks the server directly for everything after the start of the feed.
    page = bob.central.pull(bob.syncer.client_id, bob.syncer.cursor.__class__(0, 0), 2000)
    assert all(r.entity_id not in (secret["id"], case["id"]) for r in page.rows)
    assert not any(r.entity_type == "audit_entry" for r in page.rows)
    bob.syncer.cycle()
    assert secret["id"] not in _ids(bob.engine, Customer)
    # and he cannot fetch it by id either
    with pytest.raises(ServerRefused) as refused:
        bob.central.closure(bob.syncer.client_id, [secret["id"]], [])
    assert refused.value.status == 403


def test_the_actor_is_the_session_never_a_client_field(
    server: RunningServer, desktop: Callable[..., Desktop]
) -> None:
    bob = desktop("bob")
    entry = uuid7()
    bob.writer.write(
        "audit.add",
        {
            "id": str(entry),
            "actor": "carol",
            "action": "customer.reveal",
            "at": "2020-01-01T00:00:00+00:00",
        },
    )
    forged = uuid7()
    bob.writer.write(
        "interaction.add",
        {
            "id": str(forged),
            "channel": "phone",
            "direction": "inbound",
            "started_at": "2026-12-01T10:00:00+00:00",
            "agent_id": str(REF.alice),
        },
    )
    bob.syncer.cycle()
    with read_session(server.engine) as s:
        audit = s.get(AuditEntry, entry)
        assert audit is not None and audit.actor == "bob" and audit.at.year != 2020
        assert s.get(Interaction, forged) is None
    rejected = bob.syncer.local.rejected()
    assert [r.mutation_id for r in rejected] and "own name" in (rejected[0].error or "")


def test_wrong_expired_and_missing_tokens_get_problem_json(server: RunningServer) -> None:
    api = ServerApi(server.url)
    with pytest.raises(SessionEnded):
        api.request("GET", "/sync/identity")
    api.token = "not-a-token"
    with pytest.raises(SessionEnded):
        api.request("GET", "/sync/identity")
    api.sign_in("bob", PASSWORD, "ws")
    api.sign_out()
    response = httpx.get(
        server.url + "/api/v1/sync/identity", headers={"Authorization": "Bearer x"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"]
    bad = httpx.post(
        server.url + "/api/v1/session",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert bad.status_code == 400 and "problem+json" in bad.headers["content-type"]
    big = httpx.post(
        server.url + "/api/v1/session",
        content=b"x" * (9 * 1024 * 1024),
        headers={"content-type": "application/json"},
    )
    assert big.status_code == 413
    api.close()


def test_health_and_ready(server: RunningServer) -> None:
    assert httpx.get(server.url + "/health").json() == {"status": "ok"}
    ready = httpx.get(server.url + "/ready")
    assert ready.status_code == 200, ready.text


def test_a_caller_is_matched_at_the_server_and_the_customer_becomes_reachable(
    server: RunningServer, desktop: Callable[..., Desktop]
) -> None:
    from agentdesk.client.lookups import ServerMatcher, ServerSearch
    from agentdesk.services.crm.caller_match import MatchKind
    from tests.ui.data import add_customer

    bob = desktop("bob")
    cid = add_customer(server.engine, "Olga Nowak", "+447700900131", open_tickets=0)
    matcher = ServerMatcher(bob.api, lambda: bob.syncer.client_id)
    match = matcher.match("07700 900131")
    assert match.kind is MatchKind.SINGLE and match.customer_id == cid
    assert match.card is not None and match.card.summary.display_name == "Olga Nowak"
    assert matcher.card(cid) is not None
    # Handed out by the match, the customer can now enter this desktop's cache.
    assert bob.syncer.cache_customers([cid]) == 1
    assert cid in _ids(bob.engine, Customer)
    hits = ServerSearch(bob.api, lambda: bob.syncer.client_id).search("Olga")
    assert [h.id for h in hits.hits if h.kind == "customer"] == [cid]


def test_an_agent_token_on_every_supervisor_endpoint_is_refused(
    server: RunningServer, desktop: Callable[..., Desktop]
) -> None:
    """Every route under /supervisor answers 403 to an agent, whatever it asks for."""
    bob = desktop("bob", fill=False)
    paths = {
        path: methods
        for path, methods in server.thread_app.openapi()["paths"].items()
        if path.startswith("/api/v1/supervisor")
    }
    assert len(paths) >= 4
    for template, methods in paths.items():
        for method in methods:
            path = template.replace("{agent_id}", str(REF.alice))
            response = httpx.request(
                method.upper(),
                server.url + path,
                params={"day": "2026-12-01"},
                headers={"Authorization": f"Bearer {bob.api.token}"},
            )
            assert response.status_code == 403, (method, path, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")


def test_a_supervisor_reads_the_floor_and_revokes_an_agents_sessions(
    server: RunningServer, desktop: Callable[..., Desktop]
) -> None:
    from agentdesk.client.lookups import ServerFloorReads

    with write_session(server.engine) as s:
        s.execute(update(Agent).where(Agent.login == "alice").values(role=Role.SUPERVISOR))
    alice, bob = desktop("alice", fill=False), desktop("bob", fill=False)
    floor = ServerFloorReads(alice.api)
    assert floor.breached(dt.datetime.now(dt.UTC)).count == 0
    assert floor.pop_latency(dt.date(2026, 12, 1), dt.UTC) == ()
    revoked = alice.api.request("POST", f"/supervisor/agents/{REF.bob}/revoke-sessions")
    assert revoked["revoked"] >= 1
    with pytest.raises(SessionEnded):
        bob.central.identity()


def test_the_api_page_is_served_without_any_outside_host(server: RunningServer) -> None:
    page = httpx.get(server.url + "/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert "://" not in page.text.replace(server.url, "")  # no CDN: a bank's LAN has none
    assert httpx.get(server.url + "/docs-assets/swagger-ui-bundle.js").status_code == 200
    paths = httpx.get(server.url + "/openapi.json").json()["paths"]
    assert "/api/v1/sync/push" in paths and "/api/v1/session" in paths


def test_a_replayed_push_changes_nothing_and_another_agents_cache_id_is_refused(
    server: RunningServer, desktop: Callable[..., Desktop]
) -> None:
    from agentdesk.store.sync.protocol import PushEntry

    bob = desktop("bob")
    customer = person()
    entry = PushEntry(1, uuid7(), "customer.create", {k: _json(v) for k, v in customer.items()})
    first = bob.central.apply_batch(bob.syncer.client_id, [entry], frozenset())
    again = bob.central.apply_batch(bob.syncer.client_id, [entry], frozenset())
    assert [r.state for r in first.results] == ["applied"]
    assert [r.state for r in again.results] == ["duplicate"]
    with read_session(server.engine) as s:
        assert s.scalar(select(func.count()).where(Customer.id == customer["id"])) == 1
    alice = desktop("alice", fill=False)
    with pytest.raises(ServerRefused) as refused:
        alice.central.apply_batch(bob.syncer.client_id, [entry], frozenset())
    assert refused.value.status == 403 and "another agent" in str(refused.value)


def _json(value: object) -> object:
    return str(value) if not isinstance(value, str | int | float | bool | list | dict) else value
