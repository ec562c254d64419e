#!/usr/bin/env bash
# Move a stack's routes and routing tests out of Pulumi.<stack>.yaml into routes/<stack>.yaml (no change to any resource).
# Usage: ./contrib/move-routes-out.sh --stack production [--dry-run] (--help)
exec "$(dirname "${BASH_SOURCE[0]}")/../scripts/run-ops.sh" ops.move_routes "$@"
