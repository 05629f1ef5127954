"""Which Jira the adapter talks to: Cloud or Data Center / Server.

The two differ where backlog-bot touches them:

============== ===================================== ======================================
               Cloud                                 Data Center / Server
============== ===================================== ======================================
credentials    email + API token (HTTP Basic)        personal access token (Bearer)
search         ``GET /rest/api/3/search/jql``         ``GET /rest/api/2/search``
               (``nextPageToken`` pages)              (``startAt`` / ``total`` pages)
bodies         API v2 accepts wiki markup on both; the adapter writes through v2 everywhere
account id     ``accountId``                         ``key`` / ``name``
============== ===================================== ======================================

The Agile API (boards, sprints) is the same. ``[jira] deployment`` chooses; ``"auto"`` (the
default) asks ``/rest/api/2/serverInfo``, whose ``deploymentType`` is ``Cloud`` on Cloud and
``Server`` or ``DataCenter`` otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from backlog.errors import ConfigurationError

Deployment = Literal["auto", "cloud", "datacenter"]
Flavour = Literal["cloud", "datacenter"]
CHOICES: tuple[Deployment, ...] = ("auto", "cloud", "datacenter")


def deployment_choice(table: Mapping[str, Any]) -> Deployment:
    """``[jira] deployment``: ``auto`` unless set; ``server`` is read as ``datacenter``."""
    raw = str(table.get("deployment", "auto")).strip().lower().replace(" ", "")
    if raw in ("server", "data-center", "datacentre"):
        raw = "datacenter"
    for choice in CHOICES:
        if raw == choice:
            return choice
    raise ConfigurationError(
        f'[jira] deployment = {table.get("deployment")!r}: use "auto", "cloud" or "datacenter"'
    )


def from_server_info(info: Mapping[str, Any]) -> Flavour:
    """``deploymentType`` ``Cloud`` -> cloud; ``Server`` or ``DataCenter`` -> datacenter."""
    return "cloud" if str(info.get("deploymentType", "")).lower() == "cloud" else "datacenter"
