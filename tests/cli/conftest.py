"""CLI tests reuse the e2e fixtures (fast polling, config files on disk)."""

from tests.e2e.conftest import (
    deploy_example,
    fast_polling,
    make_workspace,
    write_config,
)

__all__ = ["deploy_example", "fast_polling", "make_workspace", "write_config"]
