"""Composition root: config → keyring → cache → server connection → services → telephony → ui.

Everything the desktop uses is built here, once, and passed in explicitly;
no module keeps a global. ``agentdesk run`` and ``agentdesk demo`` call
:func:`open_stores`, :func:`connect_server` and :func:`build_desktop`; tests
call them too, with a temporary data directory, a server on a loopback
thread and the in-process PBX simulator.

The desktop never opens the central database: it keeps an encrypted local
cache and talks to ``agentdesk server`` over HTTPS (sign-in, sync, caller
match, search, reveals). Start-up problems are collected as *notes*
instead of failing where the desktop can still be useful: no OS keyring
(secrets for this session only, "remember me" off, a session-only local
cache), an unreachable server (signed in offline within the policy window,
work from the cache; writes wait in the outbox), an unreachable PBX (the
desktop opens, says so, and keeps retrying).
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
from typing import Literal

import keyring
from sqlalchemy import Engine, select

from agentdesk import vault
from agentdesk.client.api import ServerApi, SignedIn
from agentdesk.client.central import HttpCentral
from agentdesk.client.corebank import ServerLiveProducts
from agentdesk.client.cti import CallFeed, ServerCallFeed, UnavailableFeed
from agentdesk.client.direct_pbx import DirectPbxFeed
from agentdesk.client.lookups import (
    ServerFloorReads,
    ServerMatcher,
    ServerRevealer,
    ServerSearch,
)
from agentdesk.client.signin import unlock_verifier
from agentdesk.client.transfer_directory import ServerTransferDirectory
from agentdesk.config import Settings
from agentdesk.models import Customer
from agentdesk.services.crm.caller_match import CallerMatcher, CustomerCard
from agentdesk.services.crm.change_scope import ChangeScope
from agentdesk.services.crm.customers import CustomerService
from agentdesk.services.crm.quick_customer import QuickCustomerService
from agentdesk.services.crm.search import SearchService
from agentdesk.services.crm.timeline import TimelineService
from agentdesk.services.desk.agent_state import AgentStateMachine, StatePolicy, load_policy
from agentdesk.services.desk.call_requests import AgentLine
from agentdesk.services.desk.callback_tasks import CallbackTasks
from agentdesk.services.desk.missed_calls import MissedCallLog
from agentdesk.services.desk.pbx_actions import DialPlan
from agentdesk.services.desk.pop_latency import PopLatencyRecorder
from agentdesk.services.desk.wrapup import (
    FollowUpRequest,
    TicketCreator,
    WrapUpSaved,
    WrapUpService,
    load_dispositions,
)
from agentdesk.services.knowledge.editor import KnowledgeEditor
from agentdesk.services.knowledge.service import KnowledgeService
from agentdesk.services.orders.wiring import order_services
from agentdesk.services.platform.auth import AgentIdentity
from agentdesk.services.platform.roles import Capability, allows, can_supervise
from agentdesk.services.scripts.calls import CallScripts
from agentdesk.services.scripts.loader import load_catalogue
from agentdesk.services.scripts.model import ScriptCatalogue
from agentdesk.services.scripts.runs import ScriptRunStore
from agentdesk.services.tickets.reminders import DeskFollowUps
from agentdesk.services.tickets.service import TicketService
from agentdesk.services.tickets.sla import load_policy as load_sla_policy
from agentdesk.services.tickets.views import TicketValidationError
from agentdesk.store import migrate
from agentdesk.store.cache_file import UnreadableCache, open_local_cache
from agentdesk.store.engine import sqlite_engine
from agentdesk.store.sync import SyncScope
from agentdesk.store.sync.engine import SyncEngine
from agentdesk.store.sync.local import LocalStore
from agentdesk.store.sync.protocol import SyncError
from agentdesk.store.sync.status import SyncStatus
from agentdesk.store.writer import LocalWriter
from agentdesk.telephony.loop_thread import LoopThread
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.callback_dial import install_callback_dial, install_ticket_callbacks
from agentdesk.ui.change_bus import ChangeBus
from agentdesk.ui.desk_controller import DeskController, DeskOptions
from agentdesk.ui.followups import install_followups
from agentdesk.ui.idle_lock import IdleLock, install_idle_lock
from agentdesk.ui.knowledge.install import install_knowledge
from agentdesk.ui.main_window import MainWindow
from agentdesk.ui.orders.pop import install_pop_cross_sell
from agentdesk.ui.pbx_link import PbxLink
from agentdesk.ui.scripts.install import install_scripts
from agentdesk.ui.status_bar import StoreStatus
from agentdesk.ui.supervisor.install import install_supervisor
from agentdesk.ui.workspace.context import WorkspaceContext
from agentdesk.ui.workspace.desk import install_workspace

log = logging.getLogger(__name__)

FOLLOW_UP_REASON = "general_enquiry"
NO_KEYRING_NOTE = (
    "No OS keyring backend is available on this computer, so secrets are kept in memory for "
    "this session only (never written to a file): 'Remember me' is off and the local cache "
    "is rebuilt at every start. " + vault.HOW_TO_FIX
)


@dataclass
class Stores:
    """The desktop's encrypted cache and what went wrong opening it."""

    local: Engine
    notes: list[str] = field(default_factory=list)
    temp_dir: tempfile.TemporaryDirectory[str] | None = None

    def dispose(self) -> None:
        self.local.dispose()
        if self.temp_dir is not None:
            self.temp_dir.cleanup()


@dataclass
class ServerConnection:
    """The signed-in session at the server, as the desktop's services need it."""

    api: ServerApi
    team_ids: frozenset[uuid.UUID] = frozenset()
    full_replica: bool = False

    def close(self) -> None:
        self.api.sign_out()
        self.api.close()


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


def open_stores(
    settings: Settings,
    *,
    persistent_cache: bool,
    on_unreadable: Callable[[UnreadableCache], bool] | None = None,
) -> Stores:
    """Open (and migrate) this workstation's encrypted cache.

    ``on_unreadable`` decides what happens to a cache this workstation's key cannot open
    (the desktop asks the agent; without it the old file is set aside and a fresh cache
    starts, which loses nothing the server has).
    """
    temp_dir = None
    path = settings.local_path
    if not persistent_cache:
        # A key that dies with the session cannot reopen an old cache: use a throwaway one.
        temp_dir = tempfile.TemporaryDirectory(prefix="agentdesk-cache-")
        path = Path(temp_dir.name) / "cache.db"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if settings.local.encrypted:
        local = open_local_cache(
            path,
            vault.ensure_cache_key(settings.workstation),
            on_unreadable=on_unreadable or (lambda _problem: True),
        )
    else:  # only code can ask for this (tests); a settings file cannot
        local = sqlite_engine(path)
    migrate.upgrade(local)
    return Stores(local, [], temp_dir)


def server_connection(api: ServerApi, grant: SignedIn | None) -> ServerConnection | None:
    """The connection for a desktop signed in online (None after an offline sign-in)."""
    if grant is None:
        return None
    return ServerConnection(api, grant.team_ids, grant.full_replica)


def connect_server(settings: Settings) -> tuple[ServerApi, str | None]:
    """The client for the configured server, and a note when none is configured."""
    url = settings.server.url
    if not url:
        return ServerApi("http://127.0.0.1:1"), (
            "No server is configured ([server] url in the settings file, or "
            "AGENTDESK_SERVER_URL): only offline sign-in and the local cache are available."
        )
    return ServerApi(url, ca_file=settings.server.ca_file), None


def sync_status_source(sync: SyncEngine) -> Callable[[], StoreStatus]:
    """The status bar's view of the sync engine (its status is an in-memory snapshot)."""

    def probe() -> StoreStatus:
        st: SyncStatus = sync.status()
        last = st.last_sync_at.astimezone().strftime("%H:%M:%S") if st.last_sync_at else None
        detail = (
            f"sync {st.phase}"
            + (f"; last sync {last}" if last else "")
            + (f"; {len(st.rejected)} change(s) refused by the server" if st.rejected else "")
            + (f"; {st.last_error}" if st.last_error else "")
        )
        return StoreStatus(st.online, st.pending, st.oldest_pending_age(), last, detail)

    return probe


def start_sync(
    settings: Settings, stores: Stores, identity: AgentIdentity, server: ServerConnection
) -> SyncEngine:
    """The background sync engine for this agent's working set, through the server.

    The scope shown here only steers what the cache keeps; the server decides what it
    sends (the session's teams and role), whatever this desktop asks for.
    """
    scope = SyncScope(
        team_ids=server.team_ids, agent_id=identity.id, full_replica=server.full_replica
    )
    central = HttpCentral(server.api)
    sync = SyncEngine(stores.local, central, agent_login=identity.login, scope=scope)
    central.client_id = sync.client_id  # named on the live link: pokes for this desktop only
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
    local: CallerMatcher, remote: ServerMatcher | None
) -> Callable[[uuid.UUID], CustomerCard | None]:
    """Customer cards from the cache first, then the server."""

    def load(customer_id: uuid.UUID) -> CustomerCard | None:
        card = local.card(customer_id)
        if card is None and remote is not None:
            try:
                card = remote.card(customer_id)
            except SyncError:
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


def call_feed(
    settings: Settings,
    identity: AgentIdentity,
    ami: AmiCredentials | None,
    server: ServerConnection | None,
    dial_plan: DialPlan,
    client_id: Callable[[], uuid.UUID],
) -> CallFeed:
    """Where this desktop's calls come from.

    AMI credentials given: the desktop's own AMI login (tests, labs: ``agentdesk run
    --direct-pbx`` or no server configured). Otherwise the server's CTI gateway, for a
    desktop signed in online; after an offline sign-in no calls can reach it.
    """
    if ami is not None:
        line = AgentLine(
            interface=identity.interface or "",
            member_name=identity.display_name,
            extension=identity.extension or "",
            dial_plan=dial_plan,
        )
        auth: Literal["plain", "md5"] = "plain" if ami.auth == "plain" else "md5"
        return DirectPbxFeed.login(ami.host, ami.port, ami.username, ami.secret, line, auth=auth)
    if server is not None:
        known: list[uuid.UUID] = []

        def once() -> uuid.UUID:  # read the cache's client id once, at the first connect
            if not known:
                known.append(client_id())
            return known[0]

        return ServerCallFeed(server.api, once)
    if settings.server.url:
        return UnavailableFeed(
            "calls come through the server, and this desktop is signed in offline: sign in "
            "online to receive calls."
        )
    return UnavailableFeed(
        "no server is configured and no AMI secret is stored for a direct PBX login "
        "('agentdesk run --store-ami-secret')."
    )


@dataclass
class Desktop:
    """What :func:`build_desktop` made; ``shutdown`` stops it in the right order."""

    window: MainWindow
    controller: DeskController
    link: PbxLink
    loop: LoopThread
    recorder: PopLatencyRecorder
    sync: SyncEngine | None = None
    server: ServerConnection | None = None
    extra_stops: list[Callable[[], None]] = field(default_factory=list)

    def shutdown(self) -> None:
        self.link.stop()
        for stop in reversed(self.extra_stops):
            try:
                stop()
            except Exception:
                log.exception("shutdown step failed")
        if self.server is not None:
            self.server.close()


def build_desktop(
    settings: Settings,
    stores: Stores,
    identity: AgentIdentity,
    bridge: Bridge,
    ami: AmiCredentials | None,
    *,
    server: ServerConnection | None,
    options: DeskOptions | None = None,
    policy: StatePolicy | None = None,
    with_sync: bool = True,
    feed: CallFeed | None = None,
    script_catalogue: ScriptCatalogue | None = None,
) -> Desktop:
    """Services, telephony and the main window for the signed-in agent (GUI thread).

    ``server`` is the signed-in session; None when the agent signed in offline (the desk
    works from the cache and its outbox until they sign in online again). Calls come
    through the server's CTI gateway unless ``ami`` is given (the desktop's own AMI
    login, :func:`call_feed`) or a ``feed`` is (tests).
    """
    policy = policy or load_policy()
    # Agent scripts (issue 13): validated first, so a bad file stops the start (naming file
    # and step) before sync or telephony threads are running.
    # Each run kept in the cache as it changes: a desktop killed mid-call loses no answer.
    runs = ScriptRunStore(stores.local)
    scripts = CallScripts(script_catalogue or load_catalogue(), runs, bridge)
    options = options or DeskOptions(region=settings.default_region)
    local_matcher = CallerMatcher(stores.local, source="local", region=options.region)
    writer = LocalWriter(stores.local, identity.login)
    sync = start_sync(settings, stores, identity, server) if with_sync and server else None
    if sync is not None:
        writer.add_listener(sync.on_local_write)
        sync.add_status_listener(_log_drained(writer))
    client_id = LocalStore(stores.local).client_id
    remote_matcher = ServerMatcher(server.api, client_id) if server else None
    tickets = TicketService(stores.local, writer, load_sla_policy(), identity.id)
    recorder = PopLatencyRecorder()
    wrapup = WrapUpService(
        writer,
        load_dispositions(),
        ticket_creator=follow_up_tickets(tickets),
        extra_codes=(policy.acw_timeout_disposition,),
        pop_latency=recorder.for_call,
        workstation=settings.workstation,
        scripts=scripts.outcome,
    )
    feed = feed or call_feed(settings, identity, ami, server, options.dial_plan, client_id)
    link = PbxLink(feed, bridge)
    link_loop = feed.loop if isinstance(feed, DirectPbxFeed | ServerCallFeed) else LoopThread()
    state = AgentStateMachine(identity.interface or "", policy, clock=_monotonic)
    controller = DeskController(
        identity,
        link,
        bridge,
        state=state,
        local=local_matcher,
        central=remote_matcher,
        wrapup=wrapup,
        options=options,
        cache_customer=sync.cache_customer if sync else None,
        ensure_cached=cache_keeper(stores, sync),
        missed_log=MissedCallLog(stores.local, identity.id, options.region).today,
    )
    window = MainWindow(
        controller,
        bridge,
        recorder,
        card_loader=card_loader(local_matcher, remote_matcher),
        create_customer=QuickCustomerService(writer, options.region).create,
        status_source=sync_status_source(sync) if sync else offline_status(stores),
    )
    # The transfer dialog's colleagues and queue figures, from the server's floor (issue 14).
    window.transfer_directory = ServerTransferDirectory(server.api).load if server else None
    # The change bus: every local write and every pulled change, once, on the GUI thread.
    changes = ChangeBus(bridge, ChangeScope(stores.local).customers_of, parent=window)
    writer.add_listener(changes.on_local_write)
    if sync is not None:
        sync.add_change_listener(changes.on_pulled)
    changes.changed.connect(lambda _changes: window.status.refresh_store())
    controller.wrapups.saved.connect(lambda saved: _confirm_wrap_up(window, saved))
    # Customer 360 workspace tabs, ticket docks and Ctrl+K search (issue 5).
    orders, cross_sell = order_services(
        stores.local, writer, tickets.policy, identity.id, call_checks=scripts.agent_idv
    )
    workspace = install_workspace(
        window,
        WorkspaceContext(
            bridge=bridge,
            customers=CustomerService(
                stores.local,
                writer,
                revealer=ServerRevealer(server.api, client_id) if server else None,
            ),
            timeline=TimelineService(stores.local, writer),
            tickets=tickets,
            search=ServerSearch(server.api, client_id)
            if server
            else SearchService(stores.local, options.region),
            agent_id=identity.id,
            home_region=options.region,
            changes=changes,
            live_products=ServerLiveProducts(server.api, client_id) if server else None,
            orders=orders,
            cross_sell=cross_sell,
            current_call=controller.current_call,
        ),
    )
    install_pop_cross_sell(window, bridge, cross_sell)  # the suggestion in the pop, too
    # Reminders and escalation alerts (issue 12): set from a customer tab, due live through
    # sync and the change bus, and shown again at sign-in when they came due while away.
    followups = install_followups(
        window,
        bridge,
        DeskFollowUps(stores.local, writer, identity.id, supervisor=can_supervise(identity)),
        changes,
    )
    # A supervisor's callback task (issue 15) dials with one click from that list, and a
    # team's callback ticket from every ticket pane's detail (docks and customer tabs).
    callbacks = CallbackTasks(stores.local, writer, identity.id, region=options.region,
                              ensure_cached=cache_keeper(stores, sync))  # fmt: skip
    install_callback_dial(followups, bridge, callbacks, dial=controller.dial)
    workspace.on_ticket_panes(
        lambda pane: install_ticket_callbacks([pane], bridge, callbacks, dial=controller.dial)
    )
    # Knowledge tab beside Call and Wrap-up (issue 13): suggestions and search from the cache.
    install_knowledge(
        window,
        bridge,
        KnowledgeService(stores.local),
        changes,
        editor=KnowledgeEditor(writer, identity)
        if allows(identity, Capability.EDIT_KNOWLEDGE)
        else None,
    )
    install_scripts(window, scripts)  # the Script tab: guided steps for the call's intent
    # Wallboard, reports and agent control for supervisors and admins (issue 7); historical
    # figures come from the server, which refuses them to an agent's session.
    supervisor = install_supervisor(
        window,
        identity,
        bridge=bridge,
        # The floor the server computes, over this session (the desktop has no AMI login).
        api=server.api if server else None,
        audit=writer,
        floor=ServerFloorReads(server.api) if server else None,
        data_dir=settings.data_dir,
        workstation=settings.workstation,
    )
    if sync is not None:
        # The status bar follows the sync engine as it changes, not only on its slow poll.
        sync.add_status_listener(lambda _status: bridge.post(window.status.refresh_store))
    # PCI DSS 8.2.8: customer data hidden after the site's idle time until the password is
    # given again (checked by the server, or offline within the policy window).
    lock = install_idle_lock(
        window,
        bridge,
        unlock_verifier(server.api if server else None, identity.login, settings.workstation),
        timeout_s=settings.idle_lock_minutes * 60,
        user_label=identity.display_name,
    )
    if sync is not None:
        # A session the server ended (expired, revoked) locks the desk and asks for the
        # password; the unlock opens a new session and the outbox goes out with it.
        sync.add_status_listener(lambda st: bridge.post(_ask_to_sign_in_again, lock, st))
        lock.unlocked.connect(sync.sync_now)
    # Compile the pop's statements and warm the cache's pages before the first call rings.
    bridge.submit(local_matcher.match, "+447700900000", lane="local")
    desktop = Desktop(window, controller, link, link_loop, recorder, sync=sync, server=server)
    if sync is not None:
        desktop.extra_stops.append(sync.stop)
    desktop.extra_stops.append(followups.shutdown)
    if supervisor is not None:
        desktop.extra_stops.append(supervisor.shutdown)
    if isinstance(feed, UnavailableFeed):
        window.status.set_pbx("failed", feed.reason)
    link.start()
    return desktop


def _confirm_wrap_up(window: MainWindow, saved: WrapUpSaved) -> None:
    follow_up = " and its follow-up ticket" if saved.ticket_id is not None else ""
    window.status.show_notice("info", f"Wrap-up{follow_up} saved.")


def _ask_to_sign_in_again(lock: IdleLock, status: SyncStatus) -> None:
    if status.phase == "signed_out" and not lock.is_locked:
        lock.lock()
        lock.screen.show_message(
            "Your session at the server has ended. Enter your password to carry on; "
            "nothing you saved is lost."
        )


def offline_status(stores: Stores) -> Callable[[], StoreStatus]:
    """The status bar without a server session: offline, with the outbox backlog."""
    local = LocalStore(stores.local)

    def probe() -> StoreStatus:
        pending, oldest = local.outbox_counts()
        age = None
        if oldest is not None:
            age = (dt.datetime.now(dt.UTC) - oldest).total_seconds()
        return StoreStatus(
            False, pending, age, None, "signed in offline: changes are sent after an online sign-in"
        )

    return probe


def _monotonic() -> float:
    return time.monotonic()
