"""Routing rules: first match wins on reason, product, segment, language, channel; bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentdesk.models import TicketPriority
from agentdesk.services.tickets.routing import (
    Assignment,
    RoutingError,
    TicketFacts,
    load_rules,
    parse_rules,
)
from agentdesk.services.tickets.sla import load_policy

REASONS = tuple(load_policy().reasons)


def test_shipped_rules_route_on_every_fact() -> None:
    rules = load_rules(reasons=REASONS)
    fraud = rules.route(TicketFacts("fraud_report", segment="corporate"))
    assert (fraud.rule, fraud.team, fraud.priority) == (
        "fraud",
        "Fraud & Disputes",
        TicketPriority.URGENT,
    )
    assert fraud.assignment is Assignment.LEAST_LOADED
    assert fraud.describe() == "rule fraud: Fraud & Disputes, urgent, least_loaded"
    business = rules.route(TicketFacts("complaint", segment="small_business"))
    assert business.team == "Business Banking"
    premier = rules.route(TicketFacts("complaint", segment="premier"))
    assert (premier.rule, premier.priority) == ("premier-complaints", TicketPriority.HIGH)
    card = rules.route(TicketFacts("general_enquiry", product="card", channel="email"))
    assert card.rule == "card-products"
    german = rules.route(TicketFacts("general_enquiry", product="mortgage", language="de"))
    assert german.team == "Loans & Mortgages"
    english = rules.route(TicketFacts("general_enquiry", product="mortgage", language="en"))
    assert (english.rule, english.team) == ("everything-else", "Everyday Banking")
    assert english.describe() == "rule everything-else: Everyday Banking, normal"


def test_channel_conditions_and_unknown_reason() -> None:
    rules = parse_rules(
        {
            "teams": {"Chat": {"assignment": "round_robin"}, "Desk": {}},
            "rules": [
                {"name": "chat", "channel": ["chat", "social"], "team": "Chat"},
                {"name": "rest", "team": "Desk"},
            ],
        },
        reasons=("a", "b"),
    )
    assert rules.route(TicketFacts("a", channel="social")).team == "Chat"
    assert rules.route(TicketFacts("a", channel="phone")).team == "Desk"
    assert rules.route(TicketFacts("b")).assignment is Assignment.NONE
    with pytest.raises(RoutingError, match="unknown ticket reason 'pigeon'") as err:
        rules.route(TicketFacts("pigeon"))
    assert err.value.field == "reason"


BASE = {"teams": {"Desk": {}}, "rules": [{"name": "rest", "team": "Desk"}]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**BASE, "rules": [{"name": "r", "team": "Nowhere"}]}, "unknown team 'Nowhere'"),
        ({**BASE, "rules": [{"name": "r", "reason": ["pigeon"], "team": "Desk"}]}, "reason"),
        ({**BASE, "rules": [{"name": "r", "reason": ["a"], "team": "Desk"}]}, "last rule"),
        ({**BASE, "rules": [{"name": "r", "team": "Desk", "colour": ["red"]}]}, "'colour'"),
        ({**BASE, "rules": [{"name": "r", "team": "Desk", "priority": "asap"}]}, "'asap'"),
        ({**BASE, "rules": [{"team": "Desk", "segment": []}, *BASE["rules"]]}, "list of text"),
        ({**BASE, "rules": [*BASE["rules"], *BASE["rules"]]}, "unique"),
        ({"teams": {"Desk": {"assignment": "lottery"}}, "rules": []}, "'lottery'"),
        ({"teams": {"Desk": {}}}, "no \\[\\[rules\\]\\]"),
    ],
)
def test_bad_rule_files_are_clear_errors(data: dict[str, object], message: str) -> None:
    with pytest.raises(RoutingError, match=message):
        parse_rules(data, reasons=("a",))


def test_unreadable_rule_file(tmp_path: Path) -> None:
    bad = tmp_path / "routing.toml"
    bad.write_text("[[rules]\n", "utf-8")
    with pytest.raises(RoutingError, match="cannot read the routing rules"):
        load_rules(bad)
