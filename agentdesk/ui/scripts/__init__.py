"""The Script tab beside the call (issue 13 item 2)."""
