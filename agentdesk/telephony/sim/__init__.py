"""PBX simulator: an AMI server that behaves like Asterisk 20, with IVR, ACD and traffic.

Entry points: :class:`PbxSimulator` (embed or run), :func:`load_config`,
:class:`CallerPool`/:class:`Caller` (the app wires a database-backed pool).
"""

from agentdesk.telephony.sim.config import PbxConfig, QueueConfig, load_config, parse_config
from agentdesk.telephony.sim.ivr import CallerScript, IvrResult
from agentdesk.telephony.sim.simulator import PbxSimulator, PlacedCall, SimStats
from agentdesk.telephony.sim.traffic import Caller, CallerPool, StaticCallerPool

__all__ = [
    "Caller",
    "CallerPool",
    "CallerScript",
    "IvrResult",
    "PbxConfig",
    "PbxSimulator",
    "PlacedCall",
    "QueueConfig",
    "SimStats",
    "StaticCallerPool",
    "load_config",
    "parse_config",
]
