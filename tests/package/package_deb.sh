#!/usr/bin/env bash
# The .deb scripts/package.sh writes: named moat_VERSION_amd64.deb, Depends on the Debian
# packages of every library the binary links (computed, so none is missing), the binary
# stripped and the same program as the build's, docs, examples and deploy/ installed.
source "$(dirname "$0")/lib.sh"
command -v dpkg-shlibdeps >/dev/null || pk_skip_or_fail "dpkg-shlibdeps missing (dpkg-dev, scripts/setup.sh)"

BUILD_DIR=$PK_BUILD DIST_DIR=$PK_TMP/dist bash "$PK_SRC/scripts/package.sh" --prebuilt --deb-only || exit 1
deb=$PK_TMP/dist/moat_${PK_VERSION}_amd64.deb
pk_check "dist/moat_${PK_VERSION}_amd64.deb exists" test -f "$deb"
pk_check "package name, version and architecture" \
  test "$(dpkg-deb -f "$deb" Package Version Architecture | tr '\n' ' ')" = "Package: moat Version: $PK_VERSION Architecture: amd64 "

# Every shared library the binary links (NEEDED; theirs come with their packages) must come
# from a package the Depends line names.
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
names=$(sed 's/ ([^)]*)//g; s/, /\n/g' <<<"$depends")
for needed in $(readelf -d "$PK_MOAT" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
  # "libz.so.1 => /lib/.../libz.so.1 (...)", or the dynamic loader's "/lib64/ld-linux-x86-64.so.2 (...)"
  lib=$(ldd "$PK_MOAT" | awk -v n="$needed" '$1 == n {print $3} $1 ~ "/" && $1 ~ ("/" n "$") {print $1}')
  owner=$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1)
  [ -n "$owner" ] || owner=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1)
  pk_check "Depends names ${owner:-the package of $needed} (for $needed)" grep -qxF "${owner:-?}" <<<"$names"
done

dpkg-deb -x "$deb" "$PK_TMP/root"
bin=$PK_TMP/root/usr/bin/moat
pk_check "/usr/bin/moat installed" test -x "$bin"
pk_check "binary stripped (no .symtab, no .debug_info)" \
  bash -c "! readelf -S '$bin' | grep -qE '\\.symtab|\\.debug_info'"
size=$(stat -c %s "$bin")
echo "stripped binary: $size bytes (build tree: $(stat -c %s "$PK_MOAT"))"
pk_check "stripped binary under 64 MB" test "$size" -lt $((64 * 1024 * 1024))
pk_check "same --version as the build" test "$("$bin" --version)" = "$("$PK_MOAT" --version)"
pk_check "docs installed" test -f "$PK_TMP/root/usr/share/doc/moat/RUNTIME.md"
pk_check "examples installed" test -f "$PK_TMP/root/usr/share/doc/moat/examples/ml-platform.moat"
pk_check "deploy/ installed" test -f "$PK_TMP/root/usr/share/moat/deploy/daemonset.yaml"
pk_done
