"""Who may order: a caller whose identity was verified, by the IVR or by the agent.

The rule (issue 13, "for a verified caller only"):

* On a call whose IVR ID&V **passed**, the IVR's result is the verification
  (source ``ivr``, its method, e.g. ``pin``).
* On a call whose IVR ID&V **failed**, nothing can be ordered on that call: a caller who
  could not prove who they are to the IVR is not re-verified by the agent for a sale.
* Otherwise, when the agent ran the call's script and recorded its ID&V step (method and
  result), that check decides: **passed** lets the order through as the agent's
  verification with the script's method; **failed** blocks orders on the call (the agent
  cannot pick another method here to get round a failed check).
* Otherwise (IVR partial or not attempted, or no call at all: an e-mail, a branch visit)
  the agent must verify the customer personally and record how, with one of
  :data:`AGENT_METHODS`; the method and the agent are kept on the order's ticket.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentdesk.services.desk.call_data import IvrData
from agentdesk.services.scripts.engine import IdvCheck, idv_words
from agentdesk.services.scripts.model import IDV_METHODS
from agentdesk.store.mutation_args.orders import VerifiedBy as VerifiedBy

AGENT_METHODS: dict[str, str] = {
    "security_questions": "Security questions answered",
    "one_time_passcode": "One-time passcode to the registered phone",
    "document_seen": "Identity document seen in person",
}
_IVR_METHODS = {"pin": "PIN", "dob": "date of birth", "ivr": "IVR check"}  # the IVR's codes
#: Every method an order may record as the agent's: the dialog's and the scripts' ID&V step's.
ACCEPTED_METHODS: dict[str, str] = IDV_METHODS | AGENT_METHODS


class NotVerified(PermissionError):
    """The caller's identity is not verified well enough to place an order."""


@dataclass(frozen=True)
class Verification:
    """How the customer was verified for this order."""

    source: VerifiedBy
    method: str
    in_script: bool = False  # the agent's check, recorded on the script's ID&V step

    def describe(self) -> str:
        if self.source is VerifiedBy.IVR:
            method = _IVR_METHODS.get(self.method) or self.method.replace("_", " ")
            return f"Verified by the IVR ({method})"
        how = ACCEPTED_METHODS.get(self.method, self.method).lower()
        if self.in_script:
            return f"Verified by the agent in the script: {how}"
        return f"Verified by the agent: {how}"


def verification_for(
    ivr: IvrData | None, agent_method: str | None = None, script: IdvCheck | None = None
) -> Verification:
    """The verification that lets an order through, or :class:`NotVerified` saying why.

    ``script`` is the agent's check recorded on the call's script (None: none recorded).
    """
    if ivr is not None and ivr.verified:
        return Verification(VerifiedBy.IVR, ivr.idv_method or "ivr")
    if ivr is not None and ivr.idv_result == "failed":
        raise NotVerified(
            "ID&V failed in the IVR on this call: no order can be placed on it; "
            "ask the customer to call back or visit a branch"
        )
    if script is not None:
        return _scripted(script)
    if not agent_method:
        raise NotVerified(
            "the caller is not verified: verify the customer yourself and say how "
            "before placing the order"
        )
    if agent_method not in AGENT_METHODS:
        raise NotVerified(f"unknown verification method {agent_method!r}")
    return Verification(VerifiedBy.AGENT, agent_method)


def _scripted(check: IdvCheck) -> Verification:
    if not check.passed or check.method not in ACCEPTED_METHODS:
        how = IDV_METHODS.get(check.method or "") or idv_words(check)
        raise NotVerified(
            f"the caller failed the identity check in the script ({how}): "
            "no order can be placed on this call"
        )
    return Verification(VerifiedBy.AGENT, check.method, in_script=True)


def recorded_verification(value: str | None) -> str:
    """A verification as the order's history keeps it (``agent:security_questions``), in words."""
    source, _, method = (value or "").partition(":")
    try:
        return Verification(VerifiedBy(source), method).describe()
    except ValueError:
        return "Verification not recorded"


def order_history_text(field: str, value: str | None, title: str) -> str | None:
    """How a timeline names an order's own history row; ``None`` for any other field."""
    if field == "order_product":
        return f"order placed for {title}"
    if field == "order_verified":
        text = recorded_verification(value)
        return "caller " + text[0].lower() + text[1:]
    return None
