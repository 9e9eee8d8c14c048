#!/usr/bin/env bash
# cmake/build_info.cmake, the commit `moat --version` names: the source tree's commit in a
# git checkout (with -dirty when it differs), MOAT_GIT_COMMIT when given, "unknown" in a
# tree without .git (a release tarball); an unchanged commit leaves the file untouched (no
# rebuild); and the binary prints what was generated.
source "$(dirname "$0")/lib.sh"
script=$PK_SRC/cmake/build_info.cmake
commit_of() { sed -n 's/.*return "\(.*\)";.*/\1/p' "$1"; }

mkdir "$PK_TMP/tarball"
cmake -DSOURCE_DIR="$PK_TMP/tarball" -DOUT="$PK_TMP/a.cpp" -P "$script"
pk_check "a tree without .git: unknown" test "$(commit_of "$PK_TMP/a.cpp")" = unknown
cmake -DSOURCE_DIR="$PK_TMP/tarball" -DOUT="$PK_TMP/b.cpp" -DMOAT_GIT_COMMIT=0123abcd -P "$script"
pk_check "MOAT_GIT_COMMIT names it" test "$(commit_of "$PK_TMP/b.cpp")" = 0123abcd

if command -v git >/dev/null; then
  git -C "$PK_TMP/tarball" init -q && git -C "$PK_TMP/tarball" -c user.name=t -c user.email=t@t commit -q --allow-empty -m x
  head=$(git -C "$PK_TMP/tarball" rev-parse --short=12 HEAD)
  cmake -DSOURCE_DIR="$PK_TMP/tarball" -DOUT="$PK_TMP/c.cpp" -P "$script"
  pk_check "a clean checkout: its commit" test "$(commit_of "$PK_TMP/c.cpp")" = "$head"
  touch -d '2000-01-01' "$PK_TMP/c.cpp"
  cmake -DSOURCE_DIR="$PK_TMP/tarball" -DOUT="$PK_TMP/c.cpp" -P "$script"
  pk_check "unchanged commit: file not rewritten" test "$(stat -c %Y "$PK_TMP/c.cpp")" = "$(date -d 2000-01-01 +%s)"
  echo x > "$PK_TMP/tarball/f" && git -C "$PK_TMP/tarball" add f
  cmake -DSOURCE_DIR="$PK_TMP/tarball" -DOUT="$PK_TMP/c.cpp" -P "$script"
  pk_check "changed work tree: -dirty" test "$(commit_of "$PK_TMP/c.cpp")" = "$head-dirty"
fi

first=$("$PK_MOAT" --version | head -1)
pk_check "moat --version: version and commit ($first)" \
  test "$first" = "moat $PK_VERSION (commit $(commit_of "$PK_BUILD/cli/build_info.cpp"))"
pk_done
