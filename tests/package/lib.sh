# Shared by the package tests (sourced): a scratch directory, checks that count failures, and
# skip-or-fail for a missing environment (root, the Debian mirror).
set -u
PK_BUILD=$1
PK_MOAT=$2
PK_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/moat-package-test.XXXXXX")
PK_FAILS=0
PK_VERSION=$(sed -n 's/^project(moat VERSION \([0-9.]*\).*/\1/p' "$PK_SRC/CMakeLists.txt")
trap 'rm -rf "$PK_TMP"' EXIT

pk_skip_or_fail() {
  if [ "${MOAT_REQUIRE_KERNEL:-0}" = 1 ] || [ -n "${CI:-}" ]; then
    echo "FAIL (CI / MOAT_REQUIRE_KERNEL=1): $*" >&2
    exit 1
  fi
  echo "SKIP: $*" >&2
  exit 77
}

pk_check() {  # pk_check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what" >&2; PK_FAILS=$((PK_FAILS + 1)); fi
}

pk_done() {
  [ "$PK_FAILS" -eq 0 ] || { echo "$PK_FAILS check(s) failed" >&2; exit 1; }
}
