"""Tickets: the service agents use, list views, SLA clocks."""
