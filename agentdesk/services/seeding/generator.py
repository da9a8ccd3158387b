"""Generates the demo bank: reference data, then customers in chunks with all they own.

Deterministic for a given seed: every random choice and every id comes from
one ``random.Random``; ids are UUIDv7-shaped with timestamps counted up from
a fixed epoch, so two runs with the same seed produce identical databases.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import random
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select

from agentdesk.models import (
    Agent,
    AgentSkill,
    Customer,
    CustomerAddress,
    CustomerEmail,
    CustomerPhone,
    Disposition,
    IdentityDocument,
    Interaction,
    KnowledgeArticle,
    Product,
    Queue,
    Skill,
    Team,
    Ticket,
    TicketHistory,
    agent_team,
)
from agentdesk.services.seeding import reference
from agentdesk.services.seeding.bulk import BulkWriter, prepare_rows
from agentdesk.services.seeding.fastload import suspended_search_triggers
from agentdesk.services.seeding.locales import LOCALES, Locale, PhoneFactory
from agentdesk.store.engine import write_session
from agentdesk.store.field_crypto import FieldKeyring, field_context

Progress = Callable[[int, int], None]
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SEGMENTS = (("retail", 70), ("premier", 15), ("private", 3), ("young_saver", 12))
BUSINESS_SEGMENTS = ("small_business", "corporate")
CHANNELS = (
    ("phone", 55),
    ("email", 15),
    ("chat", 10),
    ("web", 8),
    ("branch", 6),
    ("sms", 4),
    ("social", 1),
    ("ivr", 1),
)
NOTES = (
    "Customer asked about a pending card payment.",
    "Explained overdraft fees; customer satisfied.",
    "Updated correspondence preferences.",
    "Card blocked after suspected fraud; replacement ordered.",
    "Asked for mortgage overpayment options.",
    "Disputed a direct debit; refund requested.",
    "Requested a copy of last year's statements.",
    "Travel notice recorded for Spain and France.",
)
TICKET_REASONS = (
    ("card_replacement", "Replacement card"),
    ("dispute", "Transaction dispute"),
    ("address_change", "Address change"),
    ("complaint", "Complaint"),
    ("mortgage_request", "Mortgage request"),
    ("account_opening", "Account opening"),
)


@dataclass(frozen=True)
class SeedOptions:
    """What to generate."""

    customers: int = 1000
    seed: int = 42
    interactions_per_customer: float = 2.0
    ticket_ratio: float = 0.12
    shared_number_ratio: float = 0.005
    heavy_customer_interactions: int = 0
    chunk_size: int = 10_000
    # The server's field key file text (store/field_crypto.py). With it, dates of birth and
    # identity numbers are stored encrypted (revealable); without, only masked forms exist.
    field_key: str | None = field(default=None, repr=False)


@dataclass
class SeedReport:
    """What was written and how fast."""

    customers: int = 0
    rows: int = 0
    seconds: float = 0.0
    tables: dict[str, int] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


class _Ids:
    """Deterministic UUIDv7-shaped ids."""

    def __init__(self, rng: random.Random, start_ms: int) -> None:
        self._rng, self._ms = rng, start_ms

    def next(self) -> uuid.UUID:
        self._ms += 1
        rand = self._rng.getrandbits(74)
        value = (
            (self._ms << 80)
            | (0x7 << 76)
            | ((rand >> 62) << 64)
            | (0b10 << 62)
            | (rand & ((1 << 62) - 1))
        )
        return uuid.UUID(int=value)


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


Rows = dict[str, list[Sequence[Any]]]
_ROW_KINDS = (
    "customer",
    "phone",
    "email",
    "address",
    "doc",
    "product",
    "interaction",
    "ticket",
    "history",
)


def _empty_rows() -> Rows:
    return {k: [] for k in _ROW_KINDS}


class _Generator:
    """Builds rows for one stream of ids: the reference data, or one chunk of customers.

    Each chunk has its own random stream and id range derived from the seed and
    the chunk number, so chunks can be generated in parallel processes and the
    result is still the same for the same seed.
    """

    def __init__(
        self,
        options: SeedOptions,
        stream: int,
        agent_ids: list[uuid.UUID] | None = None,
        team_ids: list[uuid.UUID] | None = None,
    ) -> None:
        self.opt = options
        self.stream = stream
        self.rng = random.Random(f"{options.seed}:{stream}")
        base_ms = int(EPOCH.timestamp() * 1000) + options.seed * 10_000_000_000
        self.ids = _Ids(self.rng, base_ms + stream * 2_000_000)
        self.phones = _phone_factory(options.seed)
        self.phones.reseed(self.rng)
        self.agent_ids: list[uuid.UUID] = agent_ids or []
        self.team_ids: list[uuid.UUID] = team_ids or []
        self.locale_weights = [loc.weight for loc in LOCALES]
        self.last_mobile: str | None = None
        self.ticket_counter = 0
        key = options.field_key
        self.cipher = FieldKeyring.parse(key, "the seed key") if key else None

    def _seal(self, value: str, table: str, column: str, row_id: uuid.UUID) -> bytes | None:
        """The ciphertext the server would store, or None when seeding without a key."""
        if self.cipher is None:
            return None
        return self.cipher.encrypt(value, field_context(table, column, row_id))

    # -- reference data ------------------------------------------------------------------
    def reference(self, w: BulkWriter) -> None:
        team_ids = {name: self.ids.next() for name in reference.TEAMS}
        skill_ids = {name: self.ids.next() for name in reference.SKILLS}
        w.insert(
            Team.__table__,
            ("id", "name", "description"),
            [(tid, name, None) for name, tid in team_ids.items()],
        )
        w.insert(Skill.__table__, ("id", "name"), [(sid, name) for name, sid in skill_ids.items()])
        w.insert(
            Queue.__table__,
            (
                "id",
                "name",
                "description",
                "strategy",
                "service_level_seconds",
                "service_level_target_pct",
                "skill_id",
                "team_id",
            ),
            [
                (self.ids.next(), q, d, "rrmemory", 20, 80, skill_ids[s], team_ids[t])
                for q, d, t, s in reference.QUEUES
            ],
        )
        password_hash = reference.hash_password(reference.DEMO_PASSWORD)
        agents = reference.demo_agents(self.ids.next)
        now = EPOCH
        w.insert(
            Agent.__table__,
            (
                "id",
                "login",
                "display_name",
                "role",
                "password_hash",
                "interface",
                "extension",
                "active",
                "created_at",
            ),
            [
                (
                    a.id,
                    a.login,
                    a.display_name,
                    a.role,
                    password_hash,
                    a.interface,
                    a.extension,
                    True,
                    now,
                )
                for a in agents
            ],
        )
        w.insert(agent_team, ("agent_id", "team_id"), [(a.id, team_ids[a.team]) for a in agents])
        w.insert(
            AgentSkill.__table__,
            ("agent_id", "skill_id", "level"),
            [
                (a.id, skill_ids[s], self.rng.randint(1, 3))
                for a in agents
                for s in ("english", self.rng.choice(reference.SKILLS[5:]))
            ],
        )
        w.insert(
            Disposition.__table__,
            ("code", "label", "category", "requires_notes", "suggests_ticket", "active"),
            [tuple(d.values()) for d in reference.dispositions()],
        )
        w.insert(
            KnowledgeArticle.__table__,
            ("id", "title", "body", "tags", "intent", "updated_at"),
            [
                (self.ids.next(), title, body, tags, intent, now)
                for intent, title, body, tags in reference.KNOWLEDGE
            ],
        )
        self.agent_ids = [a.id for a in agents]
        self.team_ids = list(team_ids.values())

    # -- customers -------------------------------------------------------------------------
    def customers(self, start: int, count: int) -> Rows:
        rows = _empty_rows()
        for i in range(start, start + count):
            self._customer(i, rows)
        return rows

    def _customer(self, index: int, rows: Rows) -> None:
        rng = self.rng
        loc: Locale = rng.choices(LOCALES, weights=self.locale_weights)[0]
        cid = self.ids.next()
        business = rng.random() < 0.08
        given, family = rng.choice(loc.given_names), rng.choice(loc.family_names)
        created = EPOCH - dt.timedelta(days=rng.randint(30, 4000))
        if business:
            suffixes = (
                "Ltd",
                "Trading",
                "& Sons",
                "Consulting",
                "GmbH" if loc.region == "DE" else "Group",
            )
            org = f"{family} {rng.choice(suffixes)}"
            rows["customer"].append(
                (
                    cid,
                    "business",
                    given,
                    None,
                    family,
                    org,
                    rng.choice(("ltd", "llp", "sole_trader")),
                    rng.randint(1, 250),
                    org,
                    None,
                    None,
                    rng.choice(BUSINESS_SEGMENTS),
                    loc.language,
                    "phone",
                    rng.random() < 0.3,
                    False,
                    rng.random() < 0.005,
                    loc.region,
                    1,
                    created,
                    created,
                    None,
                )
            )
        else:
            dob = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randint(0, 24_000))
            middle = rng.choice(loc.given_names) if rng.random() < 0.2 else None
            rows["customer"].append(
                (
                    cid,
                    "person",
                    given,
                    middle,
                    family,
                    None,
                    None,
                    None,
                    f"{given} {family}",
                    dob.year,
                    self._seal(dob.isoformat(), "customer", "date_of_birth", cid),
                    _weighted(rng, SEGMENTS),
                    loc.language,
                    rng.choice(("phone", "email", "chat", "branch")),
                    rng.random() < 0.3,
                    rng.random() < 0.03,
                    rng.random() < 0.005,
                    loc.region,
                    1,
                    created,
                    created,
                    None,
                )
            )
        self._contacts(cid, loc, given, family, index, created, business, rows)
        self._products(cid, loc, created, rows)
        self._history(cid, created, rows)

    def _contacts(
        self,
        cid: uuid.UUID,
        loc: Locale,
        given: str,
        family: str,
        index: int,
        created: dt.datetime,
        business: bool,
        rows: Rows,
    ) -> None:
        rng = self.rng
        style = index
        if self.last_mobile and rng.random() < self.opt.shared_number_ratio:
            mobile = self.last_mobile  # a household or a business sharing one number
            style = 1  # given in international form: the number may be from another country
        else:
            mobile = self.phones.number(loc.region, mobile=True)
        self.last_mobile = mobile
        rows["phone"].append(
            (
                self.ids.next(),
                cid,
                "mobile",
                PhoneFactory.as_typed(mobile, style),
                mobile,
                True,
                created,
            )
        )
        if rng.random() < 0.4:
            landline = self.phones.number(loc.region, mobile=False)
            rows["phone"].append(
                (
                    self.ids.next(),
                    cid,
                    "office" if business else "home",
                    PhoneFactory.as_typed(landline, index + 1),
                    landline,
                    False,
                    created,
                )
            )
        if rng.random() < 0.8:
            local = f"{_ascii(given)}.{_ascii(family)}{index}".lower()
            address = f"{local}@example.{'com' if loc.region == 'US' else loc.region.lower()}"
            rows["email"].append(
                (
                    self.ids.next(),
                    cid,
                    "official" if business else "personal",
                    address,
                    address.lower(),
                    True,
                    created,
                )
            )
        rows["address"].append(
            (
                self.ids.next(),
                cid,
                "office" if business else "home",
                f"{rng.randint(1, 250)} {rng.choice(loc.streets)}",
                None,
                rng.choice(loc.cities),
                None,
                f"{rng.randint(10000, 99999)}",
                loc.region,
                created,
            )
        )
        if not business and rng.random() < 0.6:
            kind = rng.choice(("passport", "driving_licence", "national_id"))
            number = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(9))
            doc_id = self.ids.next()
            rows["doc"].append(
                (
                    doc_id,
                    cid,
                    kind,
                    "\u2022" * 5 + number[-4:],
                    self._seal(number, "identity_document", "number", doc_id),
                    loc.region,
                    dt.date(2027, 1, 1) + dt.timedelta(days=rng.randint(0, 3650)),
                    True,
                    created,
                )
            )

    def _products(
        self,
        cid: uuid.UUID,
        loc: Locale,
        created: dt.datetime,
        rows: Rows,
    ) -> None:
        rng = self.rng
        kinds = ["current"] + [
            k
            for k, p in (("card", 0.6), ("savings", 0.4), ("mortgage", 0.15), ("loan", 0.15))
            if rng.random() < p
        ]
        for kind in kinds:
            token: str | None = None
            card_bin: str | None = None
            number: str | None
            if kind == "card":
                # What a card system hands over (PCI DSS 3.4.1): a token, the BIN and the
                # last four. No full card number is ever made, let alone stored.
                token = f"tok_{rng.getrandbits(96):024x}"
                card_bin = rng.choice("45") + "".join(str(rng.randrange(10)) for _ in range(5))
                number, last4 = None, "".join(str(rng.randrange(10)) for _ in range(4))
                name, balance = (
                    rng.choice(("Visa Debit", "Mastercard Credit", "Platinum Card")),
                    -rng.randint(0, 3000),
                )
            else:
                sort_code = f"{rng.randint(10, 99)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"
                number = f"{sort_code} {rng.randint(10_000_000, 99_999_999)}"
                last4 = number[-4:]
                name = {
                    "current": "Everyday Current Account",
                    "savings": "Instant Saver",
                    "mortgage": "Fixed Rate Mortgage",
                    "loan": "Personal Loan",
                }[kind]
                balance = {
                    "current": rng.randint(-500, 20_000),
                    "savings": rng.randint(0, 80_000),
                    "mortgage": -rng.randint(50_000, 600_000),
                    "loan": -rng.randint(1_000, 25_000),
                }[kind]
            status = (
                "active" if rng.random() < 0.95 else rng.choice(("dormant", "blocked", "closed"))
            )
            rows["product"].append(
                (
                    self.ids.next(),
                    cid,
                    kind,
                    name,
                    number,
                    last4,
                    token,
                    card_bin,
                    status,
                    Decimal(balance),
                    "EUR"
                    if loc.region in ("DE", "FR", "ES", "IE")
                    else {"US": "USD", "PL": "PLN", "IN": "INR"}.get(loc.region, "GBP"),
                    created.date(),
                    "core-banking",
                    EPOCH,
                )
            )

    def _history(
        self,
        cid: uuid.UUID,
        created: dt.datetime,
        rows: Rows,
        count: int | None = None,
    ) -> None:
        rng = self.rng
        n = count if count is not None else _poisson(rng, self.opt.interactions_per_customer)
        span = max(1, int((EPOCH - created).total_seconds()))
        for _ in range(n):
            started = created + dt.timedelta(seconds=rng.randrange(span))
            channel = _weighted(rng, CHANNELS)
            talk = int(rng.lognormvariate(5.5, 0.6)) if channel == "phone" else None
            rows["interaction"].append(
                (
                    self.ids.next(),
                    cid,
                    channel,
                    "outbound" if rng.random() < 0.1 else "inbound",
                    started,
                    started + dt.timedelta(seconds=talk or rng.randint(60, 900)),
                    rng.choice(self.agent_ids),
                    rng.choice(reference.QUEUES)[0] if channel == "phone" else None,
                    rng.choice(("resolved", "info", "ticket", "transfer", "callback")),
                    rng.choice(NOTES),
                    talk,
                    rng.choice((0, 0, 0, 30, 90)) if talk else None,
                    started,
                )
            )
        if count is None and rng.random() < self.opt.ticket_ratio:
            self._ticket(cid, created, rows)

    def _ticket(self, cid: uuid.UUID, created: dt.datetime, rows: Rows) -> None:
        rng = self.rng
        self.ticket_counter += 1
        tid = self.ids.next()
        reason, title = rng.choice(TICKET_REASONS)
        opened = EPOCH - dt.timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 1440))
        status = rng.choice(("new", "open", "open", "pending", "resolved", "closed"))
        priority = rng.choice(("low", "normal", "normal", "high", "urgent"))
        due = opened + dt.timedelta(
            hours={"urgent": 4, "high": 24, "normal": 72, "low": 120}[priority]
        )
        closed = opened + dt.timedelta(days=2) if status == "closed" else None
        rows["ticket"].append(
            (
                tid,
                f"T-S{self.stream:04d}{self.ticket_counter:05d}",
                cid,
                reason,
                title,
                f"{title} requested by the customer.",
                priority,
                rng.choice(("minor", "minor", "major")),
                status,
                rng.choice(self.team_ids),
                rng.choice(self.agent_ids) if status != "new" else None,
                opened + dt.timedelta(hours=4),
                due,
                0,
                1,
                opened,
                opened,
                closed,
            )
        )
        if status != "new":
            rows["history"].append((self.ids.next(), tid, "status", "new", status, "seed", opened))


def _ascii(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isascii() and c.isalnum())


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means seeding uses.
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


_CUSTOMER_COLS = (
    "id",
    "kind",
    "given_name",
    "middle_name",
    "family_name",
    "organisation_name",
    "organisation_type",
    "employee_count",
    "display_name",
    "birth_year",
    "date_of_birth_enc",
    "segment",
    "preferred_language",
    "preferred_channel",
    "marketing_opt_out",
    "vulnerable",
    "legal_hold",
    "home_region",
    "version",
    "created_at",
    "updated_at",
    "deleted_at",
)
_PHONE_COLS = ("id", "customer_id", "label", "number_raw", "e164", "is_primary", "created_at")
_EMAIL_COLS = ("id", "customer_id", "label", "address", "address_norm", "is_primary", "created_at")
_ADDRESS_COLS = (
    "id",
    "customer_id",
    "label",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
    "created_at",
)
_DOC_COLS = (
    "id",
    "customer_id",
    "kind",
    "number_masked",
    "number_enc",
    "issuing_country",
    "expires_on",
    "verified",
    "created_at",
)
_PRODUCT_COLS = (
    "id",
    "customer_id",
    "kind",
    "name",
    "number",
    "number_last4",
    "token",
    "card_bin",
    "status",
    "balance",
    "currency",
    "opened_on",
    "source_system",
    "as_of",
)
_INTERACTION_COLS = (
    "id",
    "customer_id",
    "channel",
    "direction",
    "started_at",
    "ended_at",
    "agent_id",
    "queue",
    "disposition_code",
    "notes",
    "talk_seconds",
    "hold_seconds",
    "created_at",
)
_TICKET_COLS = (
    "id",
    "number",
    "customer_id",
    "reason",
    "title",
    "description",
    "priority",
    "severity",
    "status",
    "team_id",
    "assignee_id",
    "first_response_due",
    "resolution_due",
    "escalation_level",
    "version",
    "created_at",
    "updated_at",
    "closed_at",
)
_HISTORY_COLS = ("id", "ticket_id", "field", "old_value", "new_value", "changed_by", "changed_at")


_TABLES = (
    (Customer.__table__, _CUSTOMER_COLS, "customer"),
    (CustomerPhone.__table__, _PHONE_COLS, "phone"),
    (CustomerEmail.__table__, _EMAIL_COLS, "email"),
    (CustomerAddress.__table__, _ADDRESS_COLS, "address"),
    (IdentityDocument.__table__, _DOC_COLS, "doc"),
    (Product.__table__, _PRODUCT_COLS, "product"),
    (Ticket.__table__, _TICKET_COLS, "ticket"),
    (TicketHistory.__table__, _HISTORY_COLS, "history"),
    (Interaction.__table__, _INTERACTION_COLS, "interaction"),
)
_FACTORIES: dict[int, PhoneFactory] = {}


def _phone_factory(seed: int) -> PhoneFactory:
    """One prefix pool per seed and process (discovering prefixes costs about a second)."""
    if seed not in _FACTORIES:
        _FACTORIES[seed] = PhoneFactory(random.Random(f"{seed}:phones"))
    return _FACTORIES[seed]


Job = tuple[SeedOptions, str, int, int, int, list[uuid.UUID], list[uuid.UUID]]


def _build_chunk(job: Job) -> Rows:
    options, dialect, stream, start, count, agent_ids, team_ids = job
    rows = _Generator(options, stream, agent_ids, team_ids).customers(start, count)
    return {key: prepare_rows(dialect, table, cols, rows[key]) for table, cols, key in _TABLES}


def _write_rows(engine: Engine, rows: Rows, *, prepared: bool = False) -> int:
    with write_session(engine) as session:
        writer = BulkWriter(session.connection())
        for table, cols, key in _TABLES:
            writer.insert(table, cols, rows[key], prepared=prepared)
        return writer.rows_written


def _reference_ids(
    engine: Engine, options: SeedOptions
) -> tuple[list[uuid.UUID], list[uuid.UUID], int]:
    """Agent and team ids, writing the reference data first if the store has none."""
    with write_session(engine) as session:
        if not (session.scalar(select(func.count()).select_from(Agent)) or 0):
            _Generator(options, stream=0).reference(BulkWriter(session.connection()))
    with write_session(engine) as session:
        agents = list(session.scalars(select(Agent.id).order_by(Agent.login)))
        teams = list(session.scalars(select(Team.id).order_by(Team.name)))
        existing = session.scalar(select(func.count()).select_from(Customer)) or 0
    return agents, teams, existing


def seed(
    engine: Engine,
    options: SeedOptions,
    progress: Progress | None = None,
    workers: int | None = None,
) -> SeedReport:
    """Write reference data (once) and ``options.customers`` more customers with their history.

    Chunks are generated in worker processes while this process inserts, so
    generation and SQLite's single writer overlap.
    """
    report = SeedReport()
    started = time.perf_counter()
    agent_ids, team_ids, existing = _reference_ids(engine, options)
    # Streams continue after what is already there, so a second run adds new customers.
    first_stream = 1 + existing // options.chunk_size + (1 if existing % options.chunk_size else 0)
    jobs: list[Job] = []
    done = 0
    while done < options.customers:
        count = min(options.chunk_size, options.customers - done)
        jobs.append(
            (
                options,
                engine.dialect.name,
                first_stream + len(jobs),
                existing + done,
                count,
                agent_ids,
                team_ids,
            )
        )
        done += count
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    with suspended_search_triggers(engine) if len(jobs) > 1 else nullcontext():
        written = _load(engine, jobs, workers, report, progress, options.customers)
    if options.heavy_customer_interactions:
        gen = _Generator(options, first_stream + len(jobs), agent_ids, team_ids)
        report.rows += _heavy_customer(engine, gen, options.heavy_customer_interactions)
    report.customers = written
    report.seconds = time.perf_counter() - started
    with write_session(engine) as session:
        for table in (Customer, CustomerPhone, Product, Interaction, Ticket):
            report.tables[table.__tablename__] = (
                session.scalar(select(func.count()).select_from(table)) or 0
            )
    return report


def _load(
    engine: Engine,
    jobs: list[Job],
    workers: int,
    report: SeedReport,
    progress: Progress | None,
    total: int,
) -> int:
    """Generate chunks (in worker processes when asked) and insert them in order."""
    written = 0
    if workers > 1 and len(jobs) > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for job, rows in zip(jobs, pool.map(_build_chunk, jobs), strict=True):
                report.rows += _write_rows(engine, rows, prepared=True)
                written += job[4]
                if progress:
                    progress(written, total)
    else:
        for job in jobs:
            report.rows += _write_rows(engine, _build_chunk(job), prepared=True)
            written += job[4]
            if progress:
                progress(written, total)
    return written


HEAVY_CUSTOMER_NUMBER = "+442079460000"


def _heavy_customer(engine: Engine, gen: _Generator, interactions: int) -> int:
    """One customer with a very long history (for timeline and pop benchmarks)."""
    rows = _empty_rows()
    cid = gen.ids.next()
    created = EPOCH - dt.timedelta(days=3650)
    rows["customer"].append(
        (
            cid,
            "person",
            "Harriet",
            None,
            "Longhistory",
            None,
            None,
            None,
            "Harriet Longhistory",
            dt.date(1960, 5, 17),
            "premier",
            "en",
            "phone",
            False,
            False,
            False,
            "GB",
            1,
            created,
            created,
            None,
        )
    )
    rows["phone"].append(
        (gen.ids.next(), cid, "home", "020 7946 0000", HEAVY_CUSTOMER_NUMBER, True, created)
    )
    gen._products(cid, LOCALES[0], created, rows)
    written = 0
    while interactions > 0:
        batch = min(interactions, 50_000)
        gen._history(cid, created, rows, count=batch)
        written += _write_rows(engine, rows)
        rows = _empty_rows()
        interactions -= batch
    return written
