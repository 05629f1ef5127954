#!/usr/bin/env bash
# Installs everything the tests need into .venv and .cache, then runs lint and the test suite.
# The README's test command and CI's .ci/run both run this script.
set -euo pipefail
cd "$(dirname "$0")/.."

# Services the tests use: PostgreSQL on 127.0.0.1:5432 (start it if it has stopped).
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

# Chromium for the browser tests of the planning page: Playwright drives Debian's build at
# /usr/bin/chromium (tests/conftest.py) and never downloads a browser of its own.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

# GitHub's REST description and webhook examples for the contract tests, from the npm registry
# into .cache/oracles (versions pinned in sandbox/oracles.py). Jira's and Slack's descriptions
# are committed in tests/oracles; the GitHub sandbox's GraphQL schema ships in the package.
.venv/bin/python -m sandbox.oracles >/dev/null

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports  # the layering contracts in pyproject.toml ([tool.importlinter])

# Tests marked slow run only in CI (CI=true) or with --run-slow (see tests/conftest.py).
# The tests' SQLite files and other temporary files go to memory when it is available: each
# fresh database is migrated with a dozen disk flushes, which dominate the run on a busy disk.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  export TMPDIR=/dev/shm
fi

# A developer's run with no arguments spreads the tests over three processes (pytest-xdist:
# much of a test's time is spent waiting on sandboxes over loopback, so three keep two cores
# busy). CI runs them in one process, where the timing-sensitive scenarios (kills, stalls,
# rate limits) compete with nothing.
if [ "$#" -eq 0 ] && [ -z "${CI:-}" ]; then
  set -- -n 3 --dist worksteal
fi

set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
