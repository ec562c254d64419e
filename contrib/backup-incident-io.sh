#!/usr/bin/env bash
# Back up every incident.io alert route and alert source (secrets redacted) to DIR (default backups/incident.io/).
# Usage: ./contrib/backup-incident-io.sh --help, with INCIDENT_IO_TOKEN exported (read it with `read -rs`, never
# on the command line: docs/configuration.md, "The API key")
exec "$(dirname "${BASH_SOURCE[0]}")/../scripts/run-ops.sh" ops.backup "$@"
