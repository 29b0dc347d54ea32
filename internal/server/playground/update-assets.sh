#!/usr/bin/env bash
# Refreshes the GraphiQL assets embedded by package playground.
#
# Usage: internal/server/playground/update-assets.sh
#   Override versions with GRAPHIQL_VERSION / REACT_VERSION env vars. When you
#   change a version, also update the table in assets/README.md.
#
# Only the npm registry is needed (via the ordinary npm client). The packages
# are fetched with `npm pack` (tarballs checked against the registry's
# integrity hash) into a temporary directory outside the repository; only the
# minified browser builds and the license files are copied into assets/.
set -euo pipefail

GRAPHIQL_VERSION="${GRAPHIQL_VERSION:-3.8.3}"
REACT_VERSION="${REACT_VERSION:-18.3.1}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$here/assets"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cd "$tmp"
npm pack --silent "graphiql@${GRAPHIQL_VERSION}" "react@${REACT_VERSION}" "react-dom@${REACT_VERSION}" >/dev/null
for tgz in "graphiql-${GRAPHIQL_VERSION}.tgz" "react-${REACT_VERSION}.tgz" "react-dom-${REACT_VERSION}.tgz"; do
  pkg="${tgz%-*}"
  mkdir -p "$pkg"
  tar -xzf "$tgz" -C "$pkg" --strip-components=1
done

# copy SRC DST: copies a file, dropping the trailing sourceMappingURL comment
# (source maps are not shipped, so browsers' dev tools would only get a 404).
copy() {
  sed -e '/^\/\/# sourceMappingURL=/d' -e 's#/\*\# sourceMappingURL=[^*]*\*/##' "$1" >"$2"
}

mkdir -p "$dest"
copy graphiql/graphiql.min.js                       "$dest/graphiql.min.js"
copy graphiql/graphiql.min.css                      "$dest/graphiql.min.css"
copy react/umd/react.production.min.js              "$dest/react.production.min.js"
copy react-dom/umd/react-dom.production.min.js      "$dest/react-dom.production.min.js"
cp graphiql/LICENSE  "$dest/LICENSE.graphiql"
cp react/LICENSE     "$dest/LICENSE.react"
cp react-dom/LICENSE "$dest/LICENSE.react-dom"

cd "$dest"
ls -l graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js
sha256sum graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js
