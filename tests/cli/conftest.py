"""CLI tests reuse the e2e fixtures (fast polling, config files on disk)."""

from tests.e2e.conftest import fast_polling, write_config

__all__ = ["fast_polling", "write_config"]
