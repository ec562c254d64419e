# shellcheck shell=bash
# Sourced by scripts/test.sh, demo.sh and sandbox.sh (not run on its own), from the repository root:
# the development virtualenv and the Pulumi CLI they share.

# .venv with requirements-dev.txt (the emulator checks requests against the incident.io SDK, a test
# dependency), created or updated when a requirements file is newer than the last install.
ensure_dev_venv() {
  local python=${PYTHON:-python3} stamp=.venv/.requirements-installed
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv" >&2
    "$python" -m venv .venv
  fi
  if [ ! -f "$stamp" ] || [ requirements.txt -nt "$stamp" ] || [ requirements-dev.txt -nt "$stamp" ]; then
    echo "==> installing requirements-dev.txt into .venv" >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    touch "$stamp"
  fi
}

# Prints the directory of the Pulumi CLI to run: an installed one (with its real Python language host),
# else the one scripts/pulumi-cli.sh builds from the Go module proxy (with the real host beside it where
# ../shared/tools/pulumi-language-python/ has one).
dev_pulumi_cli_dir() {
  if command -v pulumi >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pulumi)")"
    echo "==> using the installed Pulumi CLI in $(dirname "$(readlink -f "$(command -v pulumi)")")" >&2
  else
    echo "==> no Pulumi CLI installed: scripts/pulumi-cli.sh builds it (minutes the first time, then reused)" >&2
    ./scripts/pulumi-cli.sh
  fi
}
