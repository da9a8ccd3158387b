"""Generates the demo bank: reference data, then customers in chunks with all they own.

Deterministic for a given seed: the reference data comes from one
``random.Random``, each chunk of customers from its own numpy stream derived
from the seed and the chunk number; ids are UUIDv7-shaped with timestamps
counted up from a fixed epoch, so two runs with the same seed produce
identical databases whichever process generated which chunk.

Customers are generated a chunk at a time, column by column (numpy for the
random draws, lists for the text), because row-at-a-time Python spent more
time drawing random numbers than the database spent storing the rows. Each
helper below states, per column, the same rule the row-at-a-time code
applied to one customer.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine
from sqlalchemy.sql import FromClause

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
    KnowledgeArticleVersion,
    Product,
    Queue,
    Skill,
    Team,
    Ticket,
    TicketHistory,
    agent_team,
)
from agentdesk.services.seeding import reference
from agentdesk.services.seeding.bulk import UUID_DTYPE, Batch, BulkWriter, Columns, Nullable
from agentdesk.services.seeding.locales import LOCALES, PhoneFactory
from agentdesk.store.field_crypto import FieldKeyring, field_context
from agentdesk.store.mutators.tickets import ticket_number

# (customers done, customers asked for, rows written so far)
Progress = Callable[[int, int, int], None]
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
KNOWLEDGE_COLUMNS = (
    "id", "title", "body", "tags", "intents", "products", "language", "owner_id",
    "review_due", "status", "published_version", "version", "updated_at",
)  # fmt: skip
VERSION_COLUMNS = (
    "id", "article_id", "number", "title", "body", "tags", "intents", "products",
    "language", "note", "published_by", "published_at",
)  # fmt: skip
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
    # Wall time of each phase of a bulk load ("load", "search documents", "indexes", ...).
    phases: dict[str, float] = field(default_factory=dict)
    bulk: bool = False

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


class _Ids:
    """Deterministic UUIDv7-shaped ids, one at a time (reference data)."""

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


def _stream_start_ms(options: SeedOptions, stream: int) -> int:
    base_ms = int(EPOCH.timestamp() * 1000) + options.seed * 10_000_000_000
    return base_ms + stream * 2_000_000


# Every table a chunk of customers fills, in insert order (parents first), by batch key.
CUSTOMER_TABLES: dict[str, FromClause] = {
    "customer": Customer.__table__,
    "customer_phone": CustomerPhone.__table__,
    "customer_email": CustomerEmail.__table__,
    "customer_address": CustomerAddress.__table__,
    "identity_document": IdentityDocument.__table__,
    "product": Product.__table__,
    "ticket": Ticket.__table__,
    "ticket_history": TicketHistory.__table__,
    "interaction": Interaction.__table__,
}

Array = npt.NDArray[Any]
_EPOCH64 = np.datetime64(EPOCH.replace(tzinfo=None), "s")
_DAY = np.timedelta64(1, "D")
_SECOND = np.timedelta64(1, "s")


class _Draws:
    """The random stream of one chunk, drawn a column at a time."""

    def __init__(self, seed: int, stream: int) -> None:
        self._rng = np.random.default_rng([seed % 2**63, stream])

    def uniform(self, n: int) -> Array:
        return self._rng.random(n)

    def below(self, n: int, size: Array | int) -> Array:
        """Integers in [0, size) — ``size`` may differ per row."""
        return (self._rng.random(n) * size).astype(np.int64)

    def between(self, low: int, high: int, n: int) -> Array:
        """Integers in [low, high], like ``random.randint``."""
        return self._rng.integers(low, high + 1, n, dtype=np.int64)

    def pick(self, choices: Sequence[Any], n: int) -> Array:
        """``n`` picks from ``choices`` as an object array, like ``random.choice``."""
        pool = np.empty(len(choices), dtype=object)
        pool[:] = list(choices)
        return pool[self._rng.integers(0, len(choices), n)]

    def weighted_index(self, weights: Sequence[int], n: int) -> Array:
        """Indexes into ``weights``, each drawn with its weight's share."""
        p = np.array(weights, dtype=np.float64)
        return self._rng.choice(len(weights), n, p=p / p.sum())

    def weighted(self, pairs: Sequence[tuple[str, int]], n: int) -> Array:
        """Names from (name, weight) pairs, like ``random.choices(..., weights=...)``."""
        pool = np.empty(len(pairs), dtype=object)
        pool[:] = [name for name, _ in pairs]
        return pool[self.weighted_index([w for _, w in pairs], n)]

    def bits(self, width: int, n: int) -> Array:
        return self._rng.integers(0, 1 << width, n, dtype=np.uint64)

    def digits(self, count: int, n: int) -> list[str]:
        """``n`` strings of ``count`` random decimal digits."""
        return [f"{v:0{count}d}" for v in self._rng.integers(0, 10**count, n).tolist()]

    def poisson(self, mean: float, n: int) -> Array:
        return self._rng.poisson(mean, n)

    def lognormal(self, mu: float, sigma: float, n: int) -> Array:
        return self._rng.lognormal(mu, sigma, n)


class _IdBlock:
    """UUIDv7-shaped ids for a chunk: the millisecond field counts up one per id."""

    def __init__(self, draws: _Draws, start_ms: int) -> None:
        self._draws, self._ms = draws, start_ms

    def take(self, n: int) -> Array:
        ms = np.arange(self._ms + 1, self._ms + 1 + n, dtype=np.uint64)
        self._ms += n
        out = np.empty(n, dtype=UUID_DTYPE)
        out["hi"] = (ms << np.uint64(16)) | np.uint64(0x7000) | self._draws.bits(12, n)
        out["lo"] = np.uint64(1 << 63) | self._draws.bits(62, n)
        return out


def _uuid_objects(ids: Array) -> list[uuid.UUID]:
    data = ids.tobytes()
    return [uuid.UUID(bytes=data[i : i + 16]) for i in range(0, len(data), 16)]


def _uuid_array(values: Sequence[uuid.UUID]) -> Array:
    return np.frombuffer(b"".join(v.bytes for v in values), dtype=UUID_DTYPE).copy()


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isascii() and c.isalnum())


def _flat_pool(pools: Sequence[Sequence[str]]) -> tuple[Array, Array, Array]:
    """(all items, offset of each locale's items, count per locale) for per-row picks."""
    flat = np.empty(sum(len(p) for p in pools), dtype=object)
    flat[:] = [item for pool in pools for item in pool]
    counts = np.array([len(p) for p in pools], dtype=np.int64)
    return flat, np.concatenate(([0], np.cumsum(counts)[:-1])), counts


_GIVEN = _flat_pool([loc.given_names for loc in LOCALES])
_FAMILY = _flat_pool([loc.family_names for loc in LOCALES])
_CITIES = _flat_pool([loc.cities for loc in LOCALES])
_STREETS = _flat_pool([loc.streets for loc in LOCALES])
_GIVEN_ASCII = {name: _ascii(name) for name in _GIVEN[0].tolist()}
_FAMILY_ASCII = {name: _ascii(name) for name in _FAMILY[0].tolist()}
_REGIONS = np.array([loc.region for loc in LOCALES], dtype=object)
_LANGUAGES = np.array([loc.language for loc in LOCALES], dtype=object)
_EMAIL_DOMAINS = np.array(
    [f"example.{'com' if loc.region == 'US' else loc.region.lower()}" for loc in LOCALES],
    dtype=object,
)
_CURRENCIES = np.array(
    [
        "EUR"
        if loc.region in ("DE", "FR", "ES", "IE")
        else {"US": "USD", "PL": "PLN", "IN": "INR"}.get(loc.region, "GBP")
        for loc in LOCALES
    ],
    dtype=object,
)
_DOC_ALPHABET = np.frombuffer(b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789", dtype=np.uint8)
_MASK = "\u2022"
# Products a customer may hold, in the order they are listed: (kind, probability).
_PRODUCT_KINDS = (
    ("current", 1.0),
    ("card", 0.6),
    ("savings", 0.4),
    ("mortgage", 0.15),
    ("loan", 0.15),
)
_ACCOUNT_NAMES = {
    "current": "Everyday Current Account",
    "savings": "Instant Saver",
    "mortgage": "Fixed Rate Mortgage",
    "loan": "Personal Loan",
}
# Balance range per kind (inclusive); mortgages and loans are owed, so negative.
_BALANCES = {
    "current": (-500, 20_000, 1),
    "savings": (0, 80_000, 1),
    "mortgage": (50_000, 600_000, -1),
    "loan": (1_000, 25_000, -1),
}
_DUE_HOURS = {"urgent": 4, "high": 24, "normal": 72, "low": 120}


def _pick_per_locale(draws: _Draws, pool: tuple[Array, Array, Array], loc: Array) -> Array:
    flat, offsets, counts = pool
    picked: Array = flat[offsets[loc] + draws.below(len(loc), counts[loc])]
    return picked


def _interleave(owners: Sequence[Array]) -> tuple[Array, Array]:
    """Merge per-kind row lists into one list grouped by owner (kind order kept per owner).

    Returns (order, owner) where ``order`` indexes the concatenation of ``owners``.
    """
    owner = np.concatenate(owners)
    kind = np.concatenate([np.full(len(o), k, dtype=np.int64) for k, o in enumerate(owners)])
    order = np.lexsort((kind, owner))
    return order, owner[order]


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
        self.ids = _Ids(self.rng, _stream_start_ms(options, stream))
        self.draws = _Draws(options.seed, stream)
        self.block = _IdBlock(self.draws, _stream_start_ms(options, stream))
        self.phones = _phone_factory(options.seed)
        self.agent_ids: list[uuid.UUID] = agent_ids or []
        self.team_ids: list[uuid.UUID] = team_ids or []
        key = options.field_key
        self.cipher = FieldKeyring.parse(key, "the seed key") if key else None

    def _seal(self, value: str, table: str, column: str, row_id: uuid.UUID) -> bytes | None:
        """The ciphertext the server would store, or None when seeding without a key."""
        if self.cipher is None:
            return None
        return self.cipher.encrypt(value, field_context(table, column, row_id))

    def _seal_column(
        self, values: Sequence[str | None], table: str, column: str, ids: Array
    ) -> list[bytes | None] | None:
        """``_seal`` for a whole column (None for rows without a value); None without a key."""
        if self.cipher is None:
            return None
        return [
            None if value is None else self._seal(value, table, column, row_id)
            for value, row_id in zip(values, _uuid_objects(ids), strict=True)
        ]

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
        articles = [
            (
                self.ids.next(),
                intent,
                title,
                body,
                tags,
                reference.KNOWLEDGE_PRODUCTS.get(intent, ""),
            )
            for intent, title, body, tags in reference.KNOWLEDGE
        ]
        # Due for review three years on; the mortgage article is overdue (the demo's flag).
        fresh, overdue = (now + dt.timedelta(days=3 * 365)).date(), (now + dt.timedelta(180)).date()
        w.insert(
            KnowledgeArticle.__table__,
            KNOWLEDGE_COLUMNS,
            [
                (
                    i,
                    title,
                    body,
                    tags,
                    intent,
                    products,
                    "en",
                    None,
                    overdue if intent == "mortgage_overpay" else fresh,
                    "published",
                    1,
                    1,
                    now,
                )
                for i, intent, title, body, tags, products in articles
            ],
        )
        w.insert(
            KnowledgeArticleVersion.__table__,
            VERSION_COLUMNS,
            [
                (self.ids.next(), i, 1, title, body, tags, intent, products, "en", None, None, now)
                for i, intent, title, body, tags, products in articles
            ],
        )
        self.agent_ids = [a.id for a in agents]
        self.team_ids = list(team_ids.values())

    # -- customers -------------------------------------------------------------------------
    def customers(self, start: int, count: int) -> Batch:
        """Customers ``start`` .. ``start + count - 1`` with everything they own, as columns."""
        d = self.draws
        n = count
        index = np.arange(start, start + n, dtype=np.int64)
        loc = d.weighted_index([loc.weight for loc in LOCALES], n)
        cid = self.block.take(n)
        business = d.uniform(n) < 0.08
        given = _pick_per_locale(d, _GIVEN, loc)
        family = _pick_per_locale(d, _FAMILY, loc)
        created = _EPOCH64 - d.between(30, 4000, n) * _DAY
        batch: Batch = {name: {} for name in CUSTOMER_TABLES}
        batch["customer"] = self._customer(cid, loc, business, given, family, created)
        self._contacts(batch, cid, loc, business, given, family, created, index)
        batch["product"] = self._products(cid, loc, created)
        batch["interaction"] = self._history(
            cid, created, d.poisson(self.opt.interactions_per_customer, n)
        )
        batch["ticket"], batch["ticket_history"] = self._tickets(
            cid, d.uniform(n) < self.opt.ticket_ratio
        )
        return batch

    def _customer(
        self, cid: Array, loc: Array, business: Array, given: Array, family: Array, created: Array
    ) -> Columns:
        d, n = self.draws, len(cid)
        person = ~business
        # Businesses: "<family> <suffix>", GmbH only in Germany.
        suffixes = d.pick(("Ltd", "Trading", "& Sons", "Consulting", "Group"), n)
        suffixes[(suffixes == "Group") & (_REGIONS[loc] == "DE")] = "GmbH"
        org = [f"{f} {s}" for f, s in zip(family.tolist(), suffixes.tolist(), strict=True)]
        org_type = d.pick(("ltd", "llp", "sole_trader"), n)
        org_type[~business] = None
        employees = d.between(1, 250, n)
        # People: a date of birth, sometimes a middle name, a weighted segment.
        dob = np.datetime64("1940-01-01", "D") + d.between(0, 24_000, n) * _DAY
        middle = _pick_per_locale(d, _GIVEN, loc)
        middle[(d.uniform(n) >= 0.2) | business] = None
        segment = np.where(business, d.pick(BUSINESS_SEGMENTS, n), d.weighted(SEGMENTS, n))
        channel = np.where(business, "phone", d.pick(("phone", "email", "chat", "branch"), n))
        marketing = d.uniform(n) < 0.3
        vulnerable = person & (d.uniform(n) < 0.03)
        legal_hold = d.uniform(n) < 0.005
        is_business = business.tolist()
        display = [
            o if b else f"{g} {f}"
            for o, b, g, f in zip(org, is_business, given.tolist(), family.tolist(), strict=True)
        ]
        dob_text = [
            None if b else day for b, day in zip(is_business, dob.astype(str).tolist(), strict=True)
        ]
        cols: Columns = {
            "id": cid,
            "kind": np.where(business, "business", "person").astype(object),
            "given_name": given,
            "middle_name": middle,
            "family_name": family,
            "organisation_name": [o if b else None for o, b in zip(org, is_business, strict=True)],
            "organisation_type": org_type,
            "employee_count": Nullable(employees, business),
            "display_name": display,
            "birth_year": Nullable(dob.astype("datetime64[Y]").astype(np.int64) + 1970, person),
            "segment": segment,
            "preferred_language": _LANGUAGES[loc],
            "preferred_channel": channel.astype(object),
            "marketing_opt_out": marketing,
            "vulnerable": vulnerable,
            "legal_hold": legal_hold,
            "home_region": _REGIONS[loc],
            "version": np.ones(n, dtype=np.int64),
            "created_at": created,
            "updated_at": created,
        }
        sealed = self._seal_column(dob_text, "customer", "date_of_birth", cid)
        if sealed is not None:
            cols["date_of_birth_enc"] = sealed
        return cols

    def _contacts(
        self,
        batch: Batch,
        cid: Array,
        loc: Array,
        business: Array,
        given: Array,
        family: Array,
        created: Array,
        index: Array,
    ) -> None:
        d, n = self.draws, len(cid)
        regions = _REGIONS[loc].tolist()
        # Everyone has a mobile; a few share the previous customer's (a household, or a
        # business on one number), then typed in international form.
        mobile = self._numbers(regions, mobile=True)
        shared = d.uniform(n) < self.opt.shared_number_ratio
        if n:
            shared[0] = False
        source = np.maximum.accumulate(np.where(shared, 0, np.arange(n)))
        mobile = [mobile[i] for i in source.tolist()]
        mobile_style = np.where(shared, 1, index).tolist()
        has_landline = d.uniform(n) < 0.4
        landline = self._numbers(
            [r for r, h in zip(regions, has_landline.tolist(), strict=True) if h], mobile=False
        )
        owners = [np.arange(n), np.flatnonzero(has_landline)]
        order, owner = _interleave(owners)
        e164 = np.array(mobile + landline, dtype=object)[order]
        style = np.concatenate([np.array(mobile_style), index[owners[1]] + 1])[order]
        is_mobile = np.concatenate([np.ones(n, bool), np.zeros(len(owners[1]), bool)])[order]
        labels = np.where(is_mobile, "mobile", np.where(business[owner], "office", "home"))
        batch["customer_phone"] = {
            "id": self.block.take(len(owner)),
            "customer_id": cid[owner],
            "label": labels.astype(object),
            "number_raw": [
                PhoneFactory.as_typed(e, s)
                for e, s in zip(e164.tolist(), style.tolist(), strict=True)
            ],
            "e164": e164,
            "is_primary": is_mobile,
            "created_at": created[owner],
        }
        # Most have an e-mail address made of their name and customer number.
        with_email = np.flatnonzero(d.uniform(n) < 0.8)
        addresses = [
            f"{_GIVEN_ASCII[g]}.{_FAMILY_ASCII[f]}{i}@{dom}".lower()
            for g, f, i, dom in zip(
                given[with_email].tolist(),
                family[with_email].tolist(),
                index[with_email].tolist(),
                _EMAIL_DOMAINS[loc[with_email]].tolist(),
                strict=True,
            )
        ]
        batch["customer_email"] = {
            "id": self.block.take(len(with_email)),
            "customer_id": cid[with_email],
            "label": np.where(business[with_email], "official", "personal").astype(object),
            "address": addresses,
            "address_norm": [a.lower() for a in addresses],
            "is_primary": np.ones(len(with_email), dtype=bool),
            "created_at": created[with_email],
        }
        # One postal address each.
        numbers = d.between(1, 250, n).tolist()
        streets = _pick_per_locale(d, _STREETS, loc).tolist()
        batch["customer_address"] = {
            "id": self.block.take(n),
            "customer_id": cid,
            "label": np.where(business, "office", "home").astype(object),
            "line1": [f"{no} {st}" for no, st in zip(numbers, streets, strict=True)],
            "city": _pick_per_locale(d, _CITIES, loc),
            "postal_code": [str(v) for v in d.between(10000, 99999, n).tolist()],
            "country": _REGIONS[loc],
            "created_at": created,
        }
        # Six in ten people have an identity document on file: kept masked, and encrypted
        # when seeding with the server's key.
        with_doc = np.flatnonzero(~business & (d.uniform(n) < 0.6))
        m = len(with_doc)
        kinds = d.pick(("passport", "driving_licence", "national_id"), m)
        chars = _DOC_ALPHABET[d.below(m * 9, len(_DOC_ALPHABET))].tobytes().decode()
        numbers_doc = [chars[i : i + 9] for i in range(0, m * 9, 9)]
        doc_id = self.block.take(m)
        doc: Columns = {
            "id": doc_id,
            "customer_id": cid[with_doc],
            "kind": kinds,
            "number_masked": [_MASK * 5 + number[-4:] for number in numbers_doc],
            "issuing_country": _REGIONS[loc[with_doc]],
            "expires_on": np.datetime64("2027-01-01", "D") + d.between(0, 3650, m) * _DAY,
            "verified": np.ones(m, dtype=bool),
            "created_at": created[with_doc],
        }
        sealed = self._seal_column(numbers_doc, "identity_document", "number", doc_id)
        if sealed is not None:
            doc["number_enc"] = sealed
        batch["identity_document"] = doc

    def _numbers(self, regions: Sequence[str], mobile: bool) -> list[str]:
        """A valid number in E.164 per row: a prefix confirmed valid plus four digits."""
        out: list[str] = [""] * len(regions)
        by_region: dict[str, list[int]] = {}
        for i, region in enumerate(regions):
            by_region.setdefault(region, []).append(i)
        for region in sorted(by_region):
            rows = by_region[region]
            heads = self.phones.heads(region, mobile)
            picks = self.draws.below(len(rows), len(heads)).tolist()
            tails = self.draws.digits(4, len(rows))
            for row, head, tail in zip(rows, picks, tails, strict=True):
                out[row] = heads[head] + tail
        return out

    def _products(self, cid: Array, loc: Array, created: Array) -> Columns:
        d, n = self.draws, len(cid)
        # A current account each; a card, savings, mortgage or loan by chance.
        held = np.stack([d.uniform(n) < p for _, p in _PRODUCT_KINDS], axis=1)
        owner, kind_index = np.nonzero(held)
        m = len(owner)
        kinds = np.array([k for k, _ in _PRODUCT_KINDS], dtype=object)[kind_index]
        card = kinds == "card"
        # A card as a card system hands it over (PCI DSS 3.4.1): a token, the BIN and the
        # last four. No full card number is ever made, let alone stored.
        token_hi, token_lo = d.bits(64, m).tolist(), d.bits(32, m).tolist()
        tokens = [f"tok_{(h << 32) | lo:024x}" for h, lo in zip(token_hi, token_lo, strict=True)]
        bins = [a + b for a, b in zip(d.pick("45", m).tolist(), d.digits(5, m), strict=True)]
        card_last4 = d.digits(4, m)
        card_names = d.pick(("Visa Debit", "Mastercard Credit", "Platinum Card"), m)
        # Accounts: "NN-NN-NN NNNNNNNN" (sort code and number).
        sort_code = d.between(10, 99, m * 3).reshape(m, 3).tolist()
        account = d.between(10_000_000, 99_999_999, m).tolist()
        numbers = [
            f"{a}-{b}-{c} {acct}" for (a, b, c), acct in zip(sort_code, account, strict=True)
        ]
        balance = -d.between(0, 3000, m)
        for kind, (low, high, sign) in _BALANCES.items():
            rows = kinds == kind
            balance[rows] = sign * d.between(low, high, int(rows.sum()))
        status = np.where(
            d.uniform(m) < 0.95, "active", d.pick(("dormant", "blocked", "closed"), m)
        ).astype(object)
        is_card = card.tolist()
        names = [
            cn if c else _ACCOUNT_NAMES[k]
            for c, cn, k in zip(is_card, card_names.tolist(), kinds.tolist(), strict=True)
        ]
        return {
            "id": self.block.take(m),
            "customer_id": cid[owner],
            "kind": kinds,
            "name": names,
            "number": [None if c else num for c, num in zip(is_card, numbers, strict=True)],
            "number_last4": [
                l4 if c else num[-4:]
                for c, l4, num in zip(is_card, card_last4, numbers, strict=True)
            ],
            "token": [t if c else None for c, t in zip(is_card, tokens, strict=True)],
            "card_bin": [b if c else None for c, b in zip(is_card, bins, strict=True)],
            "status": status,
            "balance": balance,
            "currency": _CURRENCIES[loc[owner]],
            "opened_on": created[owner].astype("datetime64[D]"),
            "source_system": ["core-banking"] * m,
            "as_of": np.full(m, _EPOCH64),
        }

    def _history(self, cid: Array, created: Array, counts: Array) -> Columns:
        """``counts[i]`` interactions of customer ``i``, at random times since it joined."""
        d = self.draws
        owner = np.repeat(np.arange(len(cid)), counts)
        m = len(owner)
        span = np.maximum(1, (_EPOCH64 - created).astype(np.int64))[owner]
        started = created[owner] + d.below(m, span) * _SECOND
        channel = d.weighted(CHANNELS, m)
        phone = channel == "phone"
        talk = d.lognormal(5.5, 0.6, m).astype(np.int64)
        talked = phone & (talk > 0)
        length = np.where(talked, talk, d.between(60, 900, m))
        agents = _uuid_array(self.agent_ids)
        queues = d.pick([q[0] for q in reference.QUEUES], m)
        queues[~phone] = None
        return {
            "id": self.block.take(m),
            "customer_id": cid[owner],
            "channel": channel,
            "direction": np.where(d.uniform(m) < 0.1, "outbound", "inbound").astype(object),
            "started_at": started,
            "ended_at": started + length * _SECOND,
            "agent_id": agents[d.below(m, len(agents))],
            "queue": queues,
            "disposition_code": d.pick(("resolved", "info", "ticket", "transfer", "callback"), m),
            "notes": d.pick(NOTES, m),
            "talk_seconds": Nullable(talk, phone),
            "hold_seconds": Nullable(d.pick((0, 0, 0, 30, 90), m).astype(np.int64), talked),
            "created_at": started,
        }

    def _tickets(self, cid: Array, opened_for: Array) -> tuple[Columns, Columns]:
        d = self.draws
        owner = np.flatnonzero(opened_for)
        m = len(owner)
        reasons = d.below(m, len(TICKET_REASONS)).tolist()
        opened = (
            _EPOCH64 - d.between(0, 60, m) * _DAY - d.between(0, 1440, m) * np.timedelta64(1, "m")
        )
        status = d.pick(("new", "open", "open", "pending", "resolved", "closed"), m)
        priority = d.pick(("low", "normal", "normal", "high", "urgent"), m)
        due_hours = np.array([_DUE_HOURS[p] for p in priority.tolist()], dtype=np.int64)
        hour = np.timedelta64(1, "h")
        teams, agents = _uuid_array(self.team_ids), _uuid_array(self.agent_ids)
        tid = self.block.take(m)
        # Numbered as the ticket service numbers every ticket (from its id), so a seeded
        # ticket is found by the number an agent reads out.
        numbers = [ticket_number(t) for t in _uuid_objects(tid)]
        titles = [TICKET_REASONS[r][1] for r in reasons]
        tickets: Columns = {
            "id": tid,
            "number": numbers,
            "customer_id": cid[owner],
            "reason": [TICKET_REASONS[r][0] for r in reasons],
            "title": titles,
            "description": [f"{t} requested by the customer." for t in titles],
            "priority": priority,
            "severity": d.pick(("minor", "minor", "major"), m),
            "status": status,
            "team_id": teams[d.below(m, len(teams))],
            "assignee_id": Nullable(agents[d.below(m, len(agents))], status != "new"),
            "first_response_due": opened + 4 * hour,
            "resolution_due": opened + due_hours * hour,
            "escalation_level": np.zeros(m, dtype=np.int64),
            "version": np.ones(m, dtype=np.int64),
            "created_at": opened,
            "updated_at": opened,
            "closed_at": Nullable(opened + 2 * _DAY, status == "closed"),
        }
        # Every ticket that moved on from "new" has that one status change on record.
        moved = np.flatnonzero(status != "new")
        k = len(moved)
        history: Columns = {
            "id": self.block.take(k),
            "ticket_id": tid[moved],
            "field": ["status"] * k,
            "old_value": ["new"] * k,
            "new_value": status[moved],
            "changed_by": ["seed"] * k,
            "changed_at": opened[moved],
        }
        return tickets, history

    def heavy_customer(self, interactions: int, batch_size: int = 50_000) -> list[Batch]:
        """One customer with a very long history (for timeline and pop benchmarks)."""
        cid = self.block.take(1)
        created = np.array([_EPOCH64 - 3650 * _DAY])
        customer: Columns = {
            "id": cid,
            "kind": ["person"],
            "given_name": ["Harriet"],
            "family_name": ["Longhistory"],
            "display_name": ["Harriet Longhistory"],
            "birth_year": [1960],
            "segment": ["premier"],
            "preferred_language": ["en"],
            "preferred_channel": ["phone"],
            "marketing_opt_out": [False],
            "vulnerable": [False],
            "legal_hold": [False],
            "home_region": ["GB"],
            "version": [1],
            "created_at": created,
            "updated_at": created,
        }
        sealed = self._seal_column(["1960-05-17"], "customer", "date_of_birth", cid)
        if sealed is not None:
            customer["date_of_birth_enc"] = sealed
        phone: Columns = {
            "id": self.block.take(1),
            "customer_id": cid,
            "label": ["home"],
            "number_raw": ["020 7946 0000"],
            "e164": [HEAVY_CUSTOMER_NUMBER],
            "is_primary": [True],
            "created_at": created,
        }
        gb = np.zeros(1, dtype=np.int64)
        batches: list[Batch] = [
            {
                "customer": customer,
                "customer_phone": phone,
                "product": self._products(cid, gb, created),
            }
        ]
        while interactions > 0:
            size = min(interactions, batch_size)
            counts = np.array([size])
            batches.append({"interaction": self._history(cid, created, counts)})
            interactions -= size
        return batches


HEAVY_CUSTOMER_NUMBER = "+442079460000"
_FACTORIES: dict[int, PhoneFactory] = {}


def _phone_factory(seed: int) -> PhoneFactory:
    """One prefix pool per seed and process (discovering prefixes costs about a second)."""
    if seed not in _FACTORIES:
        _FACTORIES[seed] = PhoneFactory(random.Random(f"{seed}:phones"))
    return _FACTORIES[seed]


def write_reference(engine: Engine, options: SeedOptions) -> None:
    """The teams, skills, queues, agents, dispositions and knowledge base (stream 0)."""
    from agentdesk.store.engine import write_session

    with write_session(engine) as session:
        _Generator(options, stream=0).reference(BulkWriter(session.connection()))


def chunk(
    options: SeedOptions,
    stream: int,
    start: int,
    count: int,
    agent_ids: list[uuid.UUID],
    team_ids: list[uuid.UUID],
) -> Batch:
    """Customers ``start`` .. ``start + count - 1`` (chunk ``stream``) with all they own."""
    return _Generator(options, stream, agent_ids, team_ids).customers(start, count)


def heavy_customer(
    options: SeedOptions,
    stream: int,
    agent_ids: list[uuid.UUID],
    team_ids: list[uuid.UUID],
) -> list[Batch]:
    """The one customer with ``options.heavy_customer_interactions`` interactions."""
    gen = _Generator(options, stream, agent_ids, team_ids)
    return gen.heavy_customer(options.heavy_customer_interactions)


def seed(
    engine: Engine,
    options: SeedOptions,
    progress: Progress | None = None,
    workers: int | None = None,
    *,
    bulk: bool | None = None,
    log: Callable[[str], None] | None = None,
) -> SeedReport:
    """Write reference data (once) and ``options.customers`` more customers with their history.

    Into an empty store (or with ``bulk=True``) the load runs in bulk mode:
    indexes and search triggers off, chunks generated and written by worker
    processes, then the search documents and indexes rebuilt in one pass each
    (``fastload``). Otherwise chunks go in one by one with every index and
    trigger live. Both paths write the same rows for the same seed.
    """
    from agentdesk.services.seeding import fastload

    return fastload.run(engine, options, progress, workers=workers, bulk=bulk, log=log)
