"""The supervisors' review list of duplicate candidates (what the scan stored).

Open pairs highest score first, each side as a short brief (name, kind,
segment, birth year, how many phones and e-mails), and the merge awaiting a
second supervisor's approval when there is one. Pairs where either customer
has since been merged or deleted are left out.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from agentdesk.models import (
    Customer,
    CustomerEmail,
    CustomerPhone,
    DuplicateCandidate,
    MergeRequest,
)
from agentdesk.services.crm.duplicates import ordered_pair
from agentdesk.store.engine import read_session

_BATCH = 500


def _chunks(items: Sequence[uuid.UUID], size: int = _BATCH) -> Iterator[Sequence[uuid.UUID]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class CustomerBrief:
    """One side of a candidate pair, as a supervisor's review list shows it."""

    id: uuid.UUID
    display_name: str
    kind: str
    segment: str
    birth_year: int | None
    contacts: int
    created_at: dt.datetime


@dataclass(frozen=True)
class PendingMerge:
    """A merge asked for and not yet decided: who asked, which customer stays."""

    request_id: uuid.UUID
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    requested_by: str
    requested_at: dt.datetime
    note: str | None


@dataclass(frozen=True)
class CandidateRow:
    """One line of the review list: the pair, the score and reasons, any pending request."""

    id: uuid.UUID
    score: int
    reasons: tuple[str, ...]
    left: CustomerBrief
    right: CustomerBrief
    found_at: dt.datetime
    pending: PendingMerge | None = None

    @property
    def status(self) -> str:
        if self.pending is None:
            return "To review"
        return f"Merge asked by {self.pending.requested_by}"


def review_list(engine: Engine, limit: int = 200) -> tuple[CandidateRow, ...]:
    """Open candidates, highest score first, with any pending merge request.

    Pairs where either customer has since been merged or deleted are left out.
    """
    limit = max(1, min(limit, 1000))
    with read_session(engine) as session:
        a = Customer.__table__.alias("a")
        b = Customer.__table__.alias("b")
        rows = session.execute(
            select(DuplicateCandidate)
            .join(a, a.c.id == DuplicateCandidate.customer_a)
            .join(b, b.c.id == DuplicateCandidate.customer_b)
            .where(
                DuplicateCandidate.state == "open",
                a.c.deleted_at.is_(None),
                b.c.deleted_at.is_(None),
            )
            .order_by(DuplicateCandidate.score.desc(), DuplicateCandidate.found_at)
            .limit(limit)
        ).scalars()
        candidates = list(rows)
        ids = {c for row in candidates for c in (row.customer_a, row.customer_b)}
        briefs = _briefs(session, ids)
        pending = _pending_by_pair(session, ids)
        return tuple(
            CandidateRow(
                id=row.id,
                score=row.score,
                reasons=tuple(str(r) for r in row.reasons),
                left=briefs[row.customer_a],
                right=briefs[row.customer_b],
                found_at=row.found_at,
                pending=pending.get((row.customer_a, row.customer_b)),
            )
            for row in candidates
        )


def _briefs(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, CustomerBrief]:
    out: dict[uuid.UUID, CustomerBrief] = {}
    listed = list(ids)
    for chunk in _chunks(listed):
        counts: dict[uuid.UUID, int] = defaultdict(int)
        for model in (CustomerPhone, CustomerEmail):
            for cid, n in session.execute(
                select(model.customer_id, func.count())
                .where(model.customer_id.in_(chunk))
                .group_by(model.customer_id)
            ):
                counts[cid] += int(n)
        for c in session.scalars(select(Customer).where(Customer.id.in_(chunk))):
            out[c.id] = CustomerBrief(
                c.id, c.display_name, c.kind.value, c.segment, c.birth_year, counts[c.id],
                c.created_at,
            )  # fmt: skip
    return out


def _pending_by_pair(
    session: Session, ids: set[uuid.UUID]
) -> dict[tuple[uuid.UUID, uuid.UUID], PendingMerge]:
    out: dict[tuple[uuid.UUID, uuid.UUID], PendingMerge] = {}
    listed = list(ids)
    for chunk in _chunks(listed):
        for r in session.scalars(
            select(MergeRequest).where(
                MergeRequest.state == "pending", MergeRequest.survivor_id.in_(chunk)
            )
        ):
            out[ordered_pair(r.survivor_id, r.merged_id)] = PendingMerge(
                r.id, r.survivor_id, r.merged_id, r.requested_by, r.requested_at, r.note
            )
    return out
