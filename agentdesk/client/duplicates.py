"""The supervisor's duplicate review, asked of the server (which holds the field key).

Same frozen dataclasses back as the services return, so the review view does
not know whether it talks to a database or to the server.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from pydantic import TypeAdapter

from agentdesk.client.api import ServerApi
from agentdesk.services.crm.duplicate_review import CandidateRow
from agentdesk.services.crm.duplicates import ScanReport
from agentdesk.services.crm.merge import MergeRequestView, MergeResult

_ROWS = TypeAdapter(tuple[CandidateRow, ...])
_REPORT = TypeAdapter(ScanReport)
_REQUEST = TypeAdapter(MergeRequestView)
_RESULT = TypeAdapter(MergeResult)
# A scan reads every customer's keys once: longer than a look-up, bounded all the same.
SCAN_TIMEOUT = httpx.Timeout(300.0, connect=3.0)


class ServerDuplicates:
    """Review list, scan, dismiss, and four-eyes merges through ``/api/v1/supervisor``."""

    def __init__(self, api: ServerApi) -> None:
        self._api = api

    def review_list(self, limit: int = 200) -> tuple[CandidateRow, ...]:
        data = self._api.request("GET", "/supervisor/duplicates", params={"limit": limit})
        return _ROWS.validate_python(data)

    def scan(self) -> ScanReport:
        data = self._api.request("POST", "/supervisor/duplicates/scan", timeout=SCAN_TIMEOUT)
        return _REPORT.validate_python(data)

    def dismiss(self, candidate_id: uuid.UUID) -> None:
        self._api.request("POST", f"/supervisor/duplicates/{candidate_id}/dismiss")

    def request_merge(
        self, survivor_id: uuid.UUID, merged_id: uuid.UUID, note: str | None = None
    ) -> MergeRequestView:
        body: dict[str, Any] = {"survivor_id": str(survivor_id), "merged_id": str(merged_id)}
        if note:
            body["note"] = note
        return _REQUEST.validate_python(self._api.request("POST", "/supervisor/merges", json=body))

    def approve(self, request_id: uuid.UUID) -> MergeResult:
        data = self._api.request("POST", f"/supervisor/merges/{request_id}/approve")
        return _RESULT.validate_python(data)

    def reject(self, request_id: uuid.UUID, note: str | None = None) -> MergeRequestView:
        data = self._api.request(
            "POST", f"/supervisor/merges/{request_id}/reject", json={"note": note}
        )
        return _REQUEST.validate_python(data)
