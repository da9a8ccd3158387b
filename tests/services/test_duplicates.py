"""Duplicate candidates: the score and its reasons, blocking keys, the stored review list."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import pytest
from sqlalchemy import Engine, select, update

from agentdesk.models import CustomerPhone, DuplicateCandidate
from agentdesk.services.crm.duplicate_review import review_list
from agentdesk.services.crm.duplicates import (
    DuplicateFinder,
    Person,
    fold_name,
    ordered_pair,
    score_pair,
)
from agentdesk.store.engine import read_session, write_session
from tests.ui_workspace.builders import FIELD_KEYRING, add_customer

DOB = dt.date(1980, 5, 17)


def _person(name: str, **extra: object) -> Person:
    base: dict[str, object] = {
        "id": uuid.uuid4(), "kind": "person", "name": fold_name(name), "birth_year": 1980,
        "date_of_birth": DOB, "phones": frozenset(), "emails": frozenset(),
    }  # fmt: skip
    base.update(extra)
    return Person(**base)  # type: ignore[arg-type]


def test_fold_name_ignores_accents_case_and_punctuation() -> None:
    assert fold_name("Zoë", "O'Brien-Smith") == fold_name("ZOE", "o brien smith")


def test_the_same_person_twice_scores_full_marks_with_every_reason() -> None:
    a = _person("Amelia Okafor", phones=frozenset({"+447700900123"}), emails=frozenset({"a@x"}))
    b = _person("Amélia  OKAFOR", phones=frozenset({"+447700900123"}), emails=frozenset({"a@x"}))
    result = score_pair(a, b)
    assert result.score == 100
    assert set(result.reasons) == {
        "same phone number", "same e-mail address", "same name", "same date of birth",
    }  # fmt: skip


def test_a_typo_in_the_name_with_the_same_birth_date_is_a_candidate() -> None:
    result = score_pair(_person("Jonathan Smith"), _person("Jonathon Smyth"))
    assert result.score >= 60
    assert result.reasons[0] == "same date of birth"
    assert any(r.startswith("similar names") for r in result.reasons)


def test_names_a_letter_apart_are_called_similar_not_the_same() -> None:
    """The review said "same name" for Aara Mehta and Aarav Mehta (95 % alike)."""
    result = score_pair(_person("Aara Mehta"), _person("Aarav Mehta"))
    assert "same name" not in result.reasons
    assert "similar names (95% alike)" in result.reasons
    assert result.score == score_pair(_person("Aara Mehta"), _person("Mehta, AARA")).score
    assert "same name" in score_pair(_person("Aara Mehta"), _person("Mehta, AARA")).reasons


def test_two_people_sharing_a_family_phone_are_not() -> None:
    shared = frozenset({"+441132000000"})
    a = _person("Amelia Okafor", phones=shared)
    b = _person("Chidi Okafor", phones=shared, date_of_birth=dt.date(1978, 1, 2), birth_year=1978)
    result = score_pair(a, b)
    assert result.score < 60
    assert "different dates of birth" in result.reasons


def test_a_person_and_a_business_never_match() -> None:
    a = _person("Okafor Ltd", kind="business", date_of_birth=None, birth_year=None)
    assert score_pair(a, _person("Okafor Ltd")).score == 0


def test_without_the_key_only_birth_years_are_compared() -> None:
    a = _person("Amelia Okafor", date_of_birth=None)
    b = _person("Amelia Okafor", date_of_birth=None, birth_year=1981)
    assert "different birth years" in score_pair(a, b).reasons


# --- the scan over a real store --------------------------------------------------------------


def _finder(engine: Engine, **kw: int) -> DuplicateFinder:
    return DuplicateFinder(engine, FIELD_KEYRING, **kw)


def test_scan_finds_pairs_by_phone_email_and_name_and_stores_reasons(
    central: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    first = add_customer(central, "Amelia", "Okafor")
    # Same person, new phone and e-mail: found by the name + birth year key only.
    again = add_customer(
        central, "Amelia", "Okafor", phone="+447700900999", email="amelia.o@example.org"
    )
    # Same e-mail, different person and birth date: blocked together, scored low.
    add_customer(
        central, "Ben", "Mills", phone="+447700900555", email="amelia.okafor@example.co.uk",
        date_of_birth=dt.date(1990, 1, 1),
    )  # fmt: skip
    with caplog.at_level(logging.DEBUG):
        report = _finder(central).scan()
    assert report.candidates == 1 and report.opened == 1
    assert report.by_key["email"] == 1
    assert report.by_key["surname_initial_year"] == report.by_key["given_name_initial_year"] == 1
    rows = review_list(central)
    assert len(rows) == 1
    row = rows[0]
    assert {row.left.id, row.right.id} == {first, again}
    assert "same date of birth" in row.reasons and "same name" in row.reasons
    assert row.status == "To review"
    # Counts only in the log: no name, number, address or date.
    logged = caplog.text
    for secret in ("Okafor", "Amelia", "+4477", "example", "1980-05-17"):
        assert secret not in logged


def test_blocks_bigger_than_the_cap_are_skipped_not_paired(central: Engine) -> None:
    # add_customer gives everyone the same home number: one block of 6 customers.
    for n in range(6):
        add_customer(
            central, f"Given{n}", f"Family{n}", phone=f"+44770090{n:04d}", email=f"p{n}@x.org",
            date_of_birth=dt.date(1950 + n, 1, 1),
        )  # fmt: skip
    capped = _finder(central, max_block=5).scan()
    assert capped.oversized_blocks == 1 and capped.pairs_scored == 0
    uncapped = _finder(central, max_block=50).scan()
    assert uncapped.pairs_scored == 15  # 6 choose 2: one block, not all customers
    assert uncapped.candidates == 0  # different names and birth dates


def test_a_rescan_keeps_decisions_and_drops_pairs_no_longer_alike(central: Engine) -> None:
    a = add_customer(central, "Amelia", "Okafor")
    b = add_customer(central, "Amelia", "Okafor", phone="+447700900999", email="x@y.org")
    c = add_customer(central, "Noor", "Haddad", phone="+447700900111", email="n@h.org")
    d = add_customer(central, "Noor", "Haddad", phone="+447700900112", email="n2@h.org")
    finder = _finder(central)
    assert finder.scan().candidates == 2
    with write_session(central) as s:
        s.execute(
            update(DuplicateCandidate)
            .where(DuplicateCandidate.customer_a == ordered_pair(a, b)[0])
            .values(state="dismissed", decided_by="sam")
        )
        # Noor's duplicate is corrected to a different person: no longer a candidate.
        from agentdesk.models import Customer

        s.execute(
            update(Customer).where(Customer.id == d).values(given_name="Omar", family_name="Hale")
        )
    report = finder.scan()
    assert report.closed == 1
    assert review_list(central) == ()
    with read_session(central) as s:
        states = dict(
            s.execute(select(DuplicateCandidate.customer_a, DuplicateCandidate.state)).all()
        )
    assert states == {ordered_pair(a, b)[0]: "dismissed"}
    assert c  # (Noor's first record stays; only the pair went)


def test_phones_without_a_normalised_form_do_not_block(central: Engine) -> None:
    a = add_customer(central, "Amelia", "Okafor", email="a1@x.org")
    b = add_customer(central, "Zed", "Quinn", phone="+447700900888", email="z@x.org",
                     date_of_birth=dt.date(1999, 9, 9))  # fmt: skip
    with write_session(central) as s:
        s.execute(update(CustomerPhone).values(e164=None))
    report = _finder(central).scan()
    assert report.by_key.get("phone", 0) == 0
    assert a and b


def test_without_the_field_key_name_blocks_are_not_paired(central: Engine) -> None:
    add_customer(central, "Amelia", "Okafor")
    add_customer(central, "Amelia", "Okafor", phone="+447700900999", email="x@y.org")
    report = DuplicateFinder(central, None).scan()
    assert "surname_initial_year" not in report.by_key
    # Found through the shared home number; the date of birth cannot be compared keyless.
    (row,) = review_list(central)
    assert "same birth year" in row.reasons and "same date of birth" not in row.reasons
