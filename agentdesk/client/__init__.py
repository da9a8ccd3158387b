"""The desktop's side of the wire: API client, WebSocket, sync, offline queue, offline sign-in."""
