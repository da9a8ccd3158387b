"""Deterministic, realistic demo data for a bank contact center (``agentdesk seed``)."""
