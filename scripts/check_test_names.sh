#!/usr/bin/env bash
# Catch2 test names that ctest cannot run: catch_discover_tests registers each TEST_CASE
# by name, and a ';' splits that name into two tests that match nothing (they fail), as
# does a leading '-' (read as an option). Lists offenders and exits 1.
cd "$(dirname "$0")/.." || exit 2
bad=$(grep -rnE 'TEST_CASE\("([^"]*;|-)' tests bench 2>/dev/null)
[ -z "$bad" ] && exit 0
echo "test names ctest cannot run (no ';', no leading '-'):" >&2
echo "$bad" >&2
exit 1
