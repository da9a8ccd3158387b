"""Customers: the card and the 360 view, caller matching, search, the timeline."""
