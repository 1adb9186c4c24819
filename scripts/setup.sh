#!/bin/bash
# Every set-up step: Debian packages, build (warnings are errors), install.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ndag_install_packages
ndag_build_install
echo "== neural_dag built and installed into $(pg_config --pkglibdir)"
