#!/usr/bin/env bash
# Writes the release artefacts to dist/ (DIST_DIR): moat_VERSION_amd64.deb (CPack, stripped,
# Depends computed by dpkg-shlibdeps) and moat-VERSION.oci.tar, an OCI image archive (tag
# VERSION) of a minimal Debian with that .deb installed, built without a container daemon:
# mmdebstrap makes the root file system (the .deb's dependencies from the Debian mirror),
# umoci turns it into an OCI image layout, tar makes the archive. Needs root (mmdebstrap's
# root mode) and the Debian mirror (MOAT_IMAGE_MIRROR, default deb.debian.org).
#   scripts/package.sh            # both
#   scripts/package.sh --deb-only # just the .deb
#   scripts/package.sh --prebuilt # from BUILD_DIR as it is (no setup, no ninja: the tests)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
DIST_DIR=${DIST_DIR:-dist}
SUITE=${MOAT_IMAGE_SUITE:-bookworm}
MIRROR=${MOAT_IMAGE_MIRROR:-}
deb_only=false prebuilt=false
for arg in "$@"; do
  case $arg in
    --deb-only) deb_only=true ;;
    --prebuilt) prebuilt=true ;;
    *) echo "usage: scripts/package.sh [--deb-only] [--prebuilt]" >&2; exit 2 ;;
  esac
done

if ! $prebuilt; then
  bash scripts/setup.sh
  [ -f "$BUILD_DIR/build.ninja" ] || cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$BUILD_DIR" moat
fi
version=$(sed -n 's/^project(moat VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
commit=$("$BUILD_DIR/moat" --version | sed -n '1s/.*(commit \(.*\))$/\1/p')
mkdir -p "$DIST_DIR"
DIST_DIR=$(cd "$DIST_DIR" && pwd)
deb="$DIST_DIR/moat_${version}_amd64.deb"
oci="$DIST_DIR/moat-${version}.oci.tar"

# Timestamps of the image and its files come from the commit (reproducible archives).
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

work=$(mktemp -d "${TMPDIR:-/tmp}/moat-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
cpack -G DEB --config "$BUILD_DIR/CPackConfig.cmake" -B "$work/cpack" >/dev/null
mv "$work/cpack/moat_${version}_amd64.deb" "$deb"
echo "package: $deb"
$deb_only && exit 0

# The root file system: Debian's essential set (a shell, coreutils, dpkg: enough to inspect a
# running agent) plus moat and the libraries its Depends names, and iproute2 (the DaemonSet's
# dns-address init container adds the DNS proxy's address to the loopback); apt stays
# out of the image. The file-mirror-automount hook makes the .deb visible to dpkg inside.
chmod 0644 "$deb"
mmdebstrap --quiet --mode=root --variant=essential --include="$deb" --include=iproute2 \
  --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
  --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*.log "$1"/var/cache/ldconfig/aux-cache' \
  --format=tar "$SUITE" "$work/rootfs.tar" ${MIRROR:+"$MIRROR"}

created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
umoci init --layout "$work/oci"
umoci new --image "$work/oci:$version"
umoci raw add-layer --image "$work/oci:$version" --history.created "$created" \
  --history.created_by "scripts/package.sh: mmdebstrap $SUITE + moat_${version}_amd64.deb" "$work/rootfs.tar"
umoci config --image "$work/oci:$version" --no-history --created "$created" --os linux --architecture amd64 \
  --config.entrypoint moat --config.cmd --help \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.label org.opencontainers.image.title=moat \
  --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.revision=$commit" \
  --manifest.annotation "org.opencontainers.image.version=$version"
umoci gc --layout "$work/oci"
# An oci-archive is the image layout (oci-layout, index.json, blobs/) as one tar.
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
  -C "$work/oci" -cf "$oci.tmp" .
mv "$oci.tmp" "$oci"
echo "image: $oci (tag $version; load it with skopeo or ctr, README.md)"
