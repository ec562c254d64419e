#!/usr/bin/env bash
# Where an alert goes, from a stack file's routes (offline) or the live ones (--live), like `amtool config routes test`.
# Usage: ./contrib/route-test.sh --stack-file Pulumi.production.yaml source=alertmanager severity=critical (--help)
exec "$(dirname "${BASH_SOURCE[0]}")/../scripts/run-ops.sh" ops.route_test "$@"
