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
