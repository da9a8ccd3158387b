"""``agentdesk demo``: everything on one machine, no set-up.

An embedded central SQLite store (seeded with demo data when empty), the PBX
simulator in-process (virtual agents and background traffic drawn from the
demo customers), and the desktop signed in as a demo agent. Scripted calls
ring the demo agent's phone a few seconds after they become Available, and
rotate through known, shared, unknown and withheld numbers so every kind of
screen pop shows up. Without an OS keyring the demo says so and keeps its
secrets in memory for the session.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
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
        local=dataclasses.replace(base.local, path=None, full_replica=True),  # a one-desk site
        pbx=PbxSettings(
            host="127.0.0.1", port=0, username="agentdesk", secret_key="demo-ami", use_md5=True
        ),
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
        from sqlalchemy import func, select

        from agentdesk import app as composition
        from agentdesk import vault
        from agentdesk.models import Customer
        from agentdesk.services.agent_state import load_policy
        from agentdesk.services.auth import AuthService, WrongCredentials
        from agentdesk.services.demo_calls import sample_callers
        from agentdesk.services.seeding.generator import SeedOptions, seed
        from agentdesk.services.seeding.reference import DEMO_PASSWORD
        from agentdesk.ui.bridge import Bridge
        from agentdesk.ui.desk_controller import DeskOptions

        args, settings = self.args, self.settings
        keyring_ok, note = composition.prepare_keyring(allow_memory=True)
        if note:
            print(f"agentdesk demo: {note}", file=sys.stderr, flush=True)
        stores = composition.open_stores(settings, persistent_cache=keyring_ok, create_central=True)
        self._stops.append(stores.dispose)
        if stores.central is None or not stores.central_ok:
            raise RuntimeError("; ".join(stores.notes) or "the embedded store could not be opened")
        central = stores.central
        with central.connect() as conn:
            empty = not conn.execute(select(func.count()).select_from(Customer)).scalar()
        if empty:
            print(
                f"agentdesk demo: seeding {args.customers:,} demo customers into "
                f"{settings.central_url} …",
                flush=True,
            )
            seed(central, SeedOptions(customers=args.customers), workers=1)
        try:
            identity = AuthService(central).authenticate(args.agent, DEMO_PASSWORD)
        except WrongCredentials as exc:
            raise RuntimeError(f"demo agent {args.agent!r}: {exc}") from exc
        callers = sample_callers(central)
        sim, sim_loop = self._start_simulator(callers, identity, settings)
        bridge = Bridge()
        self._stops.append(bridge.shutdown)
        ami = composition.AmiCredentials(
            "127.0.0.1",
            sim.port,
            "agentdesk",
            vault.get_secret(settings.pbx.secret_key) or "",
        )
        desktop = composition.build_desktop(
            settings,
            stores,
            identity,
            bridge,
            ami,
            options=DeskOptions(auto_answer=args.auto_answer, region=settings.default_region),
            policy=load_policy(acw_limit_seconds=args.acw_limit),
        )
        self._stops.append(desktop.shutdown)
        for text in (note, *stores.notes):
            if text:
                desktop.window.banner.add(text)
        self._direct_calls(desktop, callers, sim, sim_loop, identity.interface or "")
        from PySide6.QtWidgets import QApplication

        from agentdesk.commands.run import install_quit_handlers

        install_quit_handlers(QApplication.instance(), desktop.window, args.quit_after)
        desktop.window.setWindowTitle(desktop.window.windowTitle() + " — DEMO")
        desktop.window.show()
        self.desktop = desktop

    def _start_simulator(self, callers: Any, identity: Any, settings: Settings) -> tuple[Any, Any]:
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

        async def boot() -> None:
            await sim.start()
            sim.add_agent(
                identity.interface, identity.display_name, {queue: 0 for queue in config.queues}
            )

        loop.submit(boot()).result(15)

        def stop_simulator() -> None:
            loop.submit(sim.stop()).result(5)
            loop.stop()
            sim.close()

        self._stops.append(stop_simulator)
        print(
            f"agentdesk demo: PBX simulator on 127.0.0.1:{sim.port}; signed in as "
            f"{identity.display_name} ({identity.interface})",
            flush=True,
        )
        return sim, loop

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
