"""Closed vocabularies used by the schema.

They are ``StrEnum`` so the database stores readable text and services can
compare against plain strings read from resources or the wire.
"""

from __future__ import annotations

from enum import StrEnum


class CustomerKind(StrEnum):
    PERSON = "person"
    BUSINESS = "business"


class ContactLabel(StrEnum):
    HOME = "home"
    OFFICE = "office"
    MOBILE = "mobile"
    EMERGENCY = "emergency"
    PERSONAL = "personal"
    OFFICIAL = "official"


class DocumentKind(StrEnum):
    PASSPORT = "passport"
    DRIVING_LICENCE = "driving_licence"
    NATIONAL_ID = "national_id"


class ProductKind(StrEnum):
    DEPOSIT = "deposit"
    CURRENT = "current"
    SAVINGS = "savings"
    LOAN = "loan"
    CARD = "card"
    MORTGAGE = "mortgage"
    INVESTMENT = "investment"
    INSURANCE = "insurance"


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    WEB = "web"
    BRANCH = "branch"
    SMS = "sms"
    SOCIAL = "social"
    IVR = "ivr"  # self-service that ended in the IVR


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class TicketStatus(StrEnum):
    """Workflow states, in the order the sync state machine ranks them."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


class TicketPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Severity(StrEnum):
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    EDITOR = "editor"  # writes and publishes knowledge articles (issue 13)


class IdvResult(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    PARTIAL = "partial"
    NOT_ATTEMPTED = "not_attempted"


class OutboxState(StrEnum):
    PENDING = "pending"
    ACKED = "acked"
    REJECTED = "rejected"
