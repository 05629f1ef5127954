"""The rules engine: DoR, DoD, INVEST, capacity and consistency checks as data findings.

Public entry points (this layer imports only ``backlog.model`` and ``backlog.errors``):

- ``rules.runner.run_rules(backlog, config=None, live=None, only_items=None) -> list[Finding]``
- ``rules.runner.check_live_issue(issue, backlog=None, config=None)`` (the ``dod.*`` rules)
- ``rules.config.RulesConfig`` / ``load_rules_config(path)``; ``rules.live.LiveIssue`` etc.
- ``rules.report.formatter(name)`` (text, json, markdown, sarif, github)
- ``rules.capacity.sprint_loads(ctx)`` and ``rules.forecast.monte_carlo(...)``
"""
