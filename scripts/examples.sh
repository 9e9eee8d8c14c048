#!/usr/bin/env bash
# Runs moat on the bundled examples: check (lint + prove), then every cases file.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
MOAT=${BUILD_DIR:-build}/moat
set -x
$MOAT check examples/ml-platform.moat
$MOAT test --engine interp --cases examples/ml-platform.cases.yaml examples/ml-platform.moat
$MOAT check examples/ml-platform-yaml
$MOAT test --engine interp --cases examples/ml-platform-yaml/ml-platform.cases.yaml examples/ml-platform-yaml
# Against the cluster's pods (a Kubernetes List): W506 names the GPU pod no node pool admits.
$MOAT check examples/ml-platform-yaml --inventory examples/ml-platform.pods.yaml
# The two versions say the same thing: the semantic diff proves them equivalent (exit 0).
$MOAT diff examples/ml-platform.moat examples/ml-platform-yaml
# A reviewer's view of an edited version: flows newly allowed and denied, with witnesses
# (exit 1: the versions differ, which is the point here).
$MOAT diff examples/ml-platform.moat tests/golden/verifier/ml-platform-v2.moat || [ $? = 1 ]
