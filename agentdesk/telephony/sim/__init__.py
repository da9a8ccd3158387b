"""PBX simulator: an AMI server that behaves like Asterisk 20, with IVR, ACD and traffic.

Entry points: :class:`PbxSimulator` (embed or run), :func:`load_config`,
:class:`CallerPool`/:class:`Caller` (the app wires a database-backed pool).

Asterisk behaviour the simulator does not reproduce (a desktop tested only
here may still meet these on a real PBX):

* channels and events: no ``Local/`` member channels (FreePBX style, with
  ``;1``/``;2`` legs); no NewConnectedLine, NewCallerid, DeviceStateChange,
  ExtensionStatus, Cdr or CEL events; no ``Timestamp``/SystemName/debug
  headers; no ``eventfilter``, TLS or ``allowmultiplelogin``; hold does not
  move the device state to ONHOLD; hang-up causes are simplified;
* queues: no position announcements, ``joinempty``/``leavewhenempty`` or
  ``penaltymemberslimit``; no ``setinterfacevar``/``setqueueentryvar`` VarSets;
  a callback offer is recorded but no callback call is placed;
* actions: Originate is always asynchronous and auto-answered; Atxfer
  completes after a simulated consult (no CancelAtxfer); Redirect works on a
  connected queue call only; Command, QueuePenalty, QueueLog and QueueReset
  are answered as unknown commands;
* queue_log: BLINDTRANSFER/ATTENDEDTRANSFER spellings follow Asterisk 12+ as
  recalled from app_queue.c, not checked against the source.
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
