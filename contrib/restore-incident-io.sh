#!/usr/bin/env bash
# Restore incident.io alert routes from a backup, after showing each change and asking for confirmation.
# Usage: ./contrib/restore-incident-io.sh --help, with INCIDENT_IO_TOKEN exported (read it with `read -rs`, never
# on the command line: docs/configuration.md, "The API key")
exec "$(dirname "${BASH_SOURCE[0]}")/../scripts/run-ops.sh" ops.restore "$@"
