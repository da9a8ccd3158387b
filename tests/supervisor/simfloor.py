"""A simulator wired straight into a LiveBoard: every emitted event reaches the board at sim time.

No sockets and no loop: ``run(seconds)`` advances the simulator synchronously
and the board sees each event with the simulator's epoch as ``now``, so the
expected figures below are exact and hand-computable.
"""

from __future__ import annotations

from typing import Any

from agentdesk.services.supervisor import LiveBoard, SupervisorSettings
from agentdesk.services.supervisor.queue_metrics import MetricsConfig, ServiceLevelDefinition
from agentdesk.telephony.codec import AmiMessage
from agentdesk.telephony.events import CoreShowChannel, QueueSummary, decode, decode_all
from agentdesk.telephony.sim.config import QueueConfig
from agentdesk.telephony.sim.simulator import PbxSimulator
from tests.telephony.amihelpers import make_config, make_sim

GENERAL = QueueConfig("general", strategy="rrmemory", timeout=15, retry=5, wrapuptime=0,
                      autopause="no", servicelevel=20)  # fmt: skip


def settings(**metrics: Any) -> SupervisorSettings:
    definition = ServiceLevelDefinition(threshold_s=20, short_abandon_s=5, target=0.8)
    config = MetricsConfig(service_level=definition, **metrics)
    return SupervisorSettings(metrics=config)


class SimFloor:
    """One simulator and one board listening to it."""

    def __init__(
        self,
        *,
        agents: int = 1,
        queues: dict[str, QueueConfig] | None = None,
        board_settings: SupervisorSettings | None = None,
        **sim: Any,
    ) -> None:
        config = make_config(queues=queues or {"general": GENERAL}, agents=agents)
        self.sim: PbxSimulator = make_sim(config, **sim)
        self.board = LiveBoard(board_settings or settings())
        self.events: list[AmiMessage] = []
        self.online = True  # False: events are lost, as over a dropped AMI link
        self.sim.add_sink(self._on_event)
        self.resync()

    def _on_event(self, message: AmiMessage, _klass: str) -> None:
        if self.online:
            self.events.append(message)
            self.board.handle(decode(message), self.now)

    @property
    def now(self) -> float:
        return self.sim.sched.epoch()

    def resync(self) -> None:
        request = AmiMessage.build(("Action", "QueueStatus"))
        status = [m for m in self.sim.actions.queue_status(None, request) if m.event]  # type: ignore[arg-type]
        channels_req = AmiMessage.build(("Action", "CoreShowChannels"))
        channels = self.sim.actions.core_show_channels(None, channels_req)  # type: ignore[arg-type]
        summary = self.sim.actions.queue_summary(None, AmiMessage.build(("Action", "QueueSummary")))  # type: ignore[arg-type]
        self.board.resync(
            decode_all([m for m in status if not (m.event or "").endswith("Complete")]),
            [e for e in decode_all(channels) if isinstance(e, CoreShowChannel)],
            [e for e in decode_all(summary) if isinstance(e, QueueSummary)],
            now=self.now,
        )

    def run(self, seconds: float) -> None:
        self.sim.run_for(seconds)
        self.board.tick(self.now)

    def pbx(self, fn: Any, *args: Any) -> None:
        """Change the PBX outside a scheduler step, then let its buffered events out."""
        fn(*args)
        self.sim.writer.flush()

    def call(self, number: str, *, queue: str = "general", **kwargs: Any) -> str:
        return self.sim.place_call(number, queue=queue, **kwargs).uniqueid
