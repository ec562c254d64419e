#!/usr/bin/env bash
# Print the live incident.io alert routes as stack-config route declarations, ids included, for adoption.
# Usage: ./contrib/export-incident-io.sh --help, with INCIDENT_IO_TOKEN exported (read it with `read -rs`, never
# on the command line: docs/configuration.md, "The API key")
exec "$(dirname "${BASH_SOURCE[0]}")/../scripts/run-ops.sh" ops.export "$@"
