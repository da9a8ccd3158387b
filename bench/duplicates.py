"""Duplicate scan at scale: `python bench/duplicates.py [--customers N] [--planted K] [--postgres]`.

Issue 13 item 6 asks for blocking keys so the scan is not O(n²) over a
million customers. This seeds N demo customers (the seeder's own data: shared
family numbers, common names), plants K known duplicates of random customers
(same name or a one-letter typo, same date of birth re-encrypted for the new
row, half of them with the original's mobile, the rest with new contacts),
runs the scan once and prints: blocks by key, oversized blocks skipped, pairs
scored against the n·(n-1)/2 a full comparison would need, candidates, how many
planted pairs were found (recall), the wall time and the box's load.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, select

from agentdesk.ids import uuid7
from agentdesk.models import Customer, CustomerEmail, CustomerPhone, DuplicateCandidate, utcnow
from agentdesk.services.crm.duplicates import DuplicateFinder, ordered_pair
from agentdesk.services.seeding.generator import SeedOptions, seed
from agentdesk.store import migrate
from agentdesk.store.engine import central_engine, read_session, sqlite_engine, write_session
from agentdesk.store.field_crypto import FieldKeyring, field_context, new_key_text


def _typo(name: str, rng: random.Random) -> str:
    if len(name) < 4 or rng.random() < 0.5:
        return name
    at = rng.randrange(2, len(name))  # keeps the first two letters: the blocking key
    return name[:at] + rng.choice("aeiouy") + name[at + 1 :]


def plant(
    engine: Engine, keyring: FieldKeyring, count: int, rng: random.Random
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """Copy ``count`` random people as new customers; return the planted (a, b) pairs."""
    with read_session(engine) as s:
        ids = list(
            s.scalars(
                select(Customer.id).where(
                    Customer.kind == "person", Customer.date_of_birth_enc.is_not(None)
                )
            )
        )
    planted: set[tuple[uuid.UUID, uuid.UUID]] = set()
    with write_session(engine) as s:
        for original_id in rng.sample(ids, min(count, len(ids))):
            original = s.get(Customer, original_id)
            assert original is not None and original.date_of_birth_enc is not None
            born = keyring.decrypt(
                original.date_of_birth_enc, field_context("customer", "date_of_birth", original.id)
            )
            new_id = uuid7()
            given = _typo(original.given_name or "", rng)
            s.add(
                Customer(
                    id=new_id, kind=original.kind, given_name=given,
                    family_name=original.family_name,
                    display_name=f"{given} {original.family_name}",
                    birth_year=original.birth_year, segment=original.segment,
                    date_of_birth_enc=keyring.encrypt(
                        born, field_context("customer", "date_of_birth", new_id)
                    ),
                )
            )  # fmt: skip
            mobile = s.scalar(
                select(CustomerPhone.e164).where(CustomerPhone.customer_id == original.id).limit(1)
            )
            if mobile is None or rng.random() < 0.5:
                mobile = f"+4477009{rng.randrange(10**5):05d}"
            s.add(
                CustomerPhone(id=uuid7(), customer_id=new_id, label="mobile", number_raw=mobile,
                              e164=mobile, is_primary=True)
            )  # fmt: skip
            address = f"planted.{new_id.hex[:12]}@example.org"
            s.add(
                CustomerEmail(id=uuid7(), customer_id=new_id, label="personal", address=address,
                              address_norm=address, is_primary=True, created_at=utcnow())
            )  # fmt: skip
            planted.add(ordered_pair(original.id, new_id))
    return planted


def run(engine: Engine, customers: int, planted_count: int, label: str) -> None:
    key_text = new_key_text("bench")
    keyring = FieldKeyring.parse(key_text, "bench")
    migrate.upgrade(engine, field_keyring=keyring)
    started = time.perf_counter()
    seed(engine, SeedOptions(customers=customers, seed=1, field_key=key_text), workers=1)
    print(f"{label}: seeded {customers:,} customers in {time.perf_counter() - started:.1f} s")
    planted = plant(engine, keyring, planted_count, random.Random(5))
    finder = DuplicateFinder(engine, keyring)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    report = finder.scan()
    took = time.perf_counter() - started
    with read_session(engine) as s:
        found = {
            (a, b)
            for a, b in s.execute(
                select(DuplicateCandidate.customer_a, DuplicateCandidate.customer_b)
            )
        }
    n = customers + len(planted)
    print(f"{label}: scan of {n:,} customers in {took:.1f} s (load before {load:.2f})")
    print(
        f"  blocks: {report.blocks:,} ({report.by_key}); "
        f"too large, skipped: {report.oversized_blocks}"
    )
    print(
        f"  pairs scored: {report.pairs_scored:,} of {n * (n - 1) // 2:,} a full comparison needs"
    )
    print(
        f"  candidates: {report.candidates:,}; planted found: {len(planted & found)}/{len(planted)}"
    )
    print(f"  candidates that are not planted pairs: {len(found - planted):,}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--planted", type=int, default=500)
    parser.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        run(sqlite_engine(Path(tmp) / "central.db"), args.customers, args.planted, "SQLite")
    if args.postgres:
        from tests.support.pgserver import running_server

        with running_server() as server:
            engine = central_engine(server.url(server.create_database()))
            run(engine, args.customers, args.planted, "PostgreSQL")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
