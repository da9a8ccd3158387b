"""``agentdesk demo``: everything on one machine, no set-up.

An ``agentdesk server`` on a loopback port over an embedded central store
(seeded with demo data when empty, identity data encrypted with a demo
field key kept 0600 in the demo's directory), the PBX simulator in-process
(virtual agents and background traffic drawn from the demo customers), and
the desktop signed in as a demo agent *through the server*, exactly as
``agentdesk run`` would be: it never opens the central database and never
logs in to the PBX (the server's CTI gateway holds the only AMI login, to the
simulator, and hands the desktop its calls over ``/api/v1/cti``). Scripted calls
ring the demo agent's phone a few seconds after they become Available, and
rotate through known, shared, unknown and withheld numbers so every kind of
screen pop shows up. Customer e-mail goes to a local SMTP sink (``demo_mail.py``).
Without an OS keyring the demo says so and keeps its secrets in memory for the session.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from pathlib import Path
from typing import Any

from agentdesk.commands.common import settings_from
from agentdesk.config import CentralSettings, ConfigError, PbxSettings, Settings

log = logging.getLogger(__name__)
KINDS = ("known", "shared", "unknown", "withheld")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="the desktop + embedded store + PBX simulator, signed in as a demo agent",
        description="Zero set-up demo: seeds an embedded store if empty, runs the PBX simulator "
        "in-process and signs in as a demo agent; calls start ringing within seconds.",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where the demo keeps its store (default: <user data dir>/demo)",
    )
    parser.add_argument("--customers", type=int, default=3000, help="customers to seed when empty")
    parser.add_argument("--agent", default="alice", help="demo agent to sign in as (default alice)")
    parser.add_argument(
        "--scenario",
        choices=KINDS,
        default=None,
        help="place one call of this kind and no background traffic (screenshots)",
    )
    parser.add_argument("--no-traffic", action="store_true", help="no background calls")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="simulated seconds per real second for the PBX (default 1: real time)",
    )
    parser.add_argument("--auto-answer", action="store_true", help="answer calls automatically")
    parser.add_argument(
        "--acw-limit",
        type=int,
        default=None,
        metavar="SECONDS",
        help="after-call-work limit (default: resources/reason_codes.toml)",
    )
    parser.add_argument(
        "--quit-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="close after this many seconds (smoke tests)",
    )
    parser.set_defaults(func=_run)


def demo_settings(base: Settings, data_dir: Path | None) -> Settings:
    """The demo never touches the configured central store, cache or PBX secret."""
    root = data_dir or base.data_dir / "demo"
    return dataclasses.replace(
        base,
        data_dir=root,
        workstation=f"{base.workstation}-demo",
        central=CentralSettings(),
        local=dataclasses.replace(base.local, path=None),
        pbx=PbxSettings(
            host="127.0.0.1", port=0, username="agentdesk", secret_key="demo-ami", use_md5=True
        ),
    )


def demo_field_key(data_dir: Path) -> str:
    """The demo's field-encryption key: made once, 0600, next to the demo's store."""
    from agentdesk.store.field_crypto import new_key_text, read_key_file

    path = data_dir / "field.key"
    if not path.exists():
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(new_key_text())
    return read_key_file(path)


def _queue_codes() -> tuple[tuple[str, str], ...]:
    """The simulator's transfer codes that put a caller in a queue, for the transfer directory."""
    from agentdesk.telephony.sim.config import load_config

    config = load_config()
    return tuple(
        (queue, code) for code, queue in config.transfer_targets.items() if queue in config.queues
    )


def _run(args: argparse.Namespace) -> int:
    try:
        settings = demo_settings(settings_from(args), args.data_dir)
    except ConfigError as exc:
        print(f"agentdesk demo: {exc}", file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication

    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    qapp.setApplicationName("agentdesk demo")
    runtime = DemoRuntime(settings, args)
    try:
        runtime.start()
    except RuntimeError as exc:
        print(f"agentdesk demo: {exc}", file=sys.stderr)
        runtime.stop()
        return 2
    code = qapp.exec()
    runtime.stop()
    from agentdesk.commands.run import release_application

    release_application(qapp, runtime.desktop.window)
    return int(code)


class DemoRuntime:
    """Builds and tears down the demo: stores, seed, simulator, desktop, scripted calls."""

    def __init__(self, settings: Settings, args: argparse.Namespace) -> None:
        self.settings, self.args = settings, args
        self._stops: list[Any] = []

    def start(self) -> None:
        from agentdesk import app as composition
        from agentdesk.client.api import ServerApi
        from agentdesk.client.signin import DesktopSignIn
        from agentdesk.services.desk.agent_state import load_policy
        from agentdesk.services.desk.demo_calls import sample_callers
        from agentdesk.services.platform.auth import AuthError
        from agentdesk.services.seeding.reference import DEMO_PASSWORD
        from agentdesk.ui.bridge import Bridge
        from agentdesk.ui.desk_controller import DeskOptions

        args, settings = self.args, self.settings
        keyring_ok, note = composition.prepare_keyring(allow_memory=True)
        if note:
            print(f"agentdesk demo: {note}", file=sys.stderr, flush=True)
        central, key_text = self._open_central(settings)
        callers = sample_callers(central)
        sim, sim_loop = self._start_simulator(callers, settings)
        url = self._start_server(settings, central, key_text, sim.port)
        stores = composition.open_stores(settings, persistent_cache=keyring_ok)
        self._stops.append(stores.dispose)
        api = ServerApi(url)
        signin = DesktopSignIn(api, settings.workstation)
        try:
            identity = signin.authenticate(args.agent, DEMO_PASSWORD)
        except AuthError as exc:
            raise RuntimeError(f"demo agent {args.agent!r}: {exc}") from exc
        self._seat_agent(sim, sim_loop, identity)
        bridge = Bridge()
        self._stops.append(bridge.shutdown)
        desktop = composition.build_desktop(
            settings,
            stores,
            identity,
            bridge,
            None,  # no AMI login on the desktop: calls come through the server's gateway
            server=composition.server_connection(api, signin.grant),
            options=DeskOptions(auto_answer=args.auto_answer, region=settings.default_region),
            policy=load_policy(acw_limit_seconds=args.acw_limit),
        )
        self._stops.append(desktop.shutdown)
        if note:  # the keyring's limits: one status-bar line, details on click
            desktop.window.status.add_setup_note(note)
        self._direct_calls(desktop, callers, sim, sim_loop, identity.interface or "")
        from PySide6.QtWidgets import QApplication

        from agentdesk.commands.run import install_quit_handlers

        install_quit_handlers(QApplication.instance(), desktop.window, args.quit_after)
        desktop.window.setWindowTitle(desktop.window.windowTitle() + " — DEMO")
        desktop.window.show()
        self.desktop = desktop

    def _open_central(self, settings: Settings) -> tuple[Any, str]:
        """The embedded central store (seeded if empty) and the demo's field key."""
        from sqlalchemy import func, select

        from agentdesk.models import Customer
        from agentdesk.services.seeding.generator import SeedOptions, seed
        from agentdesk.store import migrate
        from agentdesk.store.central import open_central
        from agentdesk.store.field_crypto import FieldKeyring

        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key_text = demo_field_key(settings.data_dir)
        keyring = FieldKeyring.parse(key_text, "demo field key")
        central = open_central(settings)
        self._stops.append(central.dispose)
        migrate.upgrade(central, field_keyring=keyring)
        with central.connect() as conn:
            empty = not conn.execute(select(func.count()).select_from(Customer)).scalar()
        if empty:
            print(
                f"agentdesk demo: seeding {self.args.customers:,} demo customers into "
                f"{settings.central_url} …",
                flush=True,
            )
            seed(central, SeedOptions(customers=self.args.customers, field_key=key_text), workers=1)
        return central, key_text

    def _start_server(self, settings: Settings, central: Any, key_text: str, pbx_port: int) -> str:
        """Serve the store on a loopback port (plain HTTP), its CTI gateway logged in to the
        simulator with the demo's AMI user (secret in the keyring entry the simulator set)."""
        from agentdesk.commands.corebank import serve_on_thread
        from agentdesk.commands.demo_mail import start_mail_sink
        from agentdesk.server.app import build_context, create_app
        from agentdesk.server.cti.config import PbxConfig
        from agentdesk.server.run import ServerThread
        from agentdesk.server.settings import ListenSettings, ServerSettings
        from agentdesk.services.corebank.client import CoreBankSettings
        from agentdesk.store.field_crypto import FieldKeyring

        keyring = FieldKeyring.parse(key_text, "demo field key")
        pbx = PbxConfig(
            site="demo",
            host="127.0.0.1",
            port=pbx_port,
            username=settings.pbx.username,
            secret_keyring=settings.pbx.secret_key,
            auth="md5" if settings.pbx.use_md5 else "plain",
            queue_transfers=_queue_codes(),
        )
        # A one-desk site: every role's desktop holds the whole (small) customer base.
        listen = ListenSettings(
            host="127.0.0.1", port=0, full_replica_roles=("agent", "supervisor", "admin")
        )
        # The simulated core-banking system over the same store, read by the server only.
        core_url, stop_core = serve_on_thread(central)
        self._stops.append(stop_core)
        self.core_url = core_url
        print(f"agentdesk demo: core-banking simulator on {core_url}", flush=True)
        # The demo's mail gateway: customer e-mail of orders and tickets is really sent.
        self.mail, smtp, line = start_mail_sink(settings.data_dir)
        if self.mail is not None:
            self._stops.append(self.mail.stop)
        print(f"agentdesk demo: {line}", flush=True)
        ctx = build_context(
            central,
            ServerSettings(
                listen=listen, pbx=(pbx,), corebank=CoreBankSettings(core_url), smtp=smtp
            ),
            region=settings.default_region,
            cipher=keyring,
        )
        server = ServerThread(create_app(ctx), listen)
        url = server.start()
        self._stops.append(server.stop)
        self.server_url = url
        print(f"agentdesk demo: server on {url} (CTI gateway to the simulator)", flush=True)
        return url

    def _start_simulator(self, callers: Any, settings: Settings) -> tuple[Any, Any]:
        from agentdesk import vault
        from agentdesk.telephony.loop_thread import LoopThread
        from agentdesk.telephony.sim.config import load_config
        from agentdesk.telephony.sim.simulator import PbxSimulator

        args = self.args
        config = load_config()
        user = next(u for u in config.users if u.username == "agentdesk")
        vault.set_secret(settings.pbx.secret_key, user.secret)
        traffic = not args.no_traffic and args.scenario is None
        sim = PbxSimulator(
            config,
            seed=7,
            time_scale=args.time_scale,
            caller_pool=callers.pool(),
            traffic=traffic,
            port=0,
        )
        loop = LoopThread("agentdesk-pbx-sim")
        loop.start()

        loop.submit(sim.start()).result(15)

        def stop_simulator() -> None:
            loop.submit(sim.stop()).result(5)
            loop.stop()
            sim.close()

        self._stops.append(stop_simulator)
        return sim, loop

    def _seat_agent(self, sim: Any, loop: Any, identity: Any) -> None:
        """The demo agent's phone on the simulator, a member of every queue."""

        async def seat() -> None:
            queues = {queue: 0 for queue in sim.config.queues}
            sim.add_agent(identity.interface, identity.display_name, queues)

        loop.submit(seat()).result(15)
        print(
            f"agentdesk demo: PBX simulator on 127.0.0.1:{sim.port}; signed in as "
            f"{identity.display_name} ({identity.interface})",
            flush=True,
        )

    def _direct_calls(
        self, desktop: Any, callers: Any, sim: Any, loop: Any, interface: str
    ) -> None:
        from agentdesk.ui.demo_director import DemoDirector

        first_queue = next(iter(sim.config.queues))

        def place(call: Any, through_ivr: bool) -> None:
            queue = None if through_ivr else first_queue
            loop.call_soon(
                lambda: sim.place_call(
                    call.number,
                    name=call.name,
                    intent=call.intent,
                    idv=call.idv,
                    agent=interface,
                    queue=queue,
                )
            )

        sync = desktop.sync
        director = DemoDirector(
            desktop.controller,
            callers,
            place,
            only=self.args.scenario,
            ready=lambda: sync is None or sync.status().phase not in ("starting", "filling"),
        )
        director.start()
        self._stops.append(director.stop)
        self.director = director

    def stop(self) -> None:
        for stop in reversed(self._stops):
            try:
                stop()
            except Exception:
                log.exception("demo shutdown step failed")
        self._stops.clear()
