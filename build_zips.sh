#!/usr/bin/env bash
# Build the zips zipserve serves under /static/: dojo.zip, dijit.zip and
# dojox.zip from Dojo 1.17 (pinned by package-lock.json) and mobwrite.zip
# from static_src/mobwrite/ plus the client library, which esbuild bundles
# from static_src/client/ and diff-match-patch into one script,
# mobwrite.js, plus the pages' Dojo build layer (static_src/dojo/); minus
# what static_src/exclude.txt names.
#
# No arguments. Output goes to $ZIPSERVE_DIR (default static_build/, where
# the app looks). Same inputs, same bytes: the members' date is
# $SOURCE_DATE_EPOCH, or else the last commit touching the inputs.
# Exits non-zero if the deployment would pass App Engine's 10,000 files.
set -euo pipefail

cd "$(dirname "$0")"
out="${ZIPSERVE_DIR:-static_build}"
python="${PYTHON:-python3}"

# npm ci only when node_modules does not match the lock file (it wipes and
# reinstalls, so skip it when nothing changed).
stamp=node_modules/.zipserve-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] \
   || [ ! -d node_modules/dojo ] || [ ! -d node_modules/dijit ] || [ ! -d node_modules/dojox ] \
   || [ ! -d node_modules/dojo-util ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH="$(git log -1 --format=%ct -- package-lock.json static_src 2>/dev/null || true)"
fi
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-946684800}"

# One script include for any site: an IIFE that defines window.mobwrite.
# Bundled at a fixed path so the source map's paths, and so the zip, come
# out the same wherever the zips go.
node_modules/.bin/esbuild static_src/client/index.js --bundle --format=iife \
  --target=es2020 --minify --sourcemap --legal-comments=inline --log-level=warning \
  --outfile=build/client/mobwrite.js
# Dojo's own builder (dojo-util): the pages' Dojo modules as one layer and
# the claro theme as one stylesheet, served from mobwrite.zip's layer/.
# Skipped when its inputs have not changed (see the script).
node static_src/dojo/build_layers.mjs build/dojo-layer
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp -R static_src/mobwrite "$stage/mobwrite"
cp build/client/mobwrite.js build/client/mobwrite.js.map "$stage/mobwrite/"
mkdir "$stage/mobwrite/layer"
cp -R build/dojo-layer/pages.js build/dojo-layer/nls build/dojo-layer/claro.css "$stage/mobwrite/layer/"

"$python" -m tools.zipbuild --out "$out" --exclude static_src/exclude.txt --app-root . \
  mobwrite="$stage/mobwrite" \
  dojo=node_modules/dojo \
  dijit=node_modules/dijit \
  dojox=node_modules/dojox
