#!/usr/bin/env bash
# Runs every benchmark and prints its figures as one Markdown table (the README's Performance
# section is this table).
#
#   benches/run.sh           release build, full samples: the numbers to publish (a few minutes)
#   benches/run.sh --smoke   debug build, one sample each: checks that every figure is still
#                            produced; asserts nothing about time (what .ci/run calls). Leaves
#                            out gen_tests_scale (a sample is 79 sandboxed cargo runs, ~15 s) and
#                            real_crate (its first build of clap_builder takes about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."

# sandbox_round prints two figures (demo, ~25 deps), figures seven (two of them prompt tokens),
# hook_noop one; gen_tests_scale five more in a full run (two of them the preparation of a big
# file), real_crate one.
EXPECTED_FIGURES=10

profile=()
bench_args=()
smoke=false
if [[ "${1:-}" == "--smoke" ]]; then
    smoke=true
    # The debug build `cargo test` already made: a release build would cost minutes on 2 cores.
    profile=(--profile dev)
    bench_args=(--smoke)
elif [[ $# -gt 0 ]]; then
    echo "usage: benches/run.sh [--smoke]" >&2
    exit 2
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
# The machine's load moves every ratio; the table states it.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
run() {
    cargo bench "${profile[@]}" "$@" -- "${bench_args[@]}" | tee -a "$out"
}
run -p kiln-sandbox --bench sandbox_round
run --bench figures
run --bench hook_noop
if [[ "$smoke" == false ]]; then
    run --bench gen_tests_scale
    run --bench real_crate
    EXPECTED_FIGURES=$((EXPECTED_FIGURES + 6))
fi

echo
echo "| figure | measured | reference (same run) | comparison | target | verdict |"
echo "| --- | --- | --- | --- | --- | --- |"
grep '^FIGURE' "$out" | awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6, $7 }'
echo
echo "Load average (1, 5, 15 min) before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)."
if grep -q '^BREAKDOWN' "$out"; then
    echo
    echo "Where the end-to-end runs' time went (from kiln's --json timings):"
    echo
    grep '^BREAKDOWN' "$out" | cut -f2 | sed 's/^/- /'
fi

produced=$(grep -c '^FIGURE' "$out" || true)
if [[ "$produced" -ne "$EXPECTED_FIGURES" ]]; then
    echo "benches/run.sh: $produced figures produced, expected $EXPECTED_FIGURES" >&2
    exit 1
fi
