#!/usr/bin/env bash
# Installs every Debian package moat needs (the build, test, fuzz and benchmark dependencies). Idempotent: when all
# packages are present it only checks and returns in well under a second.
set -euo pipefail
PKGS=(cmake ninja-build g++ antlr4 libantlr4-runtime-dev llvm-19-dev libbpf-dev
      libyaml-cpp-dev libfyaml-dev libsimdjson-dev libz3-dev libfmt-dev catch2 libcli11-dev nlohmann-json3-dev
      bpftool iproute2 clang-19 libclang-rt-19-dev dnsmasq-base libzstd-dev zlib1g-dev
      libsodium-dev libcap2-bin libjemalloc-dev libcurl4-openssl-dev curl mmdebstrap umoci dpkg-dev graphviz
      iptables nftables)
# libzstd-dev and zlib1g-dev: LLVM 19's CMake config links them but llvm-19-dev does not depend on them.
# libsodium-dev: ed25519 bundle signatures (backend/bundle/signature.cpp); libcap2-bin: capsh,
# to run the agent with capabilities dropped (docs/RUNTIME.md, Capabilities).
# libcurl4-openssl-dev: the agent's API server watch (runtime/inventory/kube_client.cpp); curl: the watch
# tests script their fake API server (tests/runtime/fake_kube_api.py) with it.
# graphviz: `dot`, which lays out `moat list --format svg` (docs/LIST.md; tests/list).
# libjemalloc-dev: the allocator of the moat binary (docs/ARCHITECTURE.md, Loading).
# mmdebstrap + umoci: the OCI image scripts/package.sh builds without a container daemon;
# dpkg-dev: dpkg-shlibdeps, which computes the .deb's Depends (docs/RUNTIME.md, Packages).
# iptables + nftables: what bench/datapath/compare.sh measures moat against.
# clang-19 + libclang-rt-19-dev: the bench C references and the libFuzzer targets (scripts/fuzz.sh).
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
