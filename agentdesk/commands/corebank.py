"""``agentdesk corebank``: run the simulated core-banking system (HTTP, loopback).

It serves the products the central store holds (what ``agentdesk seed``
wrote), so the core system and the CRM agree, with deterministic limits,
rates and transactions from ``--seed`` and injected latency and failures.
The server reads it through ``[corebank] url``; desktops never do.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import socket
import sys
import threading
from typing import Any

import uvicorn
from sqlalchemy import Engine

from agentdesk.commands.common import settings_from
from agentdesk.config import ConfigError
from agentdesk.server.settings import is_loopback
from agentdesk.services.corebank.ledger import StoreBook
from agentdesk.services.corebank.simulator import CoreSimulator, Faults
from agentdesk.store.central import open_central
from agentdesk.store.engine import StoreError, central_engine

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "corebank",
        help="run the simulated core-banking system (accounts, cards, loans, transactions)",
        description=(
            "Serve the core-banking contract of docs/corebank.md over HTTP on a loopback "
            "address, for the products in the central store, with injected latency and "
            "failures. Prints 'corebank listening on URL' once it accepts connections."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=_port, default=8780, help="TCP port, 0 for any free one (default 8780)"
    )
    parser.add_argument("--url", help="database URL (default: the configured central store)")
    parser.add_argument(
        "--seed", type=int, default=42, help="seed for limits, rates, transactions and faults"
    )
    parser.add_argument(
        "--today", type=dt.date.fromisoformat, help="the books' date, YYYY-MM-DD (default: today)"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=40.0, help="answer delay in ms (default 40)"
    )
    parser.add_argument(
        "--jitter", type=float, default=15.0, help="± this many ms around the delay (default 15)"
    )
    parser.add_argument("--fail-rate", type=float, default=0.0, help="fraction answered 503")
    parser.add_argument(
        "--timeout-rate", type=float, default=0.0, help="fraction that hang for --hang-s first"
    )
    parser.add_argument("--hang-s", type=float, default=30.0, help="length of a hang (default 30)")
    parser.add_argument(
        "--garbage-rate", type=float, default=0.0, help="fraction answered with broken JSON"
    )
    parser.set_defaults(func=_run)


def serve_on_thread(engine: Engine, *, seed: int = 42, faults: Faults | None = None) -> Any:
    """The simulator on a loopback port in a background thread (``agentdesk demo``).

    Returns ``(url, stop)``. Realistic latency by default (40 ms ± 15 ms).
    """
    app = CoreSimulator(StoreBook(engine), seed=seed, faults=faults or Faults(40, 15))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="corebank", daemon=True
    )
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(10)

    return f"http://127.0.0.1:{sock.getsockname()[1]}", stop


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be between 0 and 65535")
    return value


def _run(args: argparse.Namespace) -> int:
    if not is_loopback(args.host):
        print(
            "agentdesk corebank: the simulator serves balances without sign-in, so it listens "
            "on a loopback address only (127.0.0.1 or ::1)",
            file=sys.stderr,
        )
        return 2
    try:
        faults = Faults(
            latency_ms=args.latency_ms,
            jitter_ms=args.jitter,
            fail_rate=args.fail_rate,
            timeout_rate=args.timeout_rate,
            garbage_rate=args.garbage_rate,
            hang_s=args.hang_s,
        )
        engine = central_engine(args.url) if args.url else open_central(settings_from(args))
    except (ValueError, StoreError, ConfigError) as exc:
        print(f"agentdesk corebank: {exc}", file=sys.stderr)
        return 2
    app = CoreSimulator(StoreBook(engine), seed=args.seed, today=args.today, faults=faults)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
        sock.listen(2048)  # connections queue from now on, so the line below is true
    except OSError as exc:
        print(
            f"agentdesk corebank: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr
        )
        return 2
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,  # request lines carry customer ids
        lifespan="on",
        timeout_keep_alive=30,
        timeout_graceful_shutdown=2,  # an injected hang must not hold up the exit
    )
    print(f"corebank listening on http://{shown}:{port}", flush=True)
    uvicorn.Server(config).run(sockets=[sock])
    engine.dispose()
    return 0
