#!/usr/bin/env bash
# Runs one of the operations commands (python -m ops.<name>) with the project's virtualenv.
# Usage: scripts/run-ops.sh MODULE [ARGS...]; the contrib/*.sh entry points call it.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=$repo/.venv/bin/python
if [ ! -x "$python" ]; then
  echo "error: no virtualenv at $repo/.venv. Create it once with:" >&2
  echo "  python3 -m venv $repo/.venv && $repo/.venv/bin/pip install -r $repo/requirements.txt" >&2
  exit 2
fi
module=$1
shift
PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" exec "$python" -m "$module" "$@"
