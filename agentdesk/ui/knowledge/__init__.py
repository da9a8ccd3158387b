"""The knowledge panel: suggestions for a call, search, the article reader (issue 13)."""
