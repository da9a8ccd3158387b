"""Customer Orders Product: catalogue, eligibility, verified orders, cross-sell (issue 13)."""
