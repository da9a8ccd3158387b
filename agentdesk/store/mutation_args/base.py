"""The building blocks of mutation arguments: the base class, field types, and rejections.

Every mutation has one argument class (``mutation_args.tickets.TicketCreate`` …). A
service builds it, the mutator receives it already validated, and the outbox keeps it
as JSON, so the desktop and the centre read the same schema. The field types here carry
the rules ``arg_text`` and friends used to apply key by key — limits, single-line text,
no lone surrogates, aware timestamps — with the same wording, and a pydantic error is
turned back into the ``MutationRejected`` the agent sees, naming the field.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic import ValidationError as ValidationError
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema


class MutationRejected(ValueError):
    """Input that can never be applied; shown to the agent with ``field`` highlighted."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ArgsPart(BaseModel):
    """A nested object inside mutation arguments (a phone, a ticket's changes, a call).

    Unknown keys are refused rather than dropped: a misspelt key would otherwise vanish
    and the change the agent made would silently not happen.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


class MutationArgs(ArgsPart):
    """The validated, immutable arguments of one mutation, named by ``mutation``."""

    mutation: ClassVar[str]

    @classmethod
    def parse(cls, data: Mapping[str, Any] | MutationArgs) -> Self:
        """``data`` as this class, or ``MutationRejected`` naming the first bad field."""
        if isinstance(data, cls):
            return data
        if isinstance(data, MutationArgs):
            raise TypeError(f"{type(data).__name__} given where {cls.__name__} is expected")
        with rejecting(cls.mutation):
            return cls.model_validate(data)

    def to_json(self) -> dict[str, Any]:
        """The JSON the outbox keeps and the push carries.

        Only the keys that were given: a patch's ``changes`` must not grow a ``null`` for
        every field it did not touch, and a replay re-applies the same defaults.
        """
        return self.model_dump(mode="json", exclude_unset=True)


class OpenArgs(MutationArgs):
    """Arguments taken as given, for a mutator registered without a class (a test's fake).

    Not for real mutations: those name their arguments so both sides and the published
    schema agree.
    """

    model_config = ConfigDict(extra="allow", frozen=True)
    mutation = ""


def reject(message: str, field: str | None = None) -> PydanticCustomError:
    """A failure whose message is shown as written (not prefixed with the field's name)."""
    return PydanticCustomError("rejected", "{message}", {"message": message, "field": field})


@contextmanager
def rejecting(mutation: str) -> Iterator[None]:
    """Turn a ``ValidationError`` raised inside into ``MutationRejected`` for the agent.

    For a service building ``mutation``'s arguments from what the agent typed, so a bad
    value is refused with its field before anything is written.
    """
    try:
        yield
    except ValidationError as exc:
        raise rejection(exc, mutation) from None


# Pydantic's own error types, worded as the mutators always worded them.
_WORDING = {
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "list_type": "must be a list",
}


def rejection(exc: ValidationError, mutation: str) -> MutationRejected:
    """The first error of ``exc`` as the agent reads it, with the field it concerns.

    The field is the innermost name in pydantic's ``loc`` (``phones.0.e164`` → ``e164``),
    as the mutators named it when they parsed nested objects key by key.
    """
    error = exc.errors(include_url=False)[0]
    loc = error["loc"]
    names = [part for part in loc if isinstance(part, str)]
    field = names[-1] if names else None
    context = error.get("ctx") or {}
    kind = error["type"]
    subject = field or "the change"
    if kind == "rejected":
        return MutationRejected(str(context["message"]), context.get("field") or field)
    if kind == "value_error":
        return MutationRejected(f"{subject} {context['error']}", field)
    if kind == "missing" or (error.get("input") is None and kind != "extra_forbidden"):
        return MutationRejected(f"{subject} is required", field)
    if kind == "extra_forbidden":
        verb = "cannot be changed with" if names[0] == "changes" else "is not an argument of"
        return MutationRejected(f"{subject} {verb} {mutation}", field)
    if kind == "too_long":
        return MutationRejected(
            f"{subject} must be a list of at most {context.get('max_length')} objects", field
        )
    wording = _WORDING.get(kind)
    return MutationRejected(
        f"{subject} {wording}" if wording else f"{subject}: {error['msg']}", field
    )


# --- field types ----------------------------------------------------------------------------

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_CONTROL = re.compile("[\t\n\r]")


def text_problem(value: str, max_len: int, *, multiline: bool) -> str | None:
    """Why ``value`` cannot be stored and shown safely, or None; worded after the field name.

    Lone surrogates (half of a UTF-16 pair, from a broken paste or a crafted request)
    cannot be encoded for the database or the wire; control characters have no glyph and
    can hide text; a one-line field with a line break could paint a fake second line
    ("ID&V PASSED") under a name. Bidi controls stay allowed: real names need them, and
    the desktop neutralises them when it shows a value.
    """
    if len(value) > max_len:
        return f"is {len(value):,} characters; the limit is {max_len:,}"
    if "\x00" in value:
        return "contains a NUL character"
    if (bad := _SURROGATE.search(value)) is not None:
        return (
            f"contains an invalid character (a lone UTF-16 surrogate, "
            f"U+{ord(bad.group()):04X}, at position {bad.start() + 1}); retype or re-paste it"
        )
    if (bad := _CONTROL.search(value)) is not None or (
        not multiline and (bad := _LINE_CONTROL.search(value)) is not None
    ):
        what = "a line break or tab" if bad.group() in "\t\n\r" else "a control character"
        return f"contains {what} (U+{ord(bad.group()):04X}) at position {bad.start() + 1}" + (
            "" if multiline else "; it must be a single line"
        )
    return None


@dataclass(frozen=True)
class Text:
    """Metadata for a text field: ``Annotated[str | None, Text(80)]``.

    An empty string counts as absent (None), as it always did; ``required`` refuses both.
    ``multiline`` allows line breaks and tabs (notes, descriptions, free-text reasons).
    """

    max_len: int
    multiline: bool = False
    required: bool = False

    def check(self, value: Any) -> Any:
        if value is None or value == "":
            if self.required:
                raise ValueError("is required")
            return None
        if not isinstance(value, str):
            raise ValueError("must be text")
        problem = text_problem(value, self.max_len, multiline=self.multiline)
        if problem is not None:
            raise ValueError(problem)
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return _with_string_rule(handler(schema), {"maxLength": self.max_len})


def _with_string_rule(json: JsonSchemaValue, rule: dict[str, Any]) -> JsonSchemaValue:
    """Add ``rule`` to the string branch of ``json`` (a plain or nullable string)."""
    for branch in json.get("anyOf", [json]):
        if branch.get("type") == "string":
            branch.update(rule)
    return json


@dataclass(frozen=True)
class Choice:
    """Metadata for an enum field: ``Annotated[TicketPriority, Choice(TicketPriority)]``.

    Lists the allowed values in the refusal, which pydantic's own message words for
    programmers rather than for an agent.
    """

    enum: type[Enum]

    def check(self, value: Any) -> Any:
        if value is None or isinstance(value, self.enum):
            return value
        try:
            return self.enum(value)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in self.enum)
            raise ValueError(f"{value!r} is not one of: {allowed}") from None

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self.check, handler(source))


E = TypeVar("E", bound=Enum)


def choose(enum: type[E], value: str, field: str) -> E:
    """``value`` as a member of ``enum``, for a service that holds text (a form, the IVR).

    Refused as the mutator would refuse it, so the agent sees the same message and field.
    """
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in enum)
        raise MutationRejected(f"{field} {value!r} is not one of: {allowed}", field) from None


@dataclass(frozen=True)
class WholeNumber:
    """Metadata for an integer field in ``low..high``; a bool or a float is not a number here."""

    low: int = 0
    high: int | None = None

    def check(self, value: Any) -> Any:
        if value is None:
            return None
        in_range = self.low <= value if isinstance(value, int) else False
        if self.high is not None and isinstance(value, int):
            in_range = in_range and value <= self.high
        if isinstance(value, bool) or not isinstance(value, int) or not in_range:
            if self.high is None and self.low == 0:
                raise ValueError("must be a non-negative whole number")
            raise ValueError(f"must be a whole number from {self.low:,} to {self.high:,}")
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json = handler(schema)
        for branch in json.get("anyOf", [json]):
            if branch.get("type") == "integer":
                branch["minimum"] = self.low
                if self.high is not None:
                    branch["maximum"] = self.high
        return json


@dataclass(frozen=True)
class Before:
    """Metadata running ``check`` before the field's own type, which keeps its JSON schema.

    ``check`` returns the value to validate further or raises ``ValueError`` with a
    message worded to follow the field's name ("is not a valid id").
    """

    check: Callable[[Any], Any]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self.check, handler(source))


def _to_uuid(value: Any) -> Any:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        if isinstance(value, str):
            return uuid.UUID(value)
    except ValueError:
        pass
    raise ValueError("is not a valid id")


def _to_utc(value: Any) -> Any:
    """An ISO 8601 text or an aware datetime, in UTC; a bare number is not a timestamp."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("is not an ISO 8601 timestamp") from None
    else:
        raise ValueError("is not an ISO 8601 timestamp")
    if parsed.tzinfo is None:
        raise ValueError("must carry a time zone")
    return parsed.astimezone(dt.UTC)


def _strict_bool(value: Any) -> Any:
    # pydantic would take "yes" or 1 for true; the mutators never did.
    if value is not None and not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


#: Metadata for ids: a UUID or its text, nothing else (``Annotated[uuid.UUID, IS_ID]``).
IS_ID = Before(_to_uuid)
#: Metadata for timestamps: ISO 8601 with a zone, stored in UTC.
IS_TIMESTAMP = Before(_to_utc)
#: Metadata for flags: true or false only.
IS_FLAG = Before(_strict_bool)
