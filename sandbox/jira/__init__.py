"""A stateful emulator of the Jira Cloud REST and Agile APIs backlog-bot uses (loopback only)."""

from sandbox.jira.faults import Fault, LoggedRequest
from sandbox.jira.server import DEFAULT_EMAIL, DEFAULT_TOKEN, JiraSandbox
from sandbox.jira.state import ProjectSpec

__all__ = ["DEFAULT_EMAIL", "DEFAULT_TOKEN", "Fault", "JiraSandbox", "LoggedRequest", "ProjectSpec"]
