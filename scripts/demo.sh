#!/usr/bin/env bash
# The first command to run on a fresh machine: the real Pulumi workflow for one stack, on local stand-ins.
# See usage below (./scripts/demo.sh --help).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
usage: ./scripts/demo.sh [staging|production]     (default: staging)

Runs the real workflow of this project for one stack with nothing configured and no account needed:
the real Pulumi CLI, `pulumi config set` for the values only an operator knows (the API key from stdin),
then `pulumi preview --diff`, `pulumi up --yes` and `pulumi preview --expect-no-changes`, and a summary
(e.g. "1 route adopted with 0 writes to incident.io"). The emulator stops at the end: to go on and try
your own changes, use ./scripts/sandbox.sh (README, "Day one").

It uses only local stand-ins, never a real account:
- incident.io: the emulator (tests/emulator), seeded with today's org (the runbook's six routes), with a
  throwaway API key only it accepts;
- AWS and Kubernetes: the stand-in plugins of tests/stand_ins (they answer and log; nothing leaves this
  machine), installed into the demo's PULUMI_HOME as real plugins are; credentials in your environment
  (AWS_*, INCIDENT_IO_*, KUBECONFIG, PULUMI_*) are not passed to the CLI;
- state: a local file backend and its own PULUMI_HOME in .cache/demo/ (or $DEMO_DIR), replaced on
  each run.

It creates .venv with requirements-dev.txt when needed (the emulator checks requests against the
incident.io SDK, a test dependency), and uses the installed `pulumi` if there is one, else builds the CLI
with scripts/pulumi-cli.sh (Go 1.24+; minutes the first time). The Python language host is the real one
where it is beside the CLI (an installed CLI's; scripts/pulumi-cli.sh copies it there from
../shared/tools/pulumi-language-python/ where that exists), else the stand-in of tests/stand_ins; the
demo says which.
EOF
}

stack=staging
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "" | staging | production) stack=${1:-staging} ;;
  *) usage >&2; exit 2 ;;
esac
if [ $# -gt 1 ]; then usage >&2; exit 2; fi

# shellcheck source=scripts/dev-env.sh
. scripts/dev-env.sh
ensure_dev_venv
cli_dir=$(dev_pulumi_cli_dir)

exec .venv/bin/python -m tests.e2e.demo "$stack" --cli-dir "$cli_dir" --workdir "${DEMO_DIR:-.cache/demo}"
