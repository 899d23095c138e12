#!/usr/bin/env bash
# The README's two commands: set up a fresh Debian 12 machine (as root),
# build, then either run the main job or the whole test suite.
#
#   bash scripts/quickstart.sh run    # install, build, run the main job
#   bash scripts/quickstart.sh test   # install, build, test (plain and ASan+UBSan, fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(gcc pkg-config meson ninja-build libgsl-dev liblapacke-dev libopenblas-openmp-dev
          libopenblas0-serial libcmocka-dev libjson-c-dev gnuplot-nox python3-numpy python3-pytest
          libopenmpi-dev openmpi-bin strace clang-14
          libclang-rt-14-dev)

install_missing() {
    local missing=() p
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "quickstart: missing packages (${missing[*]}); run as root or install them" >&2
        exit 2
    fi
    echo "quickstart: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

# meson setup is not idempotent: reconfigure a directory that exists.  A
# reconfigure keeps the options a directory was made with, so the ones the
# tests rely on are passed again (a relocatable .pc: the install test).
build() {
    local dir=$1; shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" -Dpkgconfig.relocatable=true "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
    ninja -C "$dir" >/dev/null
}

# Runs the suite in one build directory, echoing meson's summary, and adds
# its counts to the totals.
passed=0 failed=0
run_suite() {
    local dir=$1 log
    log=$(mktemp)
    meson test -C "$dir" --print-errorlogs --num-processes 2 2>&1 | tee "$log" || true
    local ok fail
    ok=$(awk '/^Ok:/ {print $2}' "$log")
    fail=$(awk '/^(Fail|Timeout|Unexpected Pass):/ {s += $NF} END {print s + 0}' "$log")
    passed=$((passed + ${ok:-0}))
    failed=$((failed + fail))
    rm -f "$log"
    if [ -z "$ok" ]; then
        echo "quickstart: no test summary from $dir" >&2
        failed=$((failed + 1))
    fi
}

case "${1:-}" in
run)
    install_missing
    build build
    ./build/stagewise reproduce --out out
    echo "quickstart: open out/report.html (or out/report.md)"
    ;;
test)
    install_missing
    build build
    run_suite build
    # Sanitizers need their runtime linked into every object: lundef off.
    build build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 run_suite build-asan
    # The readers of user files under libFuzzer + ASan/UBSan, a few seconds
    # each (docs/reliability.md); one test per target.
    log=$(mktemp)
    bash scripts/fuzz.sh 3 2>&1 | tee "$log" || true
    summary=$(grep '^fuzz: ' "$log" | tail -1 || true)
    rm -f "$log"
    if [ -n "$summary" ]; then
        passed=$((passed + $(echo "$summary" | awk '{print $2}')))
        failed=$((failed + $(echo "$summary" | awk '{print $4}')))
    else
        echo "quickstart: no fuzz summary" >&2
        failed=$((failed + 1))
    fi
    echo "tests: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    ;;
*)
    echo "usage: bash scripts/quickstart.sh run|test" >&2
    exit 2
    ;;
esac
