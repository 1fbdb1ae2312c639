#!/usr/bin/env bash
# The main job: install what is missing, build the package, and run the demo
# review-and-approve on a fixture graph.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build-pkg.sh
node examples/demo.js "$@"
