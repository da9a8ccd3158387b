"""Knowledge tests reuse the sync suite's central store and simulated desktops."""

from tests.sync.conftest import centre, make_desk  # noqa: F401 - fixtures
