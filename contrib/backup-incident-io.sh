#!/usr/bin/env bash
# Back up every incident.io alert route and alert source (secrets redacted) to DIR (default backups/incident.io/).
# Usage: INCIDENT_IO_TOKEN=inc_... ./contrib/backup-incident-io.sh --help
exec "$(dirname "${BASH_SOURCE[0]}")/../scripts/run-ops.sh" ops.backup "$@"
