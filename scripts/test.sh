#!/usr/bin/env bash
# Every check CI runs, on a fresh machine: formatting, lints, the whole test suite (with the
# local servers it needs), and the docs. Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Reference data beside the checkout (../shared): tests read it through these variables and
# say plainly when it is absent.
shared="${TAMPERWATCH_SHARED:-$root/../shared}"
export TAMPERWATCH_CORPUS_DIR="${TAMPERWATCH_CORPUS_DIR:-$shared/corpus/traildiscover}"
export TAMPERWATCH_SIGMA_DIR="${TAMPERWATCH_SIGMA_DIR:-$shared/sigma/aws-cloudtrail}"

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== local servers"
# shellcheck source=scripts/local-servers.sh
source scripts/local-servers.sh
echo "== cargo test"
cargo test --workspace --locked
echo "== cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
echo "== all checks passed"
