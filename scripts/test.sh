#!/usr/bin/env bash
# The test suite on both engines: SQLite always, PostgreSQL when one is
# reachable (BILLING_TEST_DATABASE_URL, else PG_URL). Without PostgreSQL it
# says so loudly; CI sets BILLING_REQUIRE_POSTGRES=1 to make that a failure.
set -euo pipefail
GO=${GO:-go}
cd "$(dirname "$0")/.."

echo "== SQLite suite"
$GO test -race -count=1 ./...

url=${BILLING_TEST_DATABASE_URL:-${PG_URL:-}}
if [ -n "$url" ] && $GO run ./scripts/pgcheck "$url" 2>/dev/null; then
  echo "== PostgreSQL suite ($(echo "$url" | sed -E 's#//[^@]*@#//***@#'))"
  BILLING_TEST_DATABASE_URL=$url $GO test -race -count=1 -p 2 ./...
else
  echo "!! PostgreSQL SUITE SKIPPED: no PostgreSQL reachable at ${url:-<unset>}."
  echo "!! Set BILLING_TEST_DATABASE_URL to run it; only the SQLite suite ran."
  if [ "${BILLING_REQUIRE_POSTGRES:-}" = 1 ]; then
    exit 1
  fi
fi
