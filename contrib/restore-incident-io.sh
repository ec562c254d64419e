#!/usr/bin/env bash
# Restore incident.io alert routes from a backup, after showing each change and asking for confirmation.
# Usage: INCIDENT_IO_TOKEN=inc_... ./contrib/restore-incident-io.sh --help
exec "$(dirname "${BASH_SOURCE[0]}")/../scripts/run-ops.sh" ops.restore "$@"
