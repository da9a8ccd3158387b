"""Orders and cross-sell on the desktop: the order dialog and the suggestion strip."""
