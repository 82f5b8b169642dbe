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
echo "== deploy: cfn-lint, terraform fmt, templates vs generated patterns, least privilege, patterns on moto"
# Python tools in .venv (created on a fresh machine). The tests reuse a moto server named by
# TAMPERWATCH_TEST_MOTO_URL, else start their own on a free loopback port and stop it.
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check cfn-lint 'moto[server]' boto3 pytest python-hcl2
.venv/bin/cfn-lint deploy/cloudformation/*.yaml
# Terraform's own formatter, where a terraform binary is installed (the registries have none;
# validating needs the AWS provider, which cannot be downloaded here: python-hcl2 parses instead).
if command -v terraform >/dev/null; then
  TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive -diff deploy/terraform
else
  echo "(no terraform binary: terraform fmt skipped)"
fi
cargo build --locked --quiet -p tamperwatch-cli
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
TAMPERWATCH_BIN="$target_dir/debug/tamperwatch" VIRTUAL_ENV="$root/.venv" \
  .venv/bin/python -m pytest -q -p no:cacheprovider tests/deploy
echo "== all checks passed"
