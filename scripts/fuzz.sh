#!/usr/bin/env bash
# Run every fuzz target for SECONDS (default 60) each, with libFuzzer, from seed corpora built
# out of the project's fixtures. Needs the nightly toolchain (`cargo +nightly`); cargo-fuzz is
# used when installed, else the same sanitizer flags are passed to cargo directly, so CI needs
# nothing but nightly. Findings are written to fuzz/artifacts/TARGET/ and make the script exit 1.
#
#   bash scripts/fuzz.sh            # 60 s per target
#   bash scripts/fuzz.sh 3600       # one hour per target (see FUZZING.md)
#   FUZZ_TARGETS="convert" bash scripts/fuzz.sh 600
#   FUZZ_RUNS=10000000 bash scripts/fuzz.sh 3600   # stop a target at 10 M executions or 1 h
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
targets=${FUZZ_TARGETS:-"parse_validate convert fmt_roundtrip resolve plan_diff split_tree"}
runs=()
[ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz.sh: SKIPPED: no nightly toolchain (rustup toolchain install nightly)" >&2
  exit 0
fi

# Build: what `cargo fuzz build -O --sanitizer none` does, without needing cargo-fuzz. domxml
# forbids unsafe code, so AddressSanitizer would find nothing the Rust checks do not; without it
# the targets run about twice as fast. Debug assertions and overflow checks stay on.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions \
-Coverflow-checks"
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
cargo +nightly build --quiet --release --manifest-path fuzz/Cargo.toml --target "$triple" \
  --target-dir fuzz/target
bin=fuzz/target/$triple/release

status=0
for t in $targets; do
  corpus=fuzz/corpus/$t
  mkdir -p "$corpus" "fuzz/artifacts/$t"
  case $t in
    parse_validate|convert|fmt_roundtrip|plan_diff)
      # Seeds: every fixture document (valid, invalid, pools, fuzz findings).
      find fixtures/domains fixtures/invalid fixtures/pools fixtures/resolve fixtures/fuzz \
        tests/fixtures/domains -name '*.xml' -exec cp -n {} "$corpus/" \; 2>/dev/null || true
      dict=(-dict=fuzz/xml.dict) ;;
    split_tree)
      # Seeds: the fixture domains behind a first byte (the number of pieces).
      for f in fixtures/domains/*.xml tests/fixtures/domains/*.xml; do
        [ -e "$corpus/$(basename "$f")" ] || { printf '\003'; cat "$f"; } >"$corpus/$(basename "$f")"
      done 2>/dev/null || true
      dict=(-dict=fuzz/xml.dict) ;;
    *) dict=() ;;
  esac
  log=fuzz/artifacts/$t/last-run.log
  echo "== fuzz $t for ${secs}s${FUZZ_RUNS:+ or $FUZZ_RUNS executions}"
  if "$bin/$t" "${dict[@]}" "${runs[@]}" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
      -timeout=10 -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" "$corpus" \
      >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "   ok: ${execs:-?} executions, ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l)"
  else
    echo "   FINDING in $t (see $log and fuzz/artifacts/$t/):" >&2
    grep -m5 -E 'panicked|ERROR|SUMMARY' "$log" >&2 || tail -20 "$log" >&2
    status=1
  fi
done
exit $status
