"""Every module that defines tables, imported so that ``SQLModel.metadata`` is complete.

Add a module here when it defines a table; ``migrations/env.py`` and the migration test use it.
"""

from __future__ import annotations

import bot.inbox
import bot.slack_store  # noqa: F401
import sync.store  # noqa: F401
