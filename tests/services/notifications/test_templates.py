"""Templates are checked whole when loaded: a broken one is an error at start, not at send."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agentdesk.services.notifications.templates import TEMPLATES_DIR, TemplateError, load_catalog


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "notifications"
    shutil.copytree(TEMPLATES_DIR, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_shipped_templates_load_in_english_and_german() -> None:
    catalog = load_catalog()
    assert {"en", "de"} <= catalog.languages
    assert [s.name for s in catalog.for_ticket_event("created")] == ["ticket_created"]
    assert catalog.language_for("de-CH") == "de"
    assert catalog.language_for("fr") == "en"
    assert catalog.language_for(None) == "en"
    mail = catalog.render(
        "ticket_created", "email", "de", {"customer_name": "Anna", "ticket_number": "T-1"}
    )
    assert mail.subject == "Wir haben Ihr Anliegen T-1 erhalten"
    assert "Guten Tag Anna," in mail.body and "{" not in mail.body


def test_unknown_placeholder_is_refused_at_load(folder: Path) -> None:
    edit(folder / "de.toml", "{ticket_number} erhalten", "{ticket_nummer} erhalten")
    with pytest.raises(
        TemplateError,
        match=r"de.toml \[ticket_created\] subject: unknown "
        r"placeholder \{ticket_nummer\}",
    ):
        load_catalog(folder)


def test_required_placeholder_left_out_is_refused_at_load(folder: Path) -> None:
    edit(
        folder / "en.toml",
        'sms = "We have received your request {ticket_number} and',
        'sms = "We have received your request and',
    )
    with pytest.raises(
        TemplateError,
        match=r"the sms text leaves out required placeholder "
        r"\{ticket_number\}",
    ):
        load_catalog(folder)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("{ticket_number} erhalten", "{ticket_number erhalten", "literal brace"),
        ("{ticket_number} erhalten", "{ticket_number!r} erhalten", "not a plain placeholder"),
        ("{ticket_number} erhalten", "{0} erhalten", "not a plain placeholder"),
        ('subject = "Wie zufrieden waren Sie?"\n', "", "subject: missing"),
    ],
)
def test_malformed_texts_are_refused(folder: Path, old: str, new: str, message: str) -> None:
    edit(folder / "de.toml", old, new)
    with pytest.raises(TemplateError, match=message):
        load_catalog(folder)


def test_a_language_missing_a_template_or_a_status_name_is_refused(folder: Path) -> None:
    (folder / "fr.toml").write_text('[status]\nnew = "reçue"\n', encoding="utf-8")
    with pytest.raises(TemplateError, match=r"fr.toml \[status\]: no name for closed"):
        load_catalog(folder)


def test_bad_index_is_refused(folder: Path) -> None:
    edit(folder / "notifications.toml", 'category = "marketing"', 'category = "spam"')
    with pytest.raises(TemplateError, match="category must be"):
        load_catalog(folder)
    (folder / "notifications.toml").unlink()
    with pytest.raises(TemplateError, match="not found"):
        load_catalog(folder)
