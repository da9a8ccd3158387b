"""Call-attached IVR data: what the IVR learned before the call reached the agent.

It arrives as channel variables (``ChanVariable: IVR_INTENT=card_lost`` via
manager.conf ``channelvars``, or ``VarSet`` events) or as a ``UserEvent``
named ``IVRResult``; both are folded into one :class:`IvrData`. By design it
carries an opaque IVR session id and coarse results, never card or account
numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Channel-variable names (manager.conf channelvars) and their UserEvent equivalents.
_FIELDS: dict[str, tuple[str, ...]] = {
    "session_id": ("IVR_SESSION", "UE_SESSION"),
    "intent": ("IVR_INTENT", "UE_INTENT"),
    "language": ("IVR_LANGUAGE", "UE_LANGUAGE", "CHANNEL_LANGUAGE"),
    # Sites name these IDV_* or IVR_IDV_*; both are accepted.
    "idv_result": ("IDV_RESULT", "IVR_IDV", "UE_IDV"),
    "idv_method": ("IDV_METHOD", "IVR_IDV_METHOD", "UE_IDVMETHOD"),
    "idv_attempts": ("IDV_ATTEMPTS", "IVR_IDV_ATTEMPTS", "UE_IDVATTEMPTS"),
    "segment": ("IVR_SEGMENT", "UE_SEGMENT"),
}
#: Variables worth remembering from VarSet (everything else there is noise).
IVR_VARIABLES = frozenset(
    name for names in _FIELDS.values() for name in names if not name.startswith(("UE_", "CHANNEL_"))
)
_IDV_RESULTS = {"passed", "failed", "partial", "not_attempted"}
_MAX_VALUE = 64


@dataclass(frozen=True)
class IvrData:
    """The IVR's findings for one call; every field optional."""

    session_id: str | None = None
    intent: str | None = None
    language: str | None = None
    idv_result: str | None = None  # passed | failed | partial | not_attempted
    idv_method: str | None = None  # pin | dob | otp | voice …
    idv_attempts: int | None = None
    segment: str | None = None

    @property
    def verified(self) -> bool:
        return self.idv_result == "passed"

    def describe_idv(self) -> str:
        """One line an agent reads at a glance, e.g. ``Passed (PIN, 1 attempt)``."""
        if not self.idv_result:
            return "Not verified by the IVR"
        text = self.idv_result.replace("_", " ").capitalize()
        details = []
        if self.idv_method:
            details.append(
                self.idv_method.upper() if len(self.idv_method) <= 4 else self.idv_method
            )
        if self.idv_attempts is not None:
            details.append(f"{self.idv_attempts} attempt" + ("" if self.idv_attempts == 1 else "s"))
        return f"{text} ({', '.join(details)})" if details else text


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = "".join(ch for ch in value.strip() if ch.isprintable())[:_MAX_VALUE]
    return value or None


def ivr_from_pairs(pairs: Mapping[str, str]) -> IvrData:
    """Fold channel variables / UserEvent fields into :class:`IvrData`; odd values are dropped."""
    found: dict[str, str | None] = {}
    for field, names in _FIELDS.items():
        found[field] = next((v for n in names if (v := _clean(pairs.get(n))) is not None), None)
    idv = (found["idv_result"] or "").lower() or None
    if idv is not None and idv not in _IDV_RESULTS:
        idv = None
    attempts_text = found["idv_attempts"]
    attempts = int(attempts_text) if attempts_text and attempts_text.isdigit() else None
    if attempts is not None and attempts > 99:
        attempts = None
    return IvrData(
        session_id=found["session_id"],
        intent=found["intent"],
        language=found["language"],
        idv_result=idv,
        idv_method=(found["idv_method"] or "").lower() or None,
        idv_attempts=attempts,
        segment=found["segment"],
    )
