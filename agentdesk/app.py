"""Composition root: config → keyring → stores → services → telephony → ui.

Everything the desktop uses is built here, once, and passed in explicitly;
no module keeps a global. ``agentdesk run`` and ``agentdesk demo`` call
:func:`open_stores` and :func:`build_desktop`; tests call them too, with a
temporary data directory and the in-process PBX simulator.

Start-up problems are collected as *notes* instead of failing where the
desktop can still be useful: no OS keyring (secrets for this session only,
"remember me" off, a session-only local cache), an unreachable central
database (work from the local cache; writes wait in the outbox), an
unreachable PBX (the desktop opens, says so, and keeps retrying).
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keyring
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from agentdesk import vault
from agentdesk.config import Settings
from agentdesk.models import Customer, OutboxEntry, OutboxState, agent_team
from agentdesk.services.agent_state import AgentStateMachine, StatePolicy, load_policy
from agentdesk.services.auth import AgentIdentity, AuthService
from agentdesk.services.caller_match import CallerMatcher, CustomerCard
from agentdesk.services.pop_latency import PopLatencyRecorder
from agentdesk.services.quick_customer import QuickCustomerService
from agentdesk.services.sla import load_policy as load_sla_policy
from agentdesk.services.ticket_views import TicketValidationError
from agentdesk.services.tickets import TicketService
from agentdesk.services.wrapup import (
    FollowUpRequest,
    TicketCreator,
    WrapUpService,
    load_dispositions,
)
from agentdesk.store import migrate
from agentdesk.store.central import open_central
from agentdesk.store.engine import StoreError, encrypted_sqlite_engine, read_session, sqlite_engine
from agentdesk.store.sync import SyncScope
from agentdesk.store.sync.engine import SyncEngine
from agentdesk.store.sync.status import SyncStatus
from agentdesk.store.writer import LocalWriter
from agentdesk.telephony.client import AmiClient
from agentdesk.telephony.loop_thread import LoopThread
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.desk_controller import DeskController, DeskOptions
from agentdesk.ui.main_window import MainWindow
from agentdesk.ui.pbx_link import PbxLink
from agentdesk.ui.status_bar import StoreStatus
from agentdesk.ui.supervisor.install import install_supervisor
from agentdesk.ui.workspace.desk import build_context, install_workspace

log = logging.getLogger(__name__)

FOLLOW_UP_REASON = "general_enquiry"
NO_KEYRING_NOTE = (
    "No OS keyring backend is available on this computer, so secrets are kept in memory for "
    "this session only (never written to a file): 'Remember me' is off and the local cache "
    "is rebuilt at every start. " + vault.HOW_TO_FIX
)


@dataclass
class Stores:
    """The opened databases and what went wrong opening them."""

    central: Engine | None
    central_ok: bool
    local: Engine
    notes: list[str] = field(default_factory=list)
    temp_dir: tempfile.TemporaryDirectory[str] | None = None

    def dispose(self) -> None:
        for engine in (self.central, self.local):
            if engine is not None:
                engine.dispose()
        if self.temp_dir is not None:
            self.temp_dir.cleanup()


def prepare_keyring(*, allow_memory: bool) -> tuple[bool, str | None]:
    """``(real_keyring, note)``. Without a backend, optionally fall back to a memory keyring.

    A :class:`vault.MemoryKeyring` already in place (keyring's discovery can pick it up as
    the "best" backend on a machine with none) counts as no keyring: it forgets at exit.
    """
    if vault.keyring_available() and not isinstance(keyring.get_keyring(), vault.MemoryKeyring):
        return True, None
    if allow_memory:
        keyring.set_keyring(vault.MemoryKeyring())
        return False, NO_KEYRING_NOTE
    return False, "No OS keyring backend: " + vault.HOW_TO_FIX


def open_stores(settings: Settings, *, persistent_cache: bool, create_central: bool) -> Stores:
    """Open (and migrate) the central store and the encrypted local cache."""
    notes: list[str] = []
    central: Engine | None = None
    central_ok = False
    try:
        central = open_central(settings)
        if create_central:
            migrate.upgrade(central)
        else:
            migrate.check(central)
        central_ok = True
    except (SQLAlchemyError, StoreError, migrate.SchemaDriftError) as exc:
        detail = str(exc).splitlines()[0][:200]
        notes.append(
            f"Central database unreachable or not ready ({detail}). Working from this "
            "workstation's cache; new work is kept locally and sent when it is back."
        )
    temp_dir = None
    path = settings.local_path
    if not persistent_cache:
        # A key that dies with the session cannot reopen an old cache: use a throwaway one.
        temp_dir = tempfile.TemporaryDirectory(prefix="agentdesk-cache-")
        path = Path(temp_dir.name) / "cache.db"
    if settings.local.encrypted:
        local = encrypted_sqlite_engine(path, vault.ensure_cache_key(settings.workstation))
    else:
        local = sqlite_engine(path)
    migrate.upgrade(local)
    return Stores(central, central_ok, local, notes, temp_dir)


def store_status_probe(stores: Stores) -> Callable[[], StoreStatus]:
    """What the status bar shows until the sync engine reports its own status."""

    def probe() -> StoreStatus:
        online = False
        if stores.central is not None:
            try:
                with stores.central.connect() as conn:
                    conn.execute(text("SELECT 1"))
                online = True
            except SQLAlchemyError:
                online = False
        with read_session(stores.local) as s:
            count, oldest = s.execute(
                select(func.count(), func.min(OutboxEntry.created_at)).where(
                    OutboxEntry.state == OutboxState.PENDING
                )
            ).one()
        age = None
        if oldest is not None:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=dt.UTC)
            age = (dt.datetime.now(dt.UTC) - oldest).total_seconds()
        return StoreStatus(online, int(count or 0), age)

    return probe


def sync_status_source(sync: SyncEngine) -> Callable[[], StoreStatus]:
    """The status bar's view of the sync engine (its status is an in-memory snapshot)."""

    def probe() -> StoreStatus:
        st: SyncStatus = sync.status()
        last = st.last_sync_at.astimezone().strftime("%H:%M:%S") if st.last_sync_at else None
        detail = (
            f"sync {st.phase}"
            + (f"; last sync {last}" if last else "")
            + (f"; {len(st.rejected)} change(s) refused by the centre" if st.rejected else "")
            + (f"; {st.last_error}" if st.last_error else "")
        )
        return StoreStatus(st.online, st.pending, st.oldest_pending_age(), last, detail)

    return probe


def agent_teams(engine: Engine, agent_id: uuid.UUID) -> frozenset[uuid.UUID]:
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(agent_team.c.team_id).where(agent_team.c.agent_id == agent_id)
            )
            return frozenset(r.team_id for r in rows)
    except SQLAlchemyError:
        return frozenset()


def start_sync(
    settings: Settings, stores: Stores, identity: AgentIdentity, writer: LocalWriter
) -> SyncEngine | None:
    """The background sync engine for this agent's working set (None without a central store)."""
    if stores.central is None:
        return None
    source = stores.central if stores.central_ok else stores.local
    scope = SyncScope(
        team_ids=agent_teams(source, identity.id),
        agent_id=identity.id,
        full_replica=settings.local.full_replica,
    )
    sync = SyncEngine(stores.local, stores.central, agent_login=identity.login, scope=scope)
    writer.add_listener(sync.on_local_write)
    sync.add_status_listener(_log_drained(writer))
    sync.start()
    return sync


def _log_drained(writer: LocalWriter) -> Callable[[SyncStatus], None]:
    """Log when the outbox is empty again after local writes: support staff read it (and the
    end-to-end test waits for it)."""
    dirty = threading.Event()
    writer.add_listener(lambda _result: dirty.set())

    def listen(status: SyncStatus) -> None:
        if dirty.is_set() and status.online and not status.pending and status.phase == "idle":
            dirty.clear()
            log.info("sync: all local changes are at the centre")

    return listen


def cache_keeper(stores: Stores, sync: SyncEngine | None) -> Callable[[uuid.UUID], None]:
    """Makes sure a customer is in the local cache before a write refers to it."""

    def ensure(customer_id: uuid.UUID) -> None:
        with stores.local.connect() as conn:
            present = conn.execute(select(Customer.id).where(Customer.id == customer_id)).first()
        if present is None and sync is not None:
            sync.cache_customer(customer_id).result(timeout=15)

    return ensure


def follow_up_tickets(tickets: TicketService) -> TicketCreator:
    """Follow-up tickets from the wrap-up: reason from the IVR intent when the SLA policy
    knows it, otherwise a general enquiry."""

    def make(request: FollowUpRequest, reason: str) -> uuid.UUID:
        return tickets.create(
            reason=reason,
            title=request.title,
            customer_id=request.customer_id,
            description=request.description,
        ).id

    def create(request: FollowUpRequest) -> uuid.UUID:
        reason = request.intent or FOLLOW_UP_REASON
        try:
            return make(request, reason)
        except TicketValidationError as exc:
            if exc.field != "reason" or reason == FOLLOW_UP_REASON:
                raise
        return make(request, FOLLOW_UP_REASON)

    return create


def card_loader(
    local: CallerMatcher, central: CallerMatcher | None
) -> Callable[[uuid.UUID], CustomerCard | None]:
    """Customer cards from the cache first, then the central store."""

    def load(customer_id: uuid.UUID) -> CustomerCard | None:
        card = local.card(customer_id)
        if card is None and central is not None:
            try:
                card = central.card(customer_id)
            except SQLAlchemyError:
                card = None
        return card

    return load


@dataclass(frozen=True)
class AmiCredentials:
    host: str
    port: int
    username: str
    secret: str
    auth: str = "md5"


def ami_credentials(settings: Settings) -> tuple[AmiCredentials | None, str | None]:
    """The PBX login from settings plus the secret from the keyring, or a note saying why not."""
    try:
        secret = vault.get_secret(settings.pbx.secret_key)
    except vault.KeyringUnavailable:
        secret = None
    if not secret:
        return None, (
            f"No AMI secret in the keyring (service 'agentdesk', entry "
            f"'{settings.pbx.secret_key}'): calls cannot reach this desktop. Store it with "
            "'agentdesk run --store-ami-secret'."
        )
    pbx = settings.pbx
    return AmiCredentials(
        pbx.host, pbx.port, pbx.username, secret, "md5" if pbx.use_md5 else "plain"
    ), None


@dataclass
class Desktop:
    """What :func:`build_desktop` made; ``shutdown`` stops it in the right order."""

    window: MainWindow
    controller: DeskController
    link: PbxLink
    loop: LoopThread
    recorder: PopLatencyRecorder
    sync: SyncEngine | None = None
    extra_stops: list[Callable[[], None]] = field(default_factory=list)

    def shutdown(self) -> None:
        self.link.stop()
        for stop in reversed(self.extra_stops):
            try:
                stop()
            except Exception:
                log.exception("shutdown step failed")


def build_desktop(
    settings: Settings,
    stores: Stores,
    identity: AgentIdentity,
    bridge: Bridge,
    ami: AmiCredentials | None,
    *,
    options: DeskOptions | None = None,
    policy: StatePolicy | None = None,
    with_sync: bool = True,
) -> Desktop:
    """Services, telephony and the main window for the signed-in agent (GUI thread)."""
    policy = policy or load_policy()
    options = options or DeskOptions(region=settings.default_region)
    local_matcher = CallerMatcher(stores.local, source="local", region=options.region)
    central_matcher = (
        CallerMatcher(stores.central, source="central", region=options.region)
        if stores.central is not None
        else None
    )
    writer = LocalWriter(stores.local, identity.login)
    sync = start_sync(settings, stores, identity, writer) if with_sync else None
    tickets = TicketService(stores.local, writer, load_sla_policy(), identity.id)
    recorder = PopLatencyRecorder()
    wrapup = WrapUpService(
        writer,
        load_dispositions(),
        ticket_creator=follow_up_tickets(tickets),
        extra_codes=(policy.acw_timeout_disposition,),
        pop_latency=recorder.for_call,
        workstation=settings.workstation,
    )
    loop = LoopThread()
    client = AmiClient(
        ami.host if ami else "127.0.0.1",
        ami.port if ami else 0,
        ami.username if ami else "",
        ami.secret if ami else "",
        auth="md5" if ami is None or ami.auth == "md5" else "plain",
    )
    link = PbxLink(client, loop, bridge, identity.interface or "")
    state = AgentStateMachine(identity.interface or "", policy, clock=_monotonic)
    controller = DeskController(
        identity,
        link,
        bridge,
        state=state,
        local=local_matcher,
        central=central_matcher,
        wrapup=wrapup,
        options=options,
        cache_customer=sync.cache_customer if sync else None,
        ensure_cached=cache_keeper(stores, sync),
    )
    window = MainWindow(
        controller,
        bridge,
        recorder,
        card_loader=card_loader(local_matcher, central_matcher),
        create_customer=QuickCustomerService(writer, options.region).create,
        status_source=sync_status_source(sync) if sync else store_status_probe(stores),
    )
    # Customer 360 workspace tabs, ticket docks and Ctrl+K search (issue 5).
    install_workspace(
        window,
        build_context(
            bridge,
            stores.local,
            stores.central if stores.central_ok else None,
            writer,
            identity.id,
            options.region,
        ),
    )
    # Wallboard, reports and agent control for supervisors and admins (issue 7).
    supervisor = install_supervisor(
        window,
        identity,
        bridge=bridge,
        client=client,
        loop=loop,
        audit=writer,
        central=stores.central if stores.central_ok else None,
        data_dir=settings.data_dir,
        workstation=settings.workstation,
    )
    # Compile the pop's statements and warm the cache's pages before the first call rings.
    bridge.submit(local_matcher.match, "+447700900000", lane="local")
    desktop = Desktop(window, controller, link, loop, recorder, sync=sync)
    if sync is not None:
        desktop.extra_stops.append(sync.stop)
    if supervisor is not None:
        desktop.extra_stops.append(supervisor.shutdown)
    if ami is not None:
        link.start()
    else:
        window.status.set_pbx("failed", "no AMI credentials")
    return desktop


def authenticator(stores: Stores) -> AuthService:
    return AuthService(stores.central if stores.central_ok else None, stores.local)


def _monotonic() -> float:
    return time.monotonic()
