#!/usr/bin/env bash
# The rules engine's C walk (src/ccbridge/core/rules/_walk.c) needs a C compiler and the headers of
# the Python that builds the virtualenv. Install them where they are missing (Debian/Ubuntu, as the
# python-svc machines are); the install still succeeds without them, on the slower Python walk.
set -u
python=${1:-python3}
include=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
[ -f "$include/Python.h" ] || missing+=(python3-dev)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install: no ${missing[*]}; installing (for the rules engine's C walk)"
if command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq "${missing[@]}") >/dev/null 2>&1 \
    || echo "install: could not install ${missing[*]}: matching will use the Python walk" >&2
else
  echo "install: no apt-get: install ${missing[*]} yourself, or matching will use the Python walk" >&2
fi
exit 0
