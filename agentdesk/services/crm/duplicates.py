"""Duplicate customers: which pairs look like one person, how sure we are, and why.

Comparing every customer with every other is O(n²): 5·10¹¹ pairs at a million
customers. The scan compares only customers that share a *blocking key*:

* the same phone number (E.164, as ``services/crm/phone.py`` normalised it at write time),
* the same e-mail address (``address_norm``, lower-cased),
* for people: the family name, the given name's initial and the birth year; and the given
  name, the family name's initial and the birth year (so "Jon Smith"/"Jon Smyth" born in
  1980 meet on the second key, "Jonathan"/"Jonathon Smith" on the first; a typo in both
  names is found only through a shared phone or e-mail).

Each key is a ``GROUP BY ... HAVING count(*) > 1`` the database answers from an index
or one pass, and a block larger than ``max_block`` (a switchboard number shared by a
firm's staff, a family e-mail) is skipped and counted rather than exploding into
pairs. Each pair is then scored from the evidence (:func:`score_pair`): shared
contact points, name similarity (``rapidfuzz``) and the date of birth, which is
encrypted at rest and decrypted here, on the server that holds the key, only to be
compared. No name, number, address or date is ever logged or stored with a
candidate: its reasons are phrases such as "same date of birth".

The scan keeps ``duplicate_candidate`` current: new pairs open, open pairs get
their new score, open pairs no longer found go, and pairs a supervisor dismissed
or merged stay as decided.
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import Engine, String, and_, cast, func, literal, select
from sqlalchemy.orm import Session

from agentdesk.models import (
    Customer,
    CustomerEmail,
    CustomerKind,
    CustomerPhone,
    DuplicateCandidate,
    MergeRequest,
)
from agentdesk.store.engine import read_session, write_session
from agentdesk.store.field_crypto import FieldCipher, FieldDecryptError, field_context

log = logging.getLogger(__name__)

MIN_SCORE = 60  # a pair below this is not shown to supervisors
MAX_BLOCK = 50  # customers sharing one key; more is a shared line, not a person
_BATCH = 500


@dataclass(frozen=True)
class Person:
    """What the scorer compares of one customer. Built on the server; never logged."""

    id: uuid.UUID
    kind: str
    name: str  # folded (no accents, case or punctuation)
    birth_year: int | None = None
    date_of_birth: dt.date | None = None
    phones: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PairScore:
    """How sure we are two customers are one (0-100) and the reasons, strongest first."""

    score: int
    reasons: tuple[str, ...]


def fold_name(*parts: str | None) -> str:
    """A name for comparison: accents, case and punctuation removed, spaces collapsed."""
    text = " ".join(p for p in parts if p)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = "".join(ch if ch.isalnum() else " " for ch in text.casefold())
    return " ".join(text.split())


def score_pair(a: Person, b: Person) -> PairScore:
    """Score the evidence that ``a`` and ``b`` are the same customer.

    Shared contact points and an equal date of birth add; a different date of birth,
    birth year or a clearly different name subtract (two people sharing a family phone).
    """
    points: list[tuple[int, str]] = []
    if a.kind != b.kind:
        return PairScore(0, ("one is a person, the other a business",))
    if a.phones & b.phones:
        points.append((40, "same phone number"))
    if a.emails & b.emails:
        points.append((40, "same e-mail address"))
    if a.name and b.name:
        exact = fuzz.token_sort_ratio(a.name, b.name)
        ratio = round(exact)
        if exact == 100:  # the same words (folded), in any order
            points.append((30, "same name"))
        elif ratio >= 95:  # "Aara" and "Aarav": nearly, not the same (the reason says so)
            points.append((30, f"similar names ({min(ratio, 99)}% alike)"))
        elif ratio >= 85:
            points.append((25, f"similar names ({ratio}% alike)"))
        elif ratio >= 70:
            points.append((5, f"names partly alike ({ratio}%)"))
        else:
            points.append((-30, f"different names ({ratio}% alike)"))
    if a.date_of_birth is not None and b.date_of_birth is not None:
        if a.date_of_birth == b.date_of_birth:
            points.append((35, "same date of birth"))
        else:
            points.append((-40, "different dates of birth"))
    elif a.birth_year is not None and b.birth_year is not None:
        if a.birth_year == b.birth_year:
            points.append((5, "same birth year"))
        else:
            points.append((-30, "different birth years"))
    points.sort(key=lambda p: -p[0])
    total = max(0, min(100, sum(p for p, _ in points)))
    return PairScore(total, tuple(reason for _, reason in points))


@dataclass(frozen=True)
class ScanReport:
    """What one scan did: blocks looked at, pairs scored, candidates kept. Counts only."""

    blocks: int
    oversized_blocks: int
    pairs_scored: int
    candidates: int
    opened: int
    closed: int
    by_key: dict[str, int] = field(default_factory=dict)


def _active() -> Any:
    return and_(Customer.deleted_at.is_(None), Customer.merged_into.is_(None))


def _chunks(items: Sequence[uuid.UUID], size: int = _BATCH) -> Iterator[Sequence[uuid.UUID]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class DuplicateFinder:
    """Finds candidate pairs by blocking keys, scores them and keeps the review list.

    Runs on the server (``cipher`` is its field key: dates of birth are compared in
    memory and forgotten). Without a key it compares birth years only.
    """

    def __init__(
        self,
        engine: Engine,
        cipher: FieldCipher | None = None,
        *,
        min_score: int = MIN_SCORE,
        max_block: int = MAX_BLOCK,
    ) -> None:
        self._engine = engine
        self._cipher = cipher
        self.min_score = min_score
        self.max_block = max_block

    # --- blocking ---------------------------------------------------------------------------

    def _blocks(
        self, session: Session, key: Any, source: Any, *where: Any, with_birth: bool = False
    ) -> Iterator[list[tuple[uuid.UUID, Any]]]:
        """Groups of (customer id, encrypted birth date or None) sharing ``key``, 2+ each."""
        shared = (
            select(key.label("k"))
            .select_from(source)
            .where(_active(), key.is_not(None), *where)
            .group_by(key)
            .having(func.count(func.distinct(Customer.id)) > 1)
            .subquery()
        )
        birth = Customer.date_of_birth_enc if with_birth else literal(None)
        rows = session.execute(
            select(key.label("k"), Customer.id, birth)
            .select_from(source)
            .join(shared, shared.c.k == key)
            .where(_active(), *where)
            .order_by(key)
            .execution_options(yield_per=5000)
        )
        current: Any = object()
        block: dict[uuid.UUID, Any] = {}
        for k, cid, blob in rows:
            if k != current:
                if len(block) > 1:
                    yield list(block.items())
                current, block = k, {}
            block.setdefault(cid, blob)
        if len(block) > 1:
            yield list(block.items())

    def _by_birth_date(self, block: list[tuple[uuid.UUID, Any]]) -> list[list[uuid.UUID]]:
        """A name block split by the decrypted date of birth (unknown dates left out).

        Without shared contacts (their own blocks find those) two records reach the
        threshold only with the same date of birth, so only those are paired: this keeps
        the pairs near linear even where common names make big blocks.
        """
        groups: dict[dt.date, list[uuid.UUID]] = defaultdict(list)
        for cid, blob in block:
            born = self._date_of_birth(cid, blob)
            if born is not None:
                groups[born].append(cid)
        return [ids for ids in groups.values() if len(ids) > 1]

    def candidate_pairs(
        self, session: Session
    ) -> tuple[set[tuple[uuid.UUID, uuid.UUID]], dict[str, int]]:
        """Every pair sharing a blocking key, and counts per key (blocks, oversized)."""
        phone_source = CustomerPhone.__table__.join(
            Customer.__table__, CustomerPhone.customer_id == Customer.id
        )
        email_source = CustomerEmail.__table__.join(
            Customer.__table__, CustomerEmail.customer_id == Customer.id
        )
        year = cast(Customer.birth_year, String(8))
        # Two name keys, each exact on one name and loose on the other, so a typo in either
        # name still meets its twin while blocks stay small as the base grows.
        surname_key = (
            func.lower(Customer.family_name)
            + "|"
            + func.lower(func.substr(Customer.given_name, 1, 1))
            + "|"
            + year
        )
        given_key = (
            func.lower(Customer.given_name)
            + "|"
            + func.lower(func.substr(Customer.family_name, 1, 1))
            + "|"
            + year
        )
        people = (
            Customer.kind == CustomerKind.PERSON,
            Customer.family_name.is_not(None),
            Customer.given_name.is_not(None),
            Customer.date_of_birth_enc.is_not(None),
        )
        keys: list[tuple[str, Any, Any, tuple[Any, ...]]] = [
            ("phone", CustomerPhone.e164, phone_source, ()),
            ("email", CustomerEmail.address_norm, email_source, ()),
        ]
        if self._cipher is not None:
            # Without the key a name match tops out at 35 (same name, same year): no use.
            keys += [
                ("surname_initial_year", surname_key, Customer.__table__, people),
                ("given_name_initial_year", given_key, Customer.__table__, people),
            ]
        pairs: set[tuple[uuid.UUID, uuid.UUID]] = set()
        stats: dict[str, int] = defaultdict(int)
        for name, key, source, where in keys:
            by_name = source is Customer.__table__
            for block in self._blocks(session, key, source, *where, with_birth=by_name):
                stats["blocks"] += 1
                stats[name] += 1
                groups = self._by_birth_date(block) if by_name else [[c for c, _ in block]]
                for group in groups:
                    if len(group) > self.max_block:
                        stats["oversized"] += 1
                        continue
                    ordered = sorted(group, key=str)
                    for i, a in enumerate(ordered):
                        for b in ordered[i + 1 :]:
                            pairs.add((a, b))
        return pairs, dict(stats)

    # --- evidence ---------------------------------------------------------------------------

    def people(self, session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Person]:
        """What the scorer needs of each customer, in batches of 500 ids."""
        out: dict[uuid.UUID, Person] = {}
        listed = list(dict.fromkeys(ids))
        for chunk in _chunks(listed):
            phones: dict[uuid.UUID, set[str]] = defaultdict(set)
            for cid, e164 in session.execute(
                select(CustomerPhone.customer_id, CustomerPhone.e164).where(
                    CustomerPhone.customer_id.in_(chunk), CustomerPhone.e164.is_not(None)
                )
            ):
                if e164 is not None:
                    phones[cid].add(e164)
            emails: dict[uuid.UUID, set[str]] = defaultdict(set)
            for cid, address in session.execute(
                select(CustomerEmail.customer_id, CustomerEmail.address_norm).where(
                    CustomerEmail.customer_id.in_(chunk)
                )
            ):
                emails[cid].add(address)
            rows = session.execute(
                select(
                    Customer.id,
                    Customer.kind,
                    Customer.given_name,
                    Customer.family_name,
                    Customer.organisation_name,
                    Customer.display_name,
                    Customer.birth_year,
                    Customer.date_of_birth_enc,
                ).where(Customer.id.in_(chunk))
            )
            for cid, kind, given, family, org, display, year, dob_enc in rows:
                name = (
                    fold_name(given, family) if kind is CustomerKind.PERSON else fold_name(org)
                ) or fold_name(display)
                out[cid] = Person(
                    cid,
                    kind.value,
                    name,
                    year,
                    self._date_of_birth(cid, dob_enc),
                    frozenset(phones.get(cid, ())),
                    frozenset(emails.get(cid, ())),
                )
        return out

    def _date_of_birth(self, customer_id: uuid.UUID, blob: bytes | None) -> dt.date | None:
        if blob is None or self._cipher is None:
            return None
        try:
            clear = self._cipher.decrypt(
                blob, field_context("customer", "date_of_birth", customer_id)
            )
            return dt.date.fromisoformat(clear)
        except (FieldDecryptError, ValueError):
            # Counted by the caller as "birth year only"; the value is never logged.
            return None

    def score(self, session: Session, a: uuid.UUID, b: uuid.UUID) -> PairScore:
        """The score of one pair as the database holds them now."""
        found = self.people(session, (a, b))
        if a not in found or b not in found:
            return PairScore(0, ("a customer no longer exists",))
        return score_pair(found[a], found[b])

    # --- the scan ---------------------------------------------------------------------------

    def scan(self) -> ScanReport:
        """Find, score and store candidates over the whole customer base."""
        with read_session(self._engine) as session:
            pairs, stats = self.candidate_pairs(session)
            scored: dict[tuple[uuid.UUID, uuid.UUID], PairScore] = {}
            ordered = sorted(pairs, key=lambda p: (str(p[0]), str(p[1])))
            for start in range(0, len(ordered), _BATCH):
                batch = ordered[start : start + _BATCH]
                people = self.people(session, {c for pair in batch for c in pair})
                for a, b in batch:
                    if a in people and b in people:
                        result = score_pair(people[a], people[b])
                        if result.score >= self.min_score:
                            scored[(a, b)] = result
        opened, closed = self._store(scored)
        report = ScanReport(
            blocks=stats.get("blocks", 0),
            oversized_blocks=stats.get("oversized", 0),
            pairs_scored=len(pairs),
            candidates=len(scored),
            opened=opened,
            closed=closed,
            by_key={k: v for k, v in stats.items() if k not in ("blocks", "oversized")},
        )
        log.info(
            "duplicate scan: %d blocks (%d too large), %d pairs scored, %d candidates",
            report.blocks,
            report.oversized_blocks,
            report.pairs_scored,
            report.candidates,
        )
        return report

    def _store(self, scored: dict[tuple[uuid.UUID, uuid.UUID], PairScore]) -> tuple[int, int]:
        opened = closed = 0
        with write_session(self._engine) as session:
            existing = {
                (row.customer_a, row.customer_b): row
                for row in session.scalars(select(DuplicateCandidate))
            }
            for pair, result in scored.items():
                row = existing.get(pair)
                if row is None:
                    session.add(
                        DuplicateCandidate(
                            customer_a=pair[0],
                            customer_b=pair[1],
                            score=result.score,
                            reasons=list(result.reasons),
                            state="open",
                        )
                    )
                    opened += 1
                elif row.state == "open":
                    row.score, row.reasons = result.score, list(result.reasons)
            pending = _pending_pairs(session)
            for pair, row in existing.items():
                if row.state == "open" and pair not in scored and pair not in pending:
                    session.delete(row)  # no longer alike (edited, merged, deleted)
                    closed += 1
        return opened, closed


def _pending_pairs(session: Session) -> set[tuple[uuid.UUID, uuid.UUID]]:
    return {
        ordered_pair(s, m)
        for s, m in session.execute(
            select(MergeRequest.survivor_id, MergeRequest.merged_id).where(
                MergeRequest.state == "pending"
            )
        )
    }


def ordered_pair(a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """The (customer_a, customer_b) order candidates are stored in."""
    return (a, b) if str(a) < str(b) else (b, a)
