#!/usr/bin/env bash
# The Markov trainer's three copies side by side: libstagewise built with
# its function clones cut to one target each (x86-64-v4, x86-64-v3, the
# baseline; see src/numerics/clones.h), plus an optional reference build
# (e.g. of main).  Checks that every copy writes the same CSV for the
# default run, byte for byte (exit 1 if one differs), and times one batch's
# gradient in each with bench/markov_grad.c (one process, the copies taking
# turns).  Needs an AVX-512 (x86-64-v4) machine, since that copy runs.
#   bash bench/markov_clones.sh [REFERENCE_LIB.so]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
ref=${1:-}
if ! grep -q avx512f /proc/cpuinfo; then
    echo "bench/markov_clones.sh: this CPU has no AVX-512, so the x86-64-v4 copy cannot run" >&2
    exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build_markov_grad "$work/markov_grad"
libs=()
for target in x86-64-v4 x86-64-v3 default; do
    src="$work/src-$target"
    mkdir -p "$src"
    git ls-files -z | xargs -0 cp --parents -t "$src"
    # One copy: the kernels compiled for the named target only (nothing
    # for the baseline), and the permutation look-ups only in the v4 copy,
    # as at run time.
    # The two-target list (exp, softmax, y's loops) gets v3 in the v4 copy,
    # as it does at run time on a v4 machine.
    attr="" attr2=""
    [ "$target" = default ] || attr="__attribute__((target(\"arch=$target\")))"
    [ "$target" = default ] || attr2="__attribute__((target(\"arch=x86-64-v3\")))"
    sed -i -e "s/__attribute__((target_clones(\"arch=x86-64-v4\", \"arch=x86-64-v3\", \"default\")))/$attr/" \
        -e "s/__attribute__((target_clones(\"arch=x86-64-v3\", \"default\")))/$attr2/" \
        "$src/src/numerics/clones.h"
    [ "$target" = x86-64-v4 ] || sed -i 's/__builtin_cpu_supports("x86-64-v4")/0/' "$src/src/numerics/clones.h"
    # A clone list left in place would make every copy the same dispatching
    # library, and the comparison below pass without testing anything.
    if grep -q target_clones "$src/src/numerics/clones.h"; then
        echo "bench/markov_clones.sh: clones.h changed; its clone lists were not cut" >&2
        exit 1
    fi
    meson setup "$src/build" "$src" >/dev/null
    ninja -C "$src/build" -j2 libstagewise.so.0.1.0 stagewise >/dev/null
    "$src/build/stagewise" train markov --optim adam --lr 0.01 --batch 128 --steps 1000 \
        --out "$work/$target.csv" >/dev/null 2>&1
    grep -v '^#' "$work/$target.csv" >"$work/$target.rows"
    libs+=("$src/build/libstagewise.so.0.1.0")
done
status=0
for target in x86-64-v3 default; do
    if cmp -s "$work/x86-64-v4.rows" "$work/$target.rows"; then
        echo "default run, CSV rows: $target copy identical to the x86-64-v4 copy"
    else
        echo "default run, CSV rows: $target copy DIFFERS from the x86-64-v4 copy"
        status=1
    fi
done
machine_line
spin_control
"$work/markov_grad" "${libs[@]}" ${ref:+"$ref"}
exit $status
