"""The core-banking adapter: accounts, balances, cards, loans and recent transactions, live.

``models`` is the wire contract (validated strictly), ``client`` the HTTP
adapter with its timeout, ``breaker`` the circuit breaker, ``live`` what the
server's 360 route composes from them (last-known values marked stale), and
``simulator`` the stand-in core system ``agentdesk corebank`` serves. See
docs/corebank.md. Nothing here imports Qt.
"""
