"""Reference data for the demo bank: teams, skills, queues, agents, dispositions, knowledge."""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher

from agentdesk.ids import uuid7
from agentdesk.models import Role
from agentdesk.paths import resource

DEMO_PASSWORD = "demo"  # documented in the README; demo data only

TEAMS = (
    "Everyday Banking",
    "Cards",
    "Loans & Mortgages",
    "Fraud & Disputes",
    "Business Banking",
    "Back Office",
)
SKILLS = (
    "english",
    "german",
    "french",
    "spanish",
    "polish",
    "cards",
    "mortgages",
    "fraud",
    "business",
)
# (queue name on the PBX, description, owning team, skill)
QUEUES = (
    ("general", "Everyday banking", "Everyday Banking", "english"),
    ("cards", "Cards and payments", "Cards", "cards"),
    ("loans", "Loans and mortgages", "Loans & Mortgages", "mortgages"),
    ("fraud", "Fraud and disputes", "Fraud & Disputes", "fraud"),
    ("business", "Business banking", "Business Banking", "business"),
)
KNOWLEDGE = (
    (
        "card_lost",
        "Lost or stolen card",
        "Block the card at once in Cards > Block, confirm the last "
        "transactions with the customer, and order a replacement (3-5 working days).",
        "cards,block",
    ),
    (
        "balance",
        "Balance and recent transactions",
        "Read the available balance, not the ledger "
        "balance. Pending card payments reduce the available balance for up to 7 days.",
        "accounts",
    ),
    (
        "mortgage_overpay",
        "Mortgage overpayments",
        "Customers may overpay up to 10 % of the balance "
        "each year without an early repayment charge.",
        "mortgages",
    ),
    (
        "fraud_report",
        "Reporting fraud",
        "Never ask for a full card number or PIN. Escalate to the "
        "Fraud team with a Severity major ticket and tell the customer the reference.",
        "fraud",
    ),
    (
        "address_change",
        "Changing an address",
        "A change of address needs passed ID&V. Business "
        "customers also need an authorised signatory.",
        "kyc",
    ),
    (
        "open_account",
        "Opening a savings account",
        "Check eligibility, explain the rate and the "
        "withdrawal rules, then place the order; Back Office fulfils it within 2 working days.",
        "sales",
    ),
)

# The products (``ProductKind`` values) each seeded article is about, for suggestions.
KNOWLEDGE_PRODUCTS = {
    "card_lost": "card",
    "balance": "current savings",
    "mortgage_overpay": "mortgage",
    "fraud_report": "card current",
    "open_account": "savings",
}


@dataclass(frozen=True)
class AgentSeed:
    id: uuid.UUID
    login: str
    display_name: str
    role: Role
    interface: str | None
    extension: str | None
    team: str


def demo_agents(new_id: Callable[[], uuid.UUID] = uuid7, count: int = 40) -> list[AgentSeed]:
    """Named demo users first (alice, bob: agents; carol: supervisor; dave: admin), then agent03…"""
    named = [
        ("alice", "Alice Agent", Role.AGENT, "Everyday Banking"),
        ("bob", "Bob Agent", Role.AGENT, "Cards"),
        ("carol", "Carol Supervisor", Role.SUPERVISOR, "Everyday Banking"),
        ("dave", "Dave Admin", Role.ADMIN, "Back Office"),
    ]
    agents: list[AgentSeed] = []
    for i in range(count):
        ext = str(1001 + i)
        if i < len(named):
            login, name, role, team = named[i]
        else:
            login, name, role, team = (
                f"agent{i + 1:02d}",
                f"Agent {i + 1:02d}",
                Role.AGENT,
                TEAMS[i % 5],
            )
        agents.append(AgentSeed(new_id(), login, name, role, f"PJSIP/{ext}", ext, team))
    return agents


def hash_password(password: str) -> str:
    return PasswordHasher().hash(password)


def dispositions() -> list[dict[str, object]]:
    """Dispositions from ``resources/dispositions.toml``."""
    data = tomllib.loads(resource("dispositions.toml").read_text(encoding="utf-8"))
    return [
        {
            "code": d["code"],
            "label": d["label"],
            "category": d.get("category", "general"),
            "requires_notes": bool(d.get("requires_notes", False)),
            "suggests_ticket": bool(d.get("suggests_ticket", False)),
            "active": True,
        }
        for d in data["disposition"]
    ]
