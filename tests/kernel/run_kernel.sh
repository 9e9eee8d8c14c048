#!/bin/sh
# Runs a command that needs the kernel (bpf(), BPF_PROG_TEST_RUN). Without root it prints
# SKIPPED and exits 77 (ctest's SKIP_RETURN_CODE), unless MOAT_REQUIRE_KERNEL=1: then it fails.
if [ "$(id -u)" != 0 ]; then
  if [ "${MOAT_REQUIRE_KERNEL:-}" = 1 ]; then
    echo "FAILED: MOAT_REQUIRE_KERNEL=1 but not running as root" >&2
    exit 1
  fi
  echo "SKIPPED: needs root and bpf()"
  exit 77
fi
exec "$@"
