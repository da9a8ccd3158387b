"""Ticket panes: table model with live SLA countdown, filter proxy, detail panel, dialogs."""
