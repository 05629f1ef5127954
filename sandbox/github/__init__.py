"""A sandbox GitHub: REST, GraphQL (Projects v2), rate limits, faults and webhooks.

``GitHubSandbox`` runs it over loopback HTTP; see ``control.py``.
"""

from sandbox.github.control import DEFAULT_TOKEN, GitHubSandbox

__all__ = ["DEFAULT_TOKEN", "GitHubSandbox"]
