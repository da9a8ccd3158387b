"""Model-based proof: random push/pull/duplicate/drop/crash interleavings of two desktops.

After quiescence every interleaving must show: no acknowledged write lost,
no mutation applied twice, every desktop converged with the centre over its
working set, cursors that never went backwards, and no tombstone resurrected.
Profiles: ``AGENTDESK_SYNC_PROFILE=soak`` runs many more examples.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from agentdesk.ids import uuid7
from agentdesk.models import AppliedMutation, ChangeLog, Customer, OutboxEntry, OutboxState
from agentdesk.store import migrate
from agentdesk.store.engine import central_engine, read_session, sqlite_engine
from agentdesk.store.mutations import MutationRejected
from agentdesk.store.sync import CentralStore, Cursor, ResyncRequired, Syncer, SyncScope
from agentdesk.store.sync.local import LocalStore
from agentdesk.store.sync.verify import compare, explain
from agentdesk.store.writer import LocalWriter
from tests.support.pgserver import PostgresServer
from tests.sync.conftest import make_cache
from tests.sync.factories import REF, person, seed_reference, ticket
from tests.ui_workspace.builders import FIELD_KEYRING

settings.register_profile(
    "sync-ci",
    max_examples=12,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "sync-soak",
    max_examples=300,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile(f"sync-{os.environ.get('AGENTDESK_SYNC_PROFILE', 'ci')}")
SCOPES = (
    SyncScope(full_replica=True),
    SyncScope(team_ids=frozenset({REF.team_a}), agent_id=REF.bob),
)
STATUSES = ("new", "open", "pending", "resolved", "closed")
CUSTOMER_FIELDS = {
    "family_name": st.sampled_from(["Byron", "King", "Lovelace"]),
    "given_name": st.sampled_from(["Ada", "Augusta"]),
    "segment": st.sampled_from(["retail", "premier"]),
    "vulnerable": st.booleans(),
    "date_of_birth": st.sampled_from(["1985-12-10", "1986-01-01"]),
}


class CentralFactory:
    """A fresh, migrated, seeded central store per example (file copy or TRUNCATE)."""

    def __init__(self, tmp: Path, pg_url: str | None) -> None:
        self.tmp = tmp
        self.count = 0
        self.pg: Engine | None = None
        if pg_url is not None:
            self.pg = central_engine(pg_url)
            migrate.upgrade(self.pg)
            with self.pg.connect() as conn:
                self.tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
        else:
            template = sqlite_engine(tmp / "template.db")
            migrate.upgrade(template)
            template.dispose()
            self.template = (tmp / "template.db").read_bytes()

    def fresh(self) -> Engine:
        self.count += 1
        if self.pg is not None:
            with self.pg.begin() as conn:
                conn.execute(text(f"TRUNCATE {', '.join(self.tables)} RESTART IDENTITY CASCADE"))
            engine = self.pg
        else:
            path = self.tmp / f"central-{self.count}.db"
            path.write_bytes(self.template)
            engine = sqlite_engine(path)
        seed_reference(engine)
        return engine


class SyncModel(RuleBasedStateMachine):
    """Two desktops (a full replica and a team-scoped one) and one centre."""

    factory: CentralFactory

    def __init__(self) -> None:
        super().__init__()
        self.central_engine = self.factory.fresh()
        self.central = CentralStore(self.central_engine, FIELD_KEYRING)
        n = self.factory.count
        self.paths = [self.factory.tmp / f"desk{n}-{i}.db" for i in range(2)]
        self.engines = [make_cache(p) for p in self.paths]
        self.syncers = [self._syncer(i) for i in range(2)]
        for s in self.syncers:
            s.ensure_filled()
        self.customers: list[uuid.UUID] = []
        self.tickets: list[uuid.UUID] = []
        self.written: list[tuple[uuid.UUID, int, uuid.UUID]] = []  # (client, seq, mutation)
        self.cursors = [s.cursor for s in self.syncers]
        self.tombstoned: set[uuid.UUID] = set()

    def _syncer(self, i: int) -> Syncer:
        return Syncer(LocalStore(self.engines[i]), self.central, SCOPES[i], ("alice", "bob")[i])

    def _write(self, i: int, name: str, args: dict[str, Any]) -> bool:
        try:
            result = LocalWriter(self.engines[i], ("alice", "bob")[i]).write(name, args)
        except (MutationRejected, IntegrityError):  # e.g. a customer this desk has never seen
            return False
        self.written.append((self.syncers[i].client_id, result.client_seq, result.mutation_id))
        return True

    # --- writes -----------------------------------------------------------------------------

    @rule(i=st.integers(0, 1))
    def create_customer(self, i: int) -> None:
        args = person()
        if self._write(i, "customer.create", args):
            self.customers.append(args["id"])

    @precondition(lambda self: self.customers)
    @rule(i=st.integers(0, 1), pick=st.integers(0, 99), data=st.data())
    def patch_customer(self, i: int, pick: int, data: st.DataObject) -> None:
        fields = data.draw(
            st.lists(st.sampled_from(sorted(CUSTOMER_FIELDS)), min_size=1, max_size=2, unique=True)
        )
        changes = {f: data.draw(CUSTOMER_FIELDS[f]) for f in fields}
        self._write(
            i,
            "customer.patch",
            {"id": self.customers[pick % len(self.customers)], "changes": changes},
        )

    @precondition(lambda self: self.customers)
    @rule(i=st.integers(0, 1), pick=st.integers(0, 99))
    def delete_customer(self, i: int, pick: int) -> None:
        self._write(i, "customer.delete", {"id": self.customers[pick % len(self.customers)]})

    @rule(i=st.integers(0, 1), pick=st.integers(0, 99), team=st.booleans())
    def create_ticket(self, i: int, pick: int, team: bool) -> None:
        customer = self.customers[pick % len(self.customers)] if self.customers else None
        args = ticket(customer_id=customer, team_id=REF.team_a if team else REF.team_b)
        if self._write(i, "ticket.create", args):
            self.tickets.append(args["id"])

    @precondition(lambda self: self.tickets)
    @rule(
        i=st.integers(0, 1),
        pick=st.integers(0, 99),
        status=st.sampled_from(STATUSES),
        priority=st.sampled_from(["low", "high", "urgent"]),
        team=st.booleans(),
    )
    def update_ticket(self, i: int, pick: int, status: str, priority: str, team: bool) -> None:
        changes = {
            "status": status,
            "priority": priority,
            "team_id": REF.team_a if team else REF.team_b,
        }
        self._write(
            i, "ticket.update", {"id": self.tickets[pick % len(self.tickets)], "changes": changes}
        )

    @precondition(lambda self: self.tickets)
    @rule(i=st.integers(0, 1), pick=st.integers(0, 99), comment=st.booleans())
    def reopen_or_comment(self, i: int, pick: int, comment: bool) -> None:
        tid = self.tickets[pick % len(self.tickets)]
        if comment:
            self._write(i, "ticket.comment", {"id": uuid7(), "ticket_id": tid, "body": "note ✓"})
        else:
            self._write(i, "ticket.reopen", {"id": tid})

    @precondition(lambda self: self.customers)
    @rule(i=st.integers(0, 1), pick=st.integers(0, 99))
    def add_interaction(self, i: int, pick: int) -> None:
        self._write(
            i,
            "interaction.add",
            {
                "id": uuid7(),
                "customer_id": self.customers[pick % len(self.customers)],
                "channel": "phone",
                "direction": "inbound",
                "started_at": dt.datetime.now(dt.UTC),
                "agent_id": REF.bob,
            },
        )

    # --- network and faults -----------------------------------------------------------------

    @rule(i=st.integers(0, 1))
    def push(self, i: int) -> None:
        self.syncers[i].push_once()

    @rule(i=st.integers(0, 1))
    def push_ack_lost(self, i: int) -> None:
        """The centre applies the batch but the reply never arrives: a retry must be a no-op."""
        batch = self.syncers[i].local.pending_batch(self.syncers[i].settings.push_batch)
        if batch:
            self.central.apply_batch(self.syncers[i].client_id, ("alice", "bob")[i], batch)

    @rule(i=st.integers(0, 1))
    def pull(self, i: int) -> None:
        self.syncers[i].refresh()
        self.syncers[i].pull_all()

    @rule(i=st.integers(0, 1))
    def pull_response_lost(self, i: int) -> None:
        with contextlib.suppress(ResyncRequired):
            self.central.pull(self.syncers[i].cursor, 50)

    @rule(i=st.integers(0, 1))
    def crash_and_restart(self, i: int) -> None:
        """Process dies (every local commit is atomic); a new process reopens the same cache."""
        self.engines[i].dispose()
        self.engines[i] = make_cache_reopen(self.paths[i])
        self.syncers[i] = self._syncer(i)

    @rule()
    def prune_feed(self) -> None:
        """Retention: the feed is cut; desktops behind it must refill and re-push."""
        self.central.prune(dt.timedelta(seconds=-1))

    @invariant()
    def cursors_never_go_backwards(self) -> None:
        for i, s in enumerate(self.syncers):
            now = s.cursor
            assert now >= self.cursors[i], f"desk {i} cursor went back {self.cursors[i]} -> {now}"
            self.cursors[i] = now

    @invariant()
    def tombstones_stay(self) -> None:
        with read_session(self.central_engine) as s:
            deleted = set(s.scalars(select(Customer.id).where(Customer.deleted_at.is_not(None))))
        assert self.tombstoned <= deleted, "a deleted customer came back"
        self.tombstoned = deleted

    # --- quiescence and the invariants --------------------------------------------------------

    def teardown(self) -> None:
        try:
            for _ in range(3):
                for s in self.syncers:
                    s.cycle()
            self._check()
        finally:
            for e in self.engines:
                e.dispose()
            if self.factory.pg is None:
                self.central_engine.dispose()

    def _check(self) -> None:
        with read_session(self.central_engine) as s:
            applied = {(m.client_id, m.client_seq): m for m in s.scalars(select(AppliedMutation))}
            per_mutation = s.execute(
                select(
                    ChangeLog.mutation_id, ChangeLog.entity_type, ChangeLog.entity_id, func.count()
                )
                .where(ChangeLog.mutation_id.is_not(None))
                .group_by(ChangeLog.mutation_id, ChangeLog.entity_type, ChangeLog.entity_id)
            ).all()
        for client, seq, mutation in self.written:  # no acknowledged write lost
            assert (client, seq) in applied, f"write {client}/{seq} never reached the centre"
            assert applied[(client, seq)].mutation_id == mutation
        assert all(row[3] == 1 for row in per_mutation), "a mutation was applied twice"
        for i, s in enumerate(self.syncers):
            with read_session(self.engines[i]) as local:
                states = set(local.scalars(select(OutboxEntry.state)))
                deleted_here = set(
                    local.scalars(select(Customer.id).where(Customer.deleted_at.is_not(None)))
                )
                present = set(local.scalars(select(Customer.id)))
            assert OutboxState.PENDING not in states
            assert self.tombstoned & present <= deleted_here, "a tombstone was resurrected locally"
            checks = compare(self.engines[i], self.central_engine, s.scope)
            assert all(c.ok for c in checks), f"desk {i}: {explain(checks)}"


def make_cache_reopen(path: Path) -> Engine:
    from agentdesk.store.engine import encrypted_sqlite_engine

    return encrypted_sqlite_engine(path, "44" * 32)


@pytest.fixture
def factory(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[CentralFactory]:
    pg_url = None
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("pg_server")
        name = server.create_database()
        request.addfinalizer(lambda: server.drop_database(name))
        pg_url = server.url(name)
    made = CentralFactory(tmp_path, pg_url)
    yield made
    if made.pg is not None:
        made.pg.dispose()


@pytest.mark.parametrize(
    "factory", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_sync_model(factory: CentralFactory) -> None:
    machine = type("Model", (SyncModel,), {"factory": factory})
    run_state_machine_as_test(machine, settings=PROFILE)


def test_cursor_type_orders_like_the_feed() -> None:
    assert Cursor(5, 1) > Cursor(4, 99) > Cursor(4, 2) > Cursor(0, 0)
    assert Cursor.parse(str(Cursor(123, 45))) == Cursor(123, 45)
