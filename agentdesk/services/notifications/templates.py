"""Notification templates from ``resources/notifications``: checked whole when loaded.

``notifications.toml`` says which templates exist, what triggers them and
whether they are service or marketing messages; ``<language>.toml`` holds each
template's texts (e-mail subject and body, SMS) and the status names in that
language. Every problem a template can have is found by :func:`load_catalog`,
so a typo in a placeholder stops the server at start rather than failing a
message to a customer later: an unknown placeholder, a required one left out,
a missing text or language entry, a stray brace, a format spec.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agentdesk.models import TicketStatus
from agentdesk.paths import resource

TEMPLATES_DIR = resource("notifications")
INDEX_FILE = "notifications.toml"

# What a ticket event can put into a text.
PLACEHOLDERS = frozenset({"customer_name", "ticket_number", "ticket_title", "status", "old_status"})
Category = Literal["service", "marketing"]
Trigger = Literal["created", "status"]
NotifyChannel = Literal["email", "sms"]
CHANNEL_FIELDS: dict[str, tuple[str, ...]] = {"email": ("subject", "body"), "sms": ("sms",)}
_SPEC_KEYS = frozenset(
    {"category", "trigger", "statuses", "required", "reasons", "except_reasons", "from_statuses"}
)
MAX_SMS = 480  # three concatenated SMS segments


class TemplateError(ValueError):
    """A template file is missing, malformed, or a text uses placeholders wrongly."""


@dataclass(frozen=True)
class TemplateSpec:
    """One message: when it is sent and what kind of message it is."""

    name: str
    category: Category
    trigger: Trigger
    statuses: frozenset[TicketStatus]
    required: frozenset[str]
    # Which tickets it is about: only these reasons (empty: any), never these; for a status
    # trigger, only when the status left one of ``from_statuses`` (empty: from any).
    reasons: frozenset[str] = frozenset()
    except_reasons: frozenset[str] = frozenset()
    from_statuses: frozenset[TicketStatus] = frozenset()

    def applies(self, reason: str, old_status: str | None) -> bool:
        """True when a ticket of ``reason`` leaving ``old_status`` sends this message."""
        if (self.reasons and reason not in self.reasons) or reason in self.except_reasons:
            return False
        return not self.from_statuses or old_status in {s.value for s in self.from_statuses}


@dataclass(frozen=True)
class Rendered:
    """A message ready to send: ``subject`` is empty for SMS."""

    subject: str
    body: str


@dataclass(frozen=True)
class Catalog:
    """Every template in every language, checked."""

    specs: Mapping[str, TemplateSpec]
    texts: Mapping[str, Mapping[str, Mapping[str, str]]]  # language -> template -> field -> text
    status_names: Mapping[str, Mapping[str, str]]  # language -> status -> name
    default_language: str

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self.texts)

    def language_for(self, preferred: str | None) -> str:
        """The customer's language if it has texts (``de-AT``: ``de``), else the default."""
        tag = (preferred or "").strip().lower().replace("_", "-")
        for candidate in (tag, tag.split("-")[0]):
            if candidate in self.texts:
                return candidate
        return self.default_language

    def for_ticket_event(
        self,
        trigger: Trigger,
        status: TicketStatus | None = None,
        *,
        reason: str = "",
        old_status: str | None = None,
    ) -> list[TemplateSpec]:
        """The templates a ticket event sends, in file order."""
        return [
            spec
            for spec in self.specs.values()
            if spec.trigger == trigger
            and (trigger == "created" or status in spec.statuses)
            and spec.applies(reason, old_status)
        ]

    def status_name(self, language: str, status: str | None) -> str:
        if status is None:
            return ""
        return self.status_names[language].get(status, status)

    def render(
        self, name: str, channel: NotifyChannel, language: str, values: Mapping[str, str]
    ) -> Rendered:
        """The texts of ``name`` for ``channel`` in ``language`` with ``values`` filled in."""
        texts = self.texts[language][name]
        filled = {key: values.get(key, "") for key in PLACEHOLDERS}
        if channel == "email":
            subject = texts["subject"].format_map(filled)
            # A header never holds a line break (header injection from a customer's name).
            body = texts["body"].format_map(filled).strip() + "\n"
            return Rendered(" ".join(subject.split()), body)
        return Rendered("", " ".join(texts["sms"].format_map(filled).split())[:MAX_SMS])


def load_catalog(folder: Path = TEMPLATES_DIR) -> Catalog:
    """Read and check every template; raises :class:`TemplateError` naming the file and text."""
    index = _read(folder / INDEX_FILE)
    default_language = str(index.get("default_language", "en"))
    raw_specs = index.get("templates")
    if not isinstance(raw_specs, dict) or not raw_specs:
        raise TemplateError(f"{folder / INDEX_FILE}: no [templates.<name>] tables")
    specs = {name: _spec(name, body, folder / INDEX_FILE) for name, body in raw_specs.items()}
    texts: dict[str, dict[str, dict[str, str]]] = {}
    status_names: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.toml")):
        if path.name == INDEX_FILE:
            continue
        language = path.stem.lower()
        data = _read(path)
        status_names[language] = _status_names(data.get("status"), path)
        texts[language] = {name: _texts(data.get(name), spec, path) for name, spec in specs.items()}
        extra = set(data) - set(specs) - {"status"}
        if extra:
            raise TemplateError(
                f"{path}: tables for unknown templates: {', '.join(sorted(extra))} "
                f"(declare them in {INDEX_FILE})"
            )
    if default_language not in texts:
        raise TemplateError(
            f"{folder}: no texts in the default language {default_language!r} "
            f"(expected {default_language}.toml)"
        )
    return Catalog(specs, texts, status_names, default_language)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TemplateError(f"{path}: not found") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{path}: {exc}") from exc


def _spec(name: str, body: Any, path: Path) -> TemplateSpec:
    where = f"{path} [templates.{name}]"
    if not isinstance(body, dict):
        raise TemplateError(f"{where}: must be a table")
    category = body.get("category")
    if category not in ("service", "marketing"):
        raise TemplateError(f"{where}: category must be 'service' or 'marketing'")
    trigger = body.get("trigger")
    if trigger not in ("created", "status"):
        raise TemplateError(f"{where}: trigger must be 'created' or 'status'")
    unknown_keys = set(body) - _SPEC_KEYS
    if unknown_keys:
        raise TemplateError(f"{where}: unknown key {sorted(unknown_keys)[0]!r}")
    try:
        statuses = frozenset(TicketStatus(s) for s in body.get("statuses", []))
        from_statuses = frozenset(TicketStatus(s) for s in body.get("from_statuses", []))
    except ValueError as exc:
        raise TemplateError(f"{where}: {exc}") from exc
    reasons, except_reasons = _codes(body, "reasons", where), _codes(body, "except_reasons", where)
    if trigger == "status" and not statuses:
        raise TemplateError(f"{where}: a status trigger needs statuses = [...]")
    required = frozenset(str(p) for p in body.get("required", []))
    unknown = required - PLACEHOLDERS
    if unknown:
        raise TemplateError(f"{where}: unknown required placeholders {sorted(unknown)}")
    return TemplateSpec(
        name, category, trigger, statuses, required, reasons, except_reasons, from_statuses
    )


def _codes(body: dict[str, Any], key: str, where: str) -> frozenset[str]:
    values = body.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise TemplateError(f"{where}: {key} must be a list of ticket reason codes")
    return frozenset(values)


def _status_names(body: Any, path: Path) -> dict[str, str]:
    if not isinstance(body, dict):
        raise TemplateError(f"{path}: needs a [status] table naming every ticket status")
    missing = {s.value for s in TicketStatus} - set(body)
    if missing:
        raise TemplateError(f"{path} [status]: no name for {', '.join(sorted(missing))}")
    return {str(k): str(v) for k, v in body.items()}


def _texts(body: Any, spec: TemplateSpec, path: Path) -> dict[str, str]:
    if not isinstance(body, dict):
        raise TemplateError(f"{path}: no [{spec.name}] texts")
    texts: dict[str, str] = {}
    for channel, fields in CHANNEL_FIELDS.items():
        for field_name in fields:
            text = body.get(field_name)
            where = f"{path} [{spec.name}] {field_name}"
            if not isinstance(text, str) or not text.strip():
                raise TemplateError(f"{where}: missing (every template needs it for {channel})")
            used = placeholders(text, where)
            unknown = used - PLACEHOLDERS
            if unknown:
                raise TemplateError(
                    f"{where}: unknown placeholder {{{sorted(unknown)[0]}}} "
                    f"(known: {', '.join(sorted(PLACEHOLDERS))})"
                )
            texts[field_name] = text
    for channel, fields in CHANNEL_FIELDS.items():
        used = set().union(*(placeholders(texts[f], "") for f in fields))
        missing = spec.required - used
        if missing:
            raise TemplateError(
                f"{path} [{spec.name}]: the {channel} text leaves out required placeholder "
                f"{{{sorted(missing)[0]}}}"
            )
    return texts


def placeholders(text: str, where: str) -> set[str]:
    """The placeholder names in ``text``; anything but a plain ``{name}`` is refused."""
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TemplateError(f"{where}: {exc} (write {{{{ and }}}} for a literal brace)") from exc
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise TemplateError(f"{where}: {{{name}}} is not a plain placeholder {{name}}")
        names.add(name)
    return names
