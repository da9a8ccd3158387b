"""One router per concern; ``server/app.py`` mounts them under ``/api/v1``."""
