"""A push the server committed but whose reply never arrived (the server died after the commit,
the connection dropped) is sent again and applied once: the retry gets the stored verdicts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from agentdesk.client.api import ServerUnavailable
from agentdesk.ids import uuid7
from agentdesk.models import AppliedMutation, ChangeLog, Interaction
from agentdesk.store.engine import read_session
from tests.server.conftest import Desktop, RunningServer
from tests.sync.factories import person


def test_a_push_whose_reply_was_lost_is_applied_once(
    server: RunningServer, desktop: Callable[..., Desktop], monkeypatch: pytest.MonkeyPatch
) -> None:
    bob = desktop("bob")
    customer = person()
    bob.writer.write("customer.create", customer)
    call = {"id": uuid7(), "customer_id": customer["id"], "channel": "phone"}
    bob.writer.write(
        "interaction.add",
        {
            **call,
            "direction": "inbound",
            "started_at": "2026-12-03T10:00:00+00:00",
            "agent_id": str(bob.syncer.scope.agent_id),
        },
    )
    send = bob.api._http.request
    lost: list[int] = []

    def reply_lost(method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = send(method, path, **kwargs)  # the server applied and committed it
        if path == "/sync/push" and not lost:
            lost.append(response.status_code)
            raise httpx.ReadError("connection reset by peer")
        return response

    monkeypatch.setattr(bob.api._http, "request", reply_lost)
    with pytest.raises(ServerUnavailable):
        bob.syncer.push_all()
    assert lost == [200]
    assert bob.syncer.local.outbox_counts()[0] == 2  # not acknowledged: still pending
    bob.syncer.cycle()  # the same batch again
    assert bob.syncer.local.outbox_counts()[0] == 0
    with read_session(server.engine) as s:
        assert s.scalar(select(func.count()).select_from(Interaction)) == 1
        assert (
            s.scalar(
                select(func.count())
                .select_from(AppliedMutation)
                .where(AppliedMutation.client_id == bob.syncer.client_id)
            )
            == 2
        )
        doubled = s.execute(
            select(ChangeLog.mutation_id, ChangeLog.entity_id)
            .where(ChangeLog.mutation_id.is_not(None))
            .group_by(ChangeLog.mutation_id, ChangeLog.entity_type, ChangeLog.entity_id)
            .having(func.count() > 1)
        ).all()
    assert not doubled
    assert not bob.syncer.local.rejected()
