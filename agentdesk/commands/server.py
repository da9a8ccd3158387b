"""``agentdesk server``: the trusted tier, the only process that opens the central database.

    agentdesk server [--host H] [--port P] [--certfile PEM --keyfile KEY]
                     [--field-key-file PATH] [--upgrade]
                     [--pbx HOST:PORT [--pbx-user NAME] [--pbx-secret-file PATH]]

Settings come from the ``[listen]``, ``[auth]``, ``[ldap]``, ``[[pbx]]`` and
``[central]`` tables of the settings file (see ``agentdesk.server.settings``);
the options here override ``[listen]``. ``--pbx`` (for the demo and a lab's
simulator) replaces the ``[[pbx]]`` list with one PBX on a loopback address,
site ``local``; its secret comes from ``--pbx-secret-file`` (0600) or else the
keyring entry ``ami``. Every PBX's secret is read before the server starts.
Prints ``listening on URL`` once it serves, and stops cleanly on SIGINT or
SIGTERM.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "server", help="the agentdesk server (sign-in, sync, look-ups) over HTTPS"
    )
    parser.add_argument("--host", help="address to listen on (plain HTTP only on loopback)")
    parser.add_argument("--port", type=int, help="port (0: any free port)")
    parser.add_argument("--certfile", type=Path, help="the site's certificate chain (PEM)")
    parser.add_argument("--keyfile", type=Path, help="its private key")
    parser.add_argument(
        "--field-key-file", type=Path, help="key for identity numbers and dates of birth (0600)"
    )
    parser.add_argument(
        "--upgrade", action="store_true", help="migrate the central store to this version first"
    )
    parser.add_argument(
        "--pbx", metavar="HOST:PORT", help="one PBX on a loopback address (demo, simulator)"
    )
    parser.add_argument("--pbx-user", default="agentdesk", help="its AMI user (default agentdesk)")
    parser.add_argument(
        "--pbx-secret-file", type=Path, help="its AMI secret (0600; else keyring entry 'ami')"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from agentdesk.commands.common import settings_from
    from agentdesk.config import ConfigError
    from agentdesk.server.app import build_context, create_app, field_cipher
    from agentdesk.server.cti.config import pbx_from_address
    from agentdesk.server.run import ServerThread
    from agentdesk.server.settings import is_loopback, load_server_settings
    from agentdesk.store import migrate
    from agentdesk.store.central import open_central
    from agentdesk.store.engine import StoreError
    from agentdesk.store.standby import open_standby

    try:
        settings = settings_from(args)
        server_settings = load_server_settings(Path(args.config) if args.config else None)
        overrides = {
            key: value
            for key, value in (
                ("host", args.host),
                ("port", args.port),
                ("certfile", args.certfile),
                ("keyfile", args.keyfile),
                ("field_key_file", args.field_key_file),
            )
            if value is not None
        }
        listen = dataclasses.replace(server_settings.listen, **overrides)
        listen.check()
        if args.pbx:
            pbx = pbx_from_address(
                args.pbx,
                username=args.pbx_user,
                secret_file=args.pbx_secret_file,
                secret_keyring=None,
            )
            if not is_loopback(pbx.host):
                raise ConfigError(
                    f"--pbx is for a PBX on this machine ({pbx.host} is not a loopback "
                    "address); configure a real PBX in [[pbx]] of the settings file"
                )
            server_settings = dataclasses.replace(server_settings, pbx=(pbx,))
        for pbx in server_settings.pbx:
            pbx.read_secret()  # a missing or world-readable secret stops the start here
        cipher = field_cipher(listen.field_key_file)
        engine = open_central(settings)
        standby = open_standby(settings)  # connects lazily: a standby down does not stop a start
        if args.upgrade:
            migrate.upgrade(engine, field_keyring=cipher)
        else:
            migrate.check(engine)
    except (ConfigError, StoreError, migrate.SchemaDriftError, OSError) as exc:
        print(f"agentdesk server: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the database refused or is down: say which, briefly
        print(f"agentdesk server: cannot open the central store ({exc})", file=sys.stderr)
        return 2
    server_settings = dataclasses.replace(server_settings, listen=listen)
    ctx = build_context(
        engine, server_settings, region=settings.default_region, cipher=cipher, standby=standby
    )
    thread = ServerThread(create_app(ctx), listen)
    try:
        url = thread.start()
    except RuntimeError as exc:
        print(f"agentdesk server: {exc}", file=sys.stderr)
        return 2
    print(f"listening on {url}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    log.info("stopping")
    thread.stop()
    engine.dispose()
    return 0
