#!/usr/bin/env bash
# Print the live incident.io alert routes as stack-config route declarations, ids included, for adoption.
# Usage: INCIDENT_IO_TOKEN=inc_... ./contrib/export-incident-io.sh --help
exec "$(dirname "${BASH_SOURCE[0]}")/../scripts/run-ops.sh" ops.export "$@"
