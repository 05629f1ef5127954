"""Every module that defines tables, imported so that ``SQLModel.metadata`` is complete.

Add a module here when it defines a table; ``migrations/env.py`` and the migration test use it.
"""

from __future__ import annotations

import sync.state.due
import sync.state.inbox
import sync.state.slack
import sync.state.tables  # noqa: F401
