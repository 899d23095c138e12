#!/usr/bin/env bash
# The readers of user files under libFuzzer with AddressSanitizer and
# UndefinedBehaviorSanitizer (docs/reliability.md).
#
#   bash scripts/fuzz.sh            # each target for 3 s (the README test command runs this)
#   bash scripts/fuzz.sh 1800       # the longer campaign: each target for 30 minutes
#
# Builds build-fuzz/ with clang-14 (-Dfuzz=true) and runs fuzz_preset,
# fuzz_init, fuzz_csv and fuzz_resume from the seeds in fuzz/corpus/.  New
# inputs go to a scratch corpus (kept under build-fuzz/corpus/), never into
# the repository; a crash leaves its input in build-fuzz/ and fails the run.
# Prints one line per target and ends with `fuzz: N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3}
if ! command -v clang-14 >/dev/null; then
    echo "fuzz: clang-14 is missing (apt-get install clang-14 libclang-rt-14-dev)" >&2
    exit 2
fi
if [ -f build-fuzz/build.ninja ]; then
    meson setup --reconfigure build-fuzz >/dev/null
else
    CC=clang-14 meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
        -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
fi
if ! ninja -C build-fuzz fuzz/fuzz_preset fuzz/fuzz_init fuzz/fuzz_csv fuzz/fuzz_resume \
    >build-fuzz/build.log 2>&1; then
    grep -E 'error|FAILED' build-fuzz/build.log | head -5
    echo "fuzz: 0 passed, 1 failed (the fuzz build failed, see build-fuzz/build.log)"
    exit 1
fi

passed=0 failed=0
for target in preset init csv resume; do
    corpus=build-fuzz/corpus/$target log=build-fuzz/fuzz_$target.log
    mkdir -p "$corpus"
    # -rss_limit_mb: the readers' own limits must hold well below it.
    if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "build-fuzz/fuzz/fuzz_$target" -max_total_time="$seconds" -max_len=65536 \
        -rss_limit_mb=2048 -timeout=10 -close_fd_mask=1 -artifact_prefix=build-fuzz/ \
        "$corpus" "fuzz/corpus/$target" >"$log" 2>&1; then
        runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1 | awk '{print $2}')
        echo "fuzz_$target: ok, ${runs:-?} runs in ${seconds} s"
        passed=$((passed + 1))
    else
        echo "fuzz_$target: FAILED (see $log)"
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -5 || true
        failed=$((failed + 1))
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
