"""A desktop process for the chaos test: writes at random while its SyncEngine syncs.

Prints ``push-begin`` / ``pull-begin`` markers (from the sync engine's debug
log) so the test can kill it with SIGKILL in the middle of either.
Run as ``python -m tests.sync.chaos_desk CACHE CENTRAL_URL LOGIN SCOPE SEED``.

With an ``http(s)://`` CENTRAL_URL the desktop is a real one: it signs in to
``agentdesk server`` (password in ``$AGENTDESK_CHAOS_PASSWORD``), takes its
scope from the sign-in answer (SCOPE is then ignored) and syncs through
``ServerApi`` + ``HttpCentral``. It also prints ``offline`` / ``online`` when
its sync status flips, and ``session-ended`` if the server forgot its session.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import random
import sys
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agentdesk.client.api import ServerApi, ServerUnavailable, SignedIn
from agentdesk.client.central import HttpCentral
from agentdesk.ids import uuid7
from agentdesk.models import Customer, Ticket
from agentdesk.store import migrate
from agentdesk.store.engine import encrypted_sqlite_engine, read_session
from agentdesk.store.mutations import MutationRejected
from agentdesk.store.sync import SyncScope, SyncSettings
from agentdesk.store.sync.engine import SyncEngine
from agentdesk.store.sync.port import CentralPort
from agentdesk.store.sync.status import SyncStatus
from agentdesk.store.writer import LocalWriter
from tests.sync.factories import REF, person, ticket
from tests.ui_workspace.builders import FIELD_KEYRING

KEY = "55" * 32
SETTINGS = SyncSettings(
    push_batch=5,
    page_size=10,
    poll_interval=0.3,
    backoff_base=0.05,
    backoff_cap=0.5,
    watchdog_interval=1.0,
    stuck_after=20.0,
)


PASSWORD_ENV = "AGENTDESK_CHAOS_PASSWORD"

# Writes wait while this many are unsent: a loaded machine pushing through the server must
# still get to the pulls (and to the ``pull-begin`` markers the test waits for).
BACKLOG = 50


def scope_named(name: str) -> SyncScope:
    if name == "full":
        return SyncScope(full_replica=True)
    return SyncScope(team_ids=frozenset({REF.team_a}), agent_id=REF.bob)


def scope_of(grant: SignedIn) -> SyncScope:
    """The working set the server gives this session (it filters by the same rule)."""
    return SyncScope(
        team_ids=grant.team_ids, agent_id=grant.agent_id, full_replica=grant.full_replica
    )


def sign_in(
    url: str, login: str, password: str, patience: float = 60.0
) -> tuple[ServerApi, SignedIn]:
    """Sign in, waiting out a server that is down or restarting (as a desktop's retry would)."""
    api = ServerApi(url)
    deadline = time.monotonic() + patience
    while True:
        try:
            return api, api.sign_in(login, password, f"chaos-{login}")
        except ServerUnavailable:
            if time.monotonic() > deadline:
                api.close()
                raise
            time.sleep(0.2)


_out = threading.Lock()


def say(word: str) -> None:
    """One whole line per write: the writer and the sync thread both print."""
    with _out:
        sys.stdout.write(word + "\n")
        sys.stdout.flush()


class Markers(logging.Handler):
    """Turns the syncer's debug lines into one-word stdout markers."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(("push-begin", "pull-begin")):
            say(message.split(":")[0])


def _ids(engine: object, model: type[Customer] | type[Ticket]) -> list[uuid.UUID]:
    with read_session(engine) as s:  # type: ignore[arg-type]
        return list(s.scalars(select(model.id).limit(200)))


def one_write(writer: LocalWriter, rng: random.Random, agent_id: uuid.UUID = REF.bob) -> None:
    customers, tickets = _ids(writer._engine, Customer), _ids(writer._engine, Ticket)
    op = rng.choice(["customer", "patch", "ticket", "update", "comment", "interaction", "delete"])
    if op == "customer" or not customers:
        writer.write("customer.create", person())
    elif op == "patch":
        writer.write(
            "customer.patch",
            {
                "id": rng.choice(customers),
                "changes": {
                    rng.choice(["family_name", "segment"]): rng.choice(["Byron", "King", "premier"])
                },
            },
        )
    elif op == "ticket" or not tickets:
        writer.write(
            "ticket.create",
            ticket(customer_id=rng.choice(customers), team_id=rng.choice([REF.team_a, REF.team_b])),
        )
    elif op == "update":
        writer.write(
            "ticket.update",
            {
                "id": rng.choice(tickets),
                "changes": {
                    "status": rng.choice(["open", "pending", "resolved"]),
                    "priority": rng.choice(["low", "high"]),
                },
            },
        )
    elif op == "comment":
        writer.write(
            "ticket.comment", {"id": uuid7(), "ticket_id": rng.choice(tickets), "body": "…"}
        )
    elif op == "interaction":
        writer.write(
            "interaction.add",
            {
                "id": uuid7(),
                "customer_id": rng.choice(customers),
                "channel": "phone",
                "direction": "inbound",
                "started_at": dt.datetime.now(dt.UTC),
                "agent_id": agent_id,
            },
        )
    elif rng.random() < 0.2:
        writer.write("customer.delete", {"id": rng.choice(customers)})


def main(argv: list[str]) -> int:
    cache, central, login, scope, seed = argv
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logger = logging.getLogger("agentdesk.store.sync.syncer")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(Markers())
    fresh = not Path(cache).exists()
    engine = encrypted_sqlite_engine(Path(cache), KEY)
    if fresh:
        migrate.upgrade(engine)
    writer = LocalWriter(engine, login)
    port: str | CentralPort = central
    desk_scope, agent_id = scope_named(scope), REF.bob
    if central.startswith(("http://", "https://")):
        api, grant = sign_in(central, login, os.environ[PASSWORD_ENV])
        port, desk_scope, agent_id = HttpCentral(api), scope_of(grant), grant.agent_id
    sync = SyncEngine(
        engine,
        port,
        agent_login=login,
        scope=desk_scope,
        settings=SETTINGS,
        field_cipher=FIELD_KEYRING,
    )
    sync.add_status_listener(StatusMarkers())
    writer.add_listener(sync.on_local_write)
    sync.start()
    sync.wait_for(lambda s: s.last_sync_at is not None, 60)
    say("ready")
    rng = random.Random(int(seed))
    while True:
        if sync.status().pending >= BACKLOG:  # no agent types faster than the server takes it
            time.sleep(0.05)
            continue
        with contextlib.suppress(MutationRejected, IntegrityError):  # refused writes are fine
            one_write(writer, rng, agent_id)
        time.sleep(rng.uniform(0.005, 0.03))  # an agent's pace, compressed


class StatusMarkers:
    """``offline`` / ``online`` when the sync status flips; ``session-ended`` on a 401."""

    def __init__(self) -> None:
        self._online: bool | None = None
        self._lock = threading.Lock()  # listeners run on the loop and on pool threads

    def __call__(self, status: SyncStatus) -> None:
        with self._lock:
            if "SessionEnded" in (status.last_error or ""):
                say("session-ended")
            if status.online != self._online:
                self._online = status.online
                say("online" if status.online else "offline")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
