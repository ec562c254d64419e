#!/usr/bin/env bash
# Runs the Pulumi CLI for this project: `./scripts/pulumi.sh <stack> <pulumi command...>`,
# e.g. `./scripts/pulumi.sh staging preview` or `./scripts/pulumi.sh production up`.
#
# - Uses the pulumi CLI on PATH; without one, builds it from its Go modules (scripts/pulumi-cli.sh), with the
#   real Python language host beside it where ../shared/tools/pulumi-language-python/ has it; without that
#   host, the build runs stack, config and state commands but not preview/up (below).
# - Uses the state backend you chose (PULUMI_BACKEND_URL or `pulumi login`); if you chose none,
#   a local file backend in ./.pulumi-state (nothing leaves this machine).
# - Creates .venv with the runtime requirements on first use, selects (or creates) the stack.
# - In a shell that sourced the sandbox's environment (./scripts/sandbox.sh up), runs in the sandbox: this
#   checkout's program and stack file, with the sandbox's values for what only an operator knows (your
#   stack file is not written), against its emulator and state; it stops if the sandbox is down.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 2 ]; then
  echo "usage: $0 <production|staging> <pulumi command> [args...]   e.g. $0 staging preview" >&2
  exit 2
fi
stack=$1; shift
case "$stack" in production|staging) ;; *) echo "unknown stack '$stack': use production or staging" >&2; exit 2;; esac

# An installed pulumi first; else, where Go is, the one scripts/pulumi-cli.sh builds from the Go module
# proxy (on first use; PULUMI_CLI_BUILDER names another builder, for tests).
if ! command -v pulumi >/dev/null 2>&1; then
  if ! command -v go >/dev/null 2>&1; then
    echo "the pulumi CLI is not installed: see https://www.pulumi.com/docs/install/ (e.g. 'curl -fsSL https://get.pulumi.com | sh')" >&2
    exit 127
  fi
  # That build has a Python language host only where tools/pulumi/go.mod lists one (its Go module is not on
  # the Go module proxy today) or scripts/pulumi-cli.sh copies the real one from ../shared, and every command
  # that runs or loads the program needs one: say so plainly, before minutes of building, instead of the
  # engine's error afterwards.
  if ! grep -v '^[[:space:]]*//' tools/pulumi/go.mod 2>/dev/null | grep -q 'pulumi-language-python' &&
    [ ! -x ../shared/tools/pulumi-language-python/pulumi-language-python ] &&
    ! command -v pulumi-language-python >/dev/null 2>&1; then
    case "$1" in
      preview | up | update | refresh | destroy | import | watch)
        echo "the Pulumi CLI built from the Go module proxy cannot run '$1': it has no Python language host" \
          "(pulumi-language-python; the proxy does not serve its module). Install the Pulumi CLI, which" \
          "includes it: https://www.pulumi.com/docs/install/ (e.g. 'curl -fsSL https://get.pulumi.com | sh')." \
          "To see the workflow without an account, run ./scripts/demo.sh" >&2
        exit 127
        ;;
    esac
  fi
  cli_dir=$("${PULUMI_CLI_BUILDER:-./scripts/pulumi-cli.sh}")
  export PATH="$cli_dir:$PATH"
fi

if [ -n "${ALERT_ROUTING_SANDBOX:-}" ]; then
  project=$(.venv/bin/python -m tests.sandbox --dir "$ALERT_ROUTING_SANDBOX" project "$stack" "$@")
  echo "sandbox: pulumi runs in ${project#"$PWD"/} (Pulumi.$stack.yaml + the sandbox's values), against" \
    "$INCIDENT_IO_API_URL and its local state; \`sandbox_off\` leaves the sandbox" >&2
  cd "$project"
fi

if [ -z "${PULUMI_BACKEND_URL:-}" ] && ! pulumi whoami >/dev/null 2>&1; then
  mkdir -p .pulumi-state
  export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
  echo "no Pulumi backend chosen: using the local file backend in .pulumi-state/" >&2
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
fi

pulumi stack select --create "$stack" >/dev/null
exec pulumi --stack "$stack" "$@"
