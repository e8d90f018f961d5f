#!/usr/bin/env bash
# Builds the ublk addon (native/build/Release/marsd_ublk.node) with
# node-gyp against the local Node headers and Debian's liburing-dev.
#
#   native/build.sh           best effort: a missing prerequisite or a
#                             failed build prints why and exits 0, so that
#                             `npm ci` never fails over an optional frontend
#                             (marsd then offers NBD only and says why)
#   native/build.sh --strict  the same, but any failure exits non-zero
#                             (the VM tests need the addon)
#
# Up-to-date builds are skipped, so every set-up step may call this.
set -uo pipefail
cd "$(dirname "$0")"
strict=0
[ "${1:-}" = --strict ] && strict=1
out=build/Release/marsd_ublk.node

give_up() {
  echo "native: ublk addon not built: $*" >&2
  echo "native: marsd will serve volumes over NBD only (see docs/ublk.md)" >&2
  [ "$strict" = 1 ] && exit 1
  exit 0
}

[ "$(uname -s)" = Linux ] || give_up "ublk exists only on Linux"
[ -f /usr/include/liburing.h ] || give_up "liburing headers missing (apt-get install liburing-dev)"
[ -f /usr/include/linux/ublk_cmd.h ] || give_up "linux/ublk_cmd.h missing (apt-get install linux-libc-dev)"
command -v c++ >/dev/null || give_up "no C++ compiler (apt-get install g++)"
command -v make >/dev/null || give_up "make missing (apt-get install make)"

if [ -f "$out" ] && [ -z "$(find binding.gyp src build.sh -newer "$out" -print -quit)" ]; then
  exit 0
fi

# node-gyp: the project's own (devDependency), else the one npm bundles.
gyp=""
if [ -f ../node_modules/node-gyp/bin/node-gyp.js ]; then
  gyp=../node_modules/node-gyp/bin/node-gyp.js
elif [ -n "${npm_config_node_gyp:-}" ] && [ -f "$npm_config_node_gyp" ]; then
  gyp=$npm_config_node_gyp
else
  give_up "node-gyp not found (npm ci installs it)"
fi
[ -d ../node_modules/node-addon-api ] || give_up "node-addon-api missing (npm ci installs it)"

# Headers come from the local Node installation: nothing is downloaded.
nodedir=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
[ -f "$nodedir/include/node/node_api.h" ] || give_up "Node headers not found under $nodedir/include/node"

log=$(mktemp)
if ! node "$gyp" rebuild --nodedir="$nodedir" >"$log" 2>&1; then
  tail -30 "$log" >&2
  rm -f "$log"
  give_up "compilation failed (output above)"
fi
rm -f "$log"
echo "native: built $out" >&2
