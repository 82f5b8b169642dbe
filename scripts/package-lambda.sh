#!/usr/bin/env bash
# Builds the tamperwatch Lambda zip (a `bootstrap` binary for the provided.al2023 runtime) with
# cargo-lambda: always for x86_64, and for arm64 when the rustup target aarch64-unknown-linux-gnu
# is installed (or when asked for with --arm64, which then fails without it).
#
#   scripts/package-lambda.sh [--arm64|--x86-64-only]
#
# Writes dist/tamperwatch-lambda-x86_64.zip (and dist/tamperwatch-lambda-arm64.zip). Upload one
# to S3 and give its bucket and key to the CloudFormation stack (README, "Deploy").
# cargo-lambda comes from PyPI into .venv, or $TAMPERWATCH_VENV when set (it brings its own zig for
# cross-linking). The build goes to $CARGO_TARGET_DIR when set, like any cargo build.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
package="${TAMPERWATCH_LAMBDA_PACKAGE:-tamperwatch-lambda}"
dist="$root/dist"
venv="${TAMPERWATCH_VENV:-$root/.venv}"
target="${CARGO_TARGET_DIR:-$root/target}"
arm64=auto
case "${1:-}" in
  --arm64) arm64=yes ;;
  --x86-64-only) arm64=no ;;
  "") ;;
  *) echo "usage: $0 [--arm64|--x86-64-only]" >&2; exit 2 ;;
esac

if ! cargo metadata --no-deps --format-version 1 | grep -q "\"name\":\"$package\""; then
  echo "error: no package $package in this workspace (the Lambda crate, issue 3)" >&2
  exit 2
fi
if [ ! -x "$venv/bin/cargo-lambda" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet cargo-lambda
fi
export PATH="$venv/bin:$PATH"

build() { # $1: arch name in the zip's file name, $2: cargo-lambda flag
  local out="$target/lambda-zip/$1"
  rm -rf "$out"
  cargo lambda build --release --package "$package" "$2" --output-format zip --lambda-dir "$out"
  mkdir -p "$dist"
  local zip
  zip=$(find "$out" -name bootstrap.zip | head -n 1)
  [ -n "$zip" ] || { echo "error: cargo lambda wrote no bootstrap.zip under $out" >&2; exit 1; }
  cp "$zip" "$dist/tamperwatch-lambda-$1.zip"
  echo "built dist/tamperwatch-lambda-$1.zip ($(du -h "$dist/tamperwatch-lambda-$1.zip" | cut -f1))"
}

build x86_64 --x86-64
if [ "$arm64" = yes ] || { [ "$arm64" = auto ] && rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$'; }; then
  build arm64 --arm64
else
  echo "skipped arm64: rustup target add aarch64-unknown-linux-gnu to build it (or deploy with Architecture=x86_64)"
fi
