"""Engines, sessions, migrations and the local write path. No Qt, no business rules."""
