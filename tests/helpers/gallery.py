"""Gallery helpers shared by the tests."""

from __future__ import annotations

import time
from typing import Any


def synced(g: Any) -> bool:
    """g.sync() once another connection's commit has reached it: at once for SQLite, for PostgreSQL
    when its notification arrives (milliseconds later)."""
    deadline = time.monotonic() + 3
    while not g.sync():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True
