"""The local multi-account AWS cloud smus-mesh is tested and demonstrated on.

moto 5.2.5 with a DataZone service and the fixes the workflow needs, on one loopback
port (`server.EmulatorServer`). A package of its own that imports nothing from the tool
(import-linter checks both directions), installed with the `emulator` extra:
`pip install 'smus-mesh[emulator]'` (ADR 10).
"""

from __future__ import annotations

import importlib

INSTALL_HINT = "pip install 'smus-mesh[emulator]'"

#: Import names of what the `emulator` extra installs (moto[server] brings Flask and
#: werkzeug; cheroot serves HTTP; Athena reads and writes Parquet with pyarrow) that the
#: emulator cannot start without.
EXTRA_MODULES = ("moto", "flask", "werkzeug", "duckdb", "regex", "cheroot", "pyarrow")


def missing_dependencies() -> list[str]:
    """The extra's modules that cannot be imported (empty when the emulator can run)."""
    missing = []
    for name in EXTRA_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing
