"""The 360 view's live products, asked of the server (never of the core system directly)."""

from __future__ import annotations

import uuid

from agentdesk.client.api import ServerApi
from agentdesk.client.lookups import ClientIdSource
from agentdesk.services.corebank.models import LiveProducts


class ServerLiveProducts:
    """``GET /customers/{id}/products-live``: balances and recent transactions, maybe stale."""

    def __init__(self, api: ServerApi, client_id: ClientIdSource) -> None:
        self._api = api
        self._client_id = client_id

    def __call__(self, customer_id: uuid.UUID) -> LiveProducts:
        data = self._api.request(
            "GET",
            f"/customers/{customer_id}/products-live",
            params={"client_id": str(self._client_id())},
        )
        return LiveProducts.model_validate(data)
