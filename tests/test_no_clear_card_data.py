"""A seeded store leaves no card number and no identity number in clear in any file it wrote.

``agentdesk seed`` runs as an operator runs it (its own process, a data
directory of its own, the server's key file), then every byte of every file
under that directory (database, WAL, shared memory, config) is scanned for
Luhn-valid 13-19 digit numbers and for each seeded identity number.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from agentdesk.models import Customer, CustomerPhone, IdentityDocument, Product
from agentdesk.services.crm.customer_views import mask_product
from agentdesk.store.engine import read_session, sqlite_engine
from agentdesk.store.field_crypto import FieldKeyring, field_context, new_key_text

# A run of digits not glued to other letters or digits (UUIDs are stored as hex text).
_DIGIT_RUN = re.compile(rb"(?<![0-9A-Za-z])[0-9]{13,19}(?![0-9A-Za-z])")
_DATE = re.compile(rb"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SPACED_PAN = re.compile(rb"(?<![0-9])[0-9]{4}(?:[ -][0-9]{4}){2}[ -][0-9]{1,7}(?![0-9])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_like_numbers(data: bytes) -> set[str]:
    found = {m.group().decode() for m in _DIGIT_RUN.finditer(data)}
    found |= {re.sub(r"\D", "", m.group().decode()) for m in _SPACED_PAN.finditer(data)}
    return {n for n in found if 13 <= len(n) <= 19 and luhn_valid(n)}


def without_known_numbers(data: bytes, phones: set[bytes]) -> bytes:
    """``data`` with phone numbers and dates cut out.

    SQLite stores a row's fields back to back, so a phone number followed by a date reads
    as one long run of digits; neither is a card number, so both are replaced by a marker.
    """
    for phone in sorted(phones, key=len, reverse=True):
        data = data.replace(phone, b"|")
    return _DATE.sub(b"|", data)


def test_luhn_check() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert card_like_numbers(b"x 4111 1111 1111 1111 y,4929123456781234\x00") == {
        "4111111111111111"
    }


def test_a_seeded_store_holds_no_card_or_identity_number_in_clear(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    key_file = tmp_path / "field.key"
    key_file.write_text(new_key_text("seed"))
    key_file.chmod(0o600)
    db = data / "central.db"
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "AGENTDESK_DATA_DIR": str(data),
        "AGENTDESK_FIELD_KEY_FILE": str(key_file),
    }
    done = subprocess.run(
        [sys.executable, "-m", "agentdesk.cli", "seed", "--customers", "400", "--url",
         f"sqlite:///{db}", "--workers", "0"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

    keys = FieldKeyring.from_file(key_file)
    engine = sqlite_engine(db)
    try:
        with read_session(engine) as s:
            docs = s.execute(select(IdentityDocument)).scalars().all()
            numbers = {
                keys.decrypt(d.number_enc, field_context("identity_document", "number", d.id))
                for d in docs
                if d.number_enc is not None
            }
            assert len(numbers) == len(docs) > 20
            assert all(d.number_masked.startswith("•••••") for d in docs)
            cards = s.execute(select(Product).where(Product.kind == "card")).scalars().all()
            assert cards and all(c.number is None and c.token and c.card_bin for c in cards)
            assert mask_product("card", None, cards[0].card_bin, cards[0].number_last4) in {
                f"{brand} •••• {cards[0].number_last4}" for brand in ("Visa", "Mastercard")
            }
            people = s.execute(select(Customer).where(Customer.kind == "person")).scalars()
            assert all(p.birth_year and p.date_of_birth_enc for p in people)
            # The search index (migration 0003) also keeps each number as bare digits, and
            # FTS5 stores that term behind a one-digit index marker ("0" + digits).
            phones = {
                form.encode()
                for row in s.execute(select(CustomerPhone.number_raw, CustomerPhone.e164))
                for text in row
                if text
                for form in (text, text.lstrip("+"))
            }
    finally:
        engine.dispose()

    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != key_file]
    assert any(p.name == "central.db" for p in written)
    for path in written:
        content = path.read_bytes()
        cards_found = card_like_numbers(without_known_numbers(content, phones))
        assert not cards_found, f"{path.name} holds card-like numbers {sorted(cards_found)[:3]}"
        leaked = [n for n in numbers if n.encode() in content]
        assert not leaked, f"{path.name} holds identity numbers in clear, e.g. {leaked[0]}"
