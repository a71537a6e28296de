"""DataZone emulation: Data sources and their runs, assets, search and search_listings,
listings (publish/unpublish).
"""

from __future__ import annotations


class CatalogMixin:
    """Operations of this area (see the module docstring)."""
