"""Ctrl+K search: result model and the as-you-type popup."""
