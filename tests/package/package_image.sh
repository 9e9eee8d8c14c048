#!/usr/bin/env bash
# The OCI image scripts/package.sh writes: unpacked with umoci (as a runtime would), its
# `moat --version` names the build's version and commit, and `moat check` of the example the
# image ships gives what the build's binary gives; the image config runs moat.
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || pk_skip_or_fail "not root (mmdebstrap --mode=root, chroot)"
for tool in mmdebstrap umoci; do
  command -v $tool >/dev/null || pk_skip_or_fail "$tool missing (scripts/setup.sh installs it)"
done

if ! BUILD_DIR=$PK_BUILD DIST_DIR=$PK_TMP/dist bash "$PK_SRC/scripts/package.sh" --prebuilt; then
  pk_skip_or_fail "scripts/package.sh could not build the image (is the Debian mirror reachable?)"
fi
oci=$PK_TMP/dist/moat-${PK_VERSION}.oci.tar
pk_check "dist/moat-${PK_VERSION}.oci.tar exists" test -f "$oci"
mkdir "$PK_TMP/layout"
tar -C "$PK_TMP/layout" -xf "$oci"
pk_check "an OCI image layout" grep -q '"imageLayoutVersion"' "$PK_TMP/layout/oci-layout"
pk_check "tagged $PK_VERSION" grep -q "\"org.opencontainers.image.ref.name\":\"$PK_VERSION\"" "$PK_TMP/layout/index.json"
umoci unpack --image "$PK_TMP/layout:$PK_VERSION" "$PK_TMP/bundle" >/dev/null || exit 1
rootfs=$PK_TMP/bundle/rootfs
pk_check "entrypoint is moat" grep -q '"args":\["moat","--help"\]' <(tr -d ' \t\n' <"$PK_TMP/bundle/config.json")

version=$(chroot "$rootfs" moat --version)
echo "$version"
pk_check "moat --version in the image is the build's" test "$version" = "$("$PK_MOAT" --version)"
pk_check "moat --version names LLVM, Z3 and libbpf" \
  bash -c "grep -q '^LLVM 19' <<<'$version' && grep -q '^Z3 ' <<<'$version' && grep -q '^libbpf ' <<<'$version'"

example=/usr/share/doc/moat/examples/ml-platform.moat
inside=$(chroot "$rootfs" moat check "$example" 2>&1); rc_inside=$?
outside=$("$PK_MOAT" check "$PK_SRC/examples/ml-platform.moat" 2>&1); rc_outside=$?
echo "$inside" | tail -3
pk_check "moat check of the example succeeds in the image" test "$rc_inside" -eq 0
pk_check "moat check in the image agrees with the build (exit $rc_outside)" test "$rc_inside" -eq "$rc_outside"
pk_check "moat check prints the same in the image" \
  test "$(sed "s|$example|EX|g" <<<"$inside")" = "$(sed "s|$PK_SRC/examples/ml-platform.moat|EX|g" <<<"$outside")"
pk_check "ip (iproute2) for the dns-address init container" chroot "$rootfs" ip -V
pk_check "no package indices left in the image" test -z "$(find "$rootfs/var/lib/apt/lists" -type f -size +0 2>/dev/null)"
pk_done
