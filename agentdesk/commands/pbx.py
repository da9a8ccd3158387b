"""``agentdesk pbx``: run the PBX simulator (an Asterisk-20-like AMI server) standalone."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import signal
import sys
from typing import Any

from agentdesk.telephony.sim.config import ConfigError, load_config
from agentdesk.telephony.sim.ivr_flow import FlowError
from agentdesk.telephony.sim.simulator import PbxSimulator
from agentdesk.telephony.sim.traffic import RateProfile

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "pbx",
        help="run the PBX simulator: AMI server with IVR, queues, agents and traffic",
        description=(
            "Run an AMI server that behaves like Asterisk 20 (banner Asterisk Call Manager/9.0.0), "
            "with IVR flows, ACD queues, virtual agents and Poisson traffic. Desktops log in "
            "with the users of the config file (default resources/pbx/pbx.toml)."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5038, help="AMI TCP port (default 5038)")
    parser.add_argument(
        "--agents", type=_count, default=None, help="virtual agents (default: from the config)"
    )
    parser.add_argument(
        "--rate",
        type=_rate,
        default=None,
        help="arrivals per hour, flat (default: the config's intraday profile); 0 = no traffic",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed for exact replays")
    parser.add_argument(
        "--time-scale",
        type=_scale,
        default=1.0,
        help="simulated seconds per real second (e.g. 10 for a fast demo; default 1)",
    )
    parser.add_argument(
        "--overload", action="store_true", help="multiply arrivals by the overload factor"
    )
    parser.add_argument("--queue-log", metavar="PATH", help="append Asterisk queue_log lines here")
    parser.add_argument(
        "--pbx-config", metavar="TOML", help="simulator config (users, queues, agents, traffic)"
    )
    parser.add_argument(
        "--system-name",
        type=_system_name,
        default=None,
        help="asterisk.conf systemname: prefixes uniqueids and Linkedids (several PBXs)",
    )
    parser.add_argument(
        "--duration", type=float, default=None, help="stop after this many real seconds"
    )
    parser.set_defaults(func=_run)


def _count(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 5000:
        raise argparse.ArgumentTypeError("must be between 0 and 5000")
    return value


def _system_name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_]{1,20}", text):
        raise argparse.ArgumentTypeError("letters, digits and _ only (at most 20)")
    return text


def _rate(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be zero or more")
    return value


def _scale(text: str) -> float:
    value = float(text)
    if not 0 < value <= 10_000:
        raise argparse.ArgumentTypeError("must be > 0 and <= 10000")
    return value


def _run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.pbx_config)
    except (OSError, ConfigError, FlowError) as exc:
        print(f"agentdesk pbx: {exc}", file=sys.stderr)
        return 2
    if args.rate is not None:
        config = config.with_(traffic=_flat(config.traffic, args.rate))
    try:
        return asyncio.run(_serve(args, config))
    except OSError as exc:
        print(f"agentdesk pbx: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1


def _flat(traffic: Any, rate: float) -> Any:
    from dataclasses import replace

    return replace(traffic, profile=RateProfile((rate,)))


async def _serve(args: argparse.Namespace, config: Any) -> int:
    sim = PbxSimulator(
        config,
        seed=args.seed,
        time_scale=args.time_scale,
        queue_log=args.queue_log,
        host=args.host,
        port=args.port,
        virtual_agents=args.agents,
        traffic=args.rate != 0,
        overload=args.overload,
        system_name=args.system_name or "",
    )
    await sim.start()
    users = ", ".join(u.username for u in config.users)
    print(
        f"agentdesk pbx: AMI on {args.host}:{sim.port} (users: {users}); Ctrl+C stops", flush=True
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), args.duration)
    await sim.stop()
    sim.close()
    s = sim.stats()
    print(
        f"agentdesk pbx: {s.offered} calls, {s.events} events, {s.queue_log_lines} queue_log lines"
    )
    return 0
