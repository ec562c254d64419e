#!/usr/bin/env bash
# Sets up .venv from the pinned requirements (if needed) and runs every check CI runs: ruff lint,
# ruff format check, mypy, shellcheck, actionlint and zizmor on the GitHub workflows, and the pytest
# suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/dev-env.sh
. scripts/dev-env.sh
ensure_dev_venv

# actionlint runs shellcheck on the workflows' `run:` scripts when it finds it on PATH.
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff check"; .venv/bin/ruff check .
echo "== ruff format --check"; .venv/bin/ruff format --check .
echo "== mypy"; .venv/bin/mypy
echo "== shellcheck"; .venv/bin/shellcheck scripts/*.sh contrib/*.sh .ci/run
echo "== actionlint"; .venv/bin/actionlint
echo "== zizmor"; .venv/bin/zizmor --offline --quiet .github
# The end-to-end tests (tests/e2e/, tests/test_language_host.py) drive the real Pulumi CLI: the one
# $E2E_PULUMI_CLI names (the checks workflow installs the released CLI), else the one scripts/pulumi-cli.sh
# builds from the Go module proxy (minutes on a fresh machine, then reused). That build is made here, with
# its progress shown, rather than silently inside the first test that needs it (tests/test_pulumi_cli_build.py
# needs it either way). If it cannot be built (no Go), those tests fail with the reason: never skipped.
echo "== Pulumi CLI for the end-to-end tests"
if [ -n "${E2E_PULUMI_CLI:-}" ]; then
  echo "E2E_PULUMI_CLI=$E2E_PULUMI_CLI: $(command -v "$E2E_PULUMI_CLI" || echo 'not found')"
fi
if cli_dir=$(./scripts/pulumi-cli.sh); then
  echo "$cli_dir"
else
  echo "scripts/pulumi-cli.sh failed: the end-to-end tests will fail" >&2
fi
# One worker per core (pytest-xdist; PYTEST_WORKERS to choose, 0 for none). Work stealing: an idle worker takes
# tests queued on the other, instead of the last end-to-end tests running one at a time (12 minutes -> 8.5 on 2 cores).
# The slowest tests are named at the end.
echo "== pytest"; .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-auto}" --dist worksteal --durations=10 "$@"
