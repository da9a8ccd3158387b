"""PBX simulator throughput with 500 virtual agents (target: >= 200 call events/s on one core).

Two figures:
1. fast-forward: simulated time runs as fast as one core allows; every event is built and
   encoded to AMI bytes; prints events per CPU second.
2. live: the simulator serves AMI on 127.0.0.1 in scaled real time and the desktop's
   AmiClient (same process, same core) receives every event; prints events/s delivered
   and the CPU share used.

Run: .venv/bin/python bench/pbx.py [--agents 500] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import replace

from agentdesk.telephony.client import AmiClient
from agentdesk.telephony.codec import AmiMessage, encode
from agentdesk.telephony.sim import PbxSimulator, load_config
from agentdesk.telephony.sim.traffic import RateProfile


def _config(agents: int, occupancy: float = 0.85):  # type: ignore[no-untyped-def]
    config = load_config()
    rate = agents * 3600 / config.traffic.handle.mean * occupancy / 0.75  # ~25% leave in IVR
    return config.with_(traffic=replace(config.traffic, profile=RateProfile((rate,))))


def fast_forward(agents: int, sim_hours: float) -> None:
    sim = PbxSimulator(_config(agents), seed=7, virtual_agents=agents, epoch=1_700_000_000)
    encoded = 0

    def sink(message: AmiMessage, klass: str) -> None:
        nonlocal encoded
        encoded += len(encode(message))

    sim.add_sink(sink)
    sim.run_for(1800)  # warm up to a steady state
    before, cpu0 = sim.stats(), time.process_time()
    sim.run_for(sim_hours * 3600)
    cpu = time.process_time() - cpu0
    after = sim.stats()
    events = after.events - before.events
    print(
        f"fast-forward: {agents} agents, {sim_hours:g} simulated h, "
        f"{after.offered - before.offered} calls, {events} events, {encoded / 1e6:.1f} MB AMI"
    )
    print(
        f"fast-forward: {events / cpu:,.0f} events per CPU second "
        f"({sim_hours * 3600 / cpu:,.0f}x real time)"
    )


async def live(agents: int, seconds: float, time_scale: float) -> None:
    sim = PbxSimulator(_config(agents), seed=7, virtual_agents=agents, time_scale=time_scale)
    sim.run_for(1800)
    await sim.start()
    client = AmiClient("127.0.0.1", sim.port, "agentdesk", "agentdesk", ping_interval=5)
    received = 0

    def count(message: AmiMessage) -> None:
        nonlocal received
        received += 1

    client.on_event(count)
    await client.connect(timeout=10)
    received = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    await asyncio.sleep(seconds)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    await client.close()
    await sim.stop()
    print(
        f"live AMI: {agents} agents, time scale {time_scale:g}, {wall:.1f} s: "
        f"{received / wall:,.0f} events/s received by the client "
        f"(server + client on one core, CPU {100 * cpu / wall:.0f}%)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sim-hours", type=float, default=1.0)
    parser.add_argument("--time-scale", type=float, default=20.0)
    args = parser.parse_args()
    fast_forward(args.agents, args.sim_hours)
    asyncio.run(live(args.agents, args.seconds, args.time_scale))


if __name__ == "__main__":
    main()
