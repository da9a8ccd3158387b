"""The day's queue events as the server's CTI gateway received them (issue 15 item 1).

One row per queue_log record the server built from the PBX's AMI events (the
vocabulary of :mod:`agentdesk.services.supervisor.records`: ENTERQUEUE,
CONNECT, COMPLETECALLER/COMPLETEAGENT/TRANSFER, ABANDON, EXITWITHTIMEOUT,
WITHDRAW, RINGNOANSWER, PAUSE/UNPAUSE, ADDMEMBER/REMOVEMEMBER). The live
wallboard and the reports are both computed from these rows, so they share
one source and one set of definitions.

Central-only (the change feed never carries it); it lives in the one Alembic
history like every other table, so a desktop cache has it too, empty.

``seq`` is the order in which the site's floor accepted the record (the order
the wallboard counted it in); ``dedupe_key`` names the record so the same
fact is stored once per site (a call id + queue + attempt + kind for a call's
records, see ``server/cti/queue_store.py``). ``epoch`` is the record's
timestamp in epoch seconds, kept as a double so a replay gives the very
figures the live board computed. ``data`` holds the queue_log data fields as
written (ENTERQUEUE's second field is the caller's number: never log it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Double, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentdesk.models.base import Base

_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only


class QueueRecord(Base):
    """One normalised queue record of one PBX site."""

    __tablename__ = "queue_record"
    __table_args__ = (
        UniqueConstraint("site", "dedupe_key"),
        Index("ix_queue_record_site_epoch", "site", "epoch"),
        Index("ix_queue_record_site_seq", "site", "seq"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    epoch: Mapped[float] = mapped_column(Double)
    kind: Mapped[str] = mapped_column(String(24))
    call_id: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(128))
    agent: Mapped[str] = mapped_column(String(128))
    wait_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    talk_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    data: Mapped[list[Any]] = mapped_column(JSON)
    dedupe_key: Mapped[str] = mapped_column(String(400))
