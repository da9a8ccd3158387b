"""An agent's line comes from the agent's configured columns; NOTIFYs never go to a guessed name."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from agentdesk.services.desk import pbx_actions as actions
from agentdesk.services.desk.call_requests import (
    AgentLine,
    Answer,
    Hangup,
    Hold,
    JoinQueue,
    Pause,
    to_action,
)


@dataclass
class Row:
    """The columns of ``agentdesk.models.org.Agent`` that make a line."""

    interface: str | None
    display_name: str = "Alice Agent"
    extension: str | None = " 1001 "
    state_interface: str | None = None
    endpoint: str | None = None


def test_a_line_is_built_from_the_agent_row() -> None:
    row = Row("Local/1001@agents/n", state_interface=" PJSIP/1001 ", endpoint="alice-desk")
    line = AgentLine.from_agent(row)
    assert line == AgentLine(
        interface="Local/1001@agents/n",
        member_name="Alice Agent",
        extension="1001",
        endpoint="alice-desk",
        state_interface="PJSIP/1001",
    )
    assert line.identity.is_mine("PJSIP/1001") and line.identity.owns_channel("PJSIP/1001-0a0b0c0d")
    assert AgentLine.from_agent(Row(None)) is None and AgentLine.from_agent(Row("  ")) is None


def test_the_model_has_the_line_columns() -> None:
    from agentdesk.models.org import Agent

    agent = Agent(
        login="alice", display_name="Alice", password_hash="x", interface="Local/1001@agents",
        state_interface="PJSIP/1001", endpoint="1001",
    )  # fmt: skip
    line = AgentLine.from_agent(agent)
    assert line is not None and (line.state_interface, line.endpoint) == ("PJSIP/1001", "1001")


def test_the_configured_endpoint_gets_the_notify_not_the_interface_text() -> None:
    line = AgentLine.from_agent(Row("PJSIP/1001", endpoint="alice-yealink"))
    assert line is not None
    assert to_action(Answer(), line).as_dict() == {
        "Endpoint": "alice-yealink", "Variable": "Event=talk",
    }  # fmt: skip
    assert to_action(Hold("1.1", on=True), line).as_dict()["Endpoint"] == "alice-yealink"


@pytest.mark.parametrize("interface", ["PJSIP/1001", "SIP/1001", "pjsip/1001"])
def test_pjsip_and_sip_interfaces_fall_back_to_their_endpoint(interface: str) -> None:
    line = AgentLine(interface, "Alice")
    assert to_action(Answer(), line).as_dict()["Endpoint"] == "1001"
    assert actions.answer(interface).as_dict()["Endpoint"] == "1001"


@pytest.mark.parametrize("interface", ["Local/1001@agents", "Local/1001@agents/n", "IAX2/1001"])
def test_a_line_naming_no_phone_refuses_answer_and_hold_in_words(interface: str) -> None:
    line = AgentLine(interface, "Alice", state_interface="PJSIP/1001")
    for request in (Answer(), Hold("1.1", on=True), Hold("1.1", on=False)):
        with pytest.raises(actions.ActionInputError, match="No phone endpoint is configured"):
            to_action(request, line)
    with pytest.raises(actions.ActionInputError):
        actions.hold(interface, True)
    # the same line with its endpoint configured answers that phone
    configured = AgentLine(interface, "Alice", endpoint="1001", state_interface="PJSIP/1001")
    assert to_action(Answer(), configured).as_dict()["Endpoint"] == "1001"


def test_queue_actions_of_a_local_member_use_its_interface() -> None:
    line = AgentLine("Local/1001@agents/n", "Alice", state_interface="PJSIP/1001")
    assert to_action(Pause(paused=True, reason="Lunch"), line).as_dict()["Interface"] == (
        "Local/1001@agents/n"
    )
    assert to_action(JoinQueue("general"), line).as_dict()["Interface"] == "Local/1001@agents/n"
    hangup = to_action(Hangup("1.1"), line, "PJSIP/1001-0000002b")
    assert hangup.as_dict()["Channel"] == "PJSIP/1001-0000002b"
