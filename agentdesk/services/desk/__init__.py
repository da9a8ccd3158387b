"""The agent's desk: calls offered and handled, agent state, wrap-ups, pop timing."""
