"""The agent's missed calls read back from the encrypted cache after a restart.

Every offer that rang out here is filed as a phone interaction with the ``missed``
disposition (``WrapUpService.record_missed``), in the cache and through the outbox to
the server. A desktop that restarts rebuilds its missed-call list from those rows, so
the calls the agent still owes a call back do not vanish with the process.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Engine, select

from agentdesk.models import Interaction
from agentdesk.services.crm.phone import normalise
from agentdesk.services.desk.session import MissedCall
from agentdesk.services.desk.wrapup import MISSED_DISPOSITION
from agentdesk.store.engine import read_session

MAX_READ = 50  # as many as the live list keeps
_SUBJECT_PREFIX = "Missed call: "


class MissedCallLog:
    """Reads one agent's filed missed calls (run it on the local worker lane)."""

    def __init__(self, engine: Engine, agent_id: uuid.UUID, region: str = "GB") -> None:
        self._engine = engine
        self._agent_id = agent_id
        self._region = region

    def today(self) -> list[MissedCall]:
        """Since the start of the workstation's local day, newest first."""
        midnight = dt.datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
        return self.since(midnight)

    def since(self, when: dt.datetime, limit: int = MAX_READ) -> list[MissedCall]:
        """The agent's missed calls filed at or after ``when``, newest first."""
        query = (
            select(Interaction)
            .where(
                Interaction.agent_id == self._agent_id,
                Interaction.disposition_code == MISSED_DISPOSITION,
                Interaction.started_at >= when.astimezone(dt.UTC),
            )
            .order_by(Interaction.started_at.desc())
            .limit(min(max(limit, 0), MAX_READ))
        )
        with read_session(self._engine) as session:
            return [self._row(r) for r in session.scalars(query)]

    def _row(self, row: Interaction) -> MissedCall:
        subject = row.subject or ""
        reason = ""
        if subject.startswith(_SUBJECT_PREFIX):
            reason = subject.removeprefix(_SUBJECT_PREFIX)
        return MissedCall(
            linkedid=row.linkedid or str(row.id),
            at=row.ended_at or row.started_at,
            caller=normalise(row.caller_id or "", self._region).display,
            queue=row.queue,
            reason=reason or "not answered",
            customer_id=row.customer_id,
        )
