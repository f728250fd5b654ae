#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/fuzz_targets for N seconds each (default 60), one after
# the other, seeding each from fuzz/seeds/<target> when that folder exists.
#
#   scripts/fuzz.sh 300            # five minutes per target
#   scripts/fuzz.sh 60 rtp_packet  # only the named targets
#   scripts/fuzz.sh 120 flow_yaml  # the YAML flow parser + checker and the KB parser
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Crashes are written to
# fuzz/artifacts/<target>/; the script exits non-zero if any target found one.
set -euo pipefail

secs="${1:-60}"
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: needs cargo-fuzz on the nightly toolchain: run 'cargo install cargo-fuzz' (and 'rustup toolchain install nightly')" >&2
  exit 2
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  # The targets declared in fuzz/Cargo.toml (each a file in fuzz/fuzz_targets).
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  dirs=("corpus/$t")
  [ -d "seeds/$t" ] && dirs+=("seeds/$t")
  echo "=== $t: ${secs}s ==="
  if ! cargo +nightly fuzz run "$t" "${dirs[@]}" -- -max_total_time="$secs" -print_final_stats=1; then
    echo "=== $t: FOUND A CRASH (see fuzz/artifacts/$t/) ===" >&2
    status=1
  fi
done
exit "$status"
