#!/usr/bin/env bash
# A sandbox to rehearse any change on this machine (README, "Day one: change a route"):
#   ./scripts/sandbox.sh up        start the incident.io emulator seeded with today's org, deploy both stacks on it
#                                  (the first time), and write the environment to `source` (.cache/sandbox/env)
#   ./scripts/sandbox.sh down      stop the emulator, by its pid (the org and the state are kept)
#   ./scripts/sandbox.sh reset     start over
#   ./scripts/sandbox.sh status | env
#   ./scripts/sandbox.sh dashboard ACTION ...   act as someone in incident.io's dashboard (--help lists them)
# Nothing reaches a real account: the emulator, the stand-in AWS and Kubernetes plugins, a local state backend.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/dev-env.sh
. scripts/dev-env.sh
ensure_dev_venv

case "${1:-}" in
  up | reset)
    command=$1
    shift
    cli_dir=$(dev_pulumi_cli_dir)
    exec .venv/bin/python -m tests.sandbox "$command" --cli-dir "$cli_dir" "$@"
    ;;
  "") exec .venv/bin/python -m tests.sandbox --help ;;
  *) exec .venv/bin/python -m tests.sandbox "$@" ;;
esac
