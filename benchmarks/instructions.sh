#!/usr/bin/env bash
# Instructions (user space, deterministic) of one kverify command, counted by valgrind's cachegrind:
# the measure to compare two checkouts by on a machine whose wall times swing (issue 11). Usage:
#
#   benchmarks/instructions.sh [ROOT] -- check /path/to/snapshot.json
#   benchmarks/instructions.sh /path/to/other/checkout -- trace FILE --service shop/web --to node-port --from external
#
# ROOT (default: this checkout) is put first on PYTHONPATH; PYTHON (default: python3) runs kverify. The
# bytecode is compiled first, as pip does on install: a run after an edit would otherwise count the
# compiling of the changed modules too. Hash randomization is off, so that two runs count alike. -P keeps
# the working directory off sys.path (python -m puts it first: run from a checkout, that one would count).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" != "--" ]; then root=$(cd "$1" && pwd); shift; fi
[ "${1:-}" = "--" ] && shift
python=${PYTHON:-python3}
env -u PYTHONDONTWRITEBYTECODE "$python" -m compileall -q "$root/kverify" >/dev/null
out=$(mktemp)
trap 'rm -f "$out" "$out.log"' EXIT
env -u PYTHONDONTWRITEBYTECODE -u PYTHONUNBUFFERED PYTHONHASHSEED=0 PYTHONPATH="$root" \
  valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$out" \
  "$python" -P -m kverify "$@" >/dev/null 2>"$out.log" || true
grep -E "I +refs" "$out.log" | awk -v root="$root" '{print root ": " $NF " instructions"}'
