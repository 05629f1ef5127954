"""The sprint planning page: ``GET /`` of ``backlog-bot serve`` and ``backlog-bot report --html``.

``model`` gathers what the page shows (pure: backlog, live issue state, calendar, findings in;
a ``PlanningPage`` out), ``charts`` lays out the SVG burndown and forecast, ``render`` fills
the Jinja2 templates, ``routes`` serves the page behind the page token or the proxy's auth.
"""
