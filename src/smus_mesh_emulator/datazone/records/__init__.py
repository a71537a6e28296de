"""The objects a DataZone domain holds, one module per area of operations.

They sit below `domains.py`, whose stores hold them, and above `common`/`ledger`: a record
reads its domain only through `common.DomainScope` (or `records.projects.ProjectScope`), so
the domain can type its stores with them without an import cycle (ADR 22).
"""
