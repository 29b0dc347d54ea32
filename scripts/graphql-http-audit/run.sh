#!/usr/bin/env bash
# Runs the GraphQL-over-HTTP audit against a billing server.
#
# Usage: scripts/graphql-http-audit/run.sh [URL]
#   URL defaults to $AUDIT_URL, else http://127.0.0.1:8080/graphql.
#   AUDIT_TOKEN (optional) is sent as "Authorization: Bearer <token>".
# Exit status: 0 when every MUST audit passes, 1 otherwise (2: bad usage).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi
exec node audit.mjs "$@"
