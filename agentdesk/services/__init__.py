"""Domain use cases. They open short sessions, return frozen dataclasses, and import no Qt."""
