#!/usr/bin/env bash
# Two builds of the Markov trainer against each other, e.g. a change and
# main's build before it: each DIR holds a `stagewise` and its
# `libstagewise.so.0.1.0` (a frozen copy: both files copied out of a build).
# Each pair runs from a copy in a scratch directory with the soname link
# the binary looks for beside it (RUNPATH $ORIGIN), so that neither can
# pick up another libstagewise.
#
# 1. One batch's gradient (bench/markov_grad.c, thread CPU): eight copies
#    in one process, the two libraries interleaved A B A B ..., then again
#    in the order B A B A ...; the mean over the copies of each library's
#    least time.  Interleaving matters: identical copies of one library
#    loaded side by side differ by up to 5% (where each one's buffers land
#    in memory), which is as large as most changes measured here.
# 2. The training loop (train's metadata, cpu_seconds) of the default
#    Adam run with two evaluations, the builds alternating RUNS times:
#    least and median CPU seconds of each.
#   bash bench/markov_ab.sh A_DIR B_DIR [ROUNDS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
a=${1:?A_DIR}
b=${2:?B_DIR}
rounds=${3:-15}
runs=${4:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build_markov_grad "$work/markov_grad"
for side in A B; do
    [ $side = A ] && d=$a || d=$b
    for f in stagewise libstagewise.so.0.1.0; do
        [ -f "$d/$f" ] || { echo "bench/markov_ab.sh: $d has no $f (allowed: a directory holding stagewise and libstagewise.so.0.1.0)" >&2; exit 2; }
    done
    mkdir "$work/$side"
    cp "$d/stagewise" "$d/libstagewise.so.0.1.0" "$work/$side/"
    ln -s libstagewise.so.0.1.0 "$work/$side/libstagewise.so.0"
done
a=$work/A
b=$work/B
la=$a/libstagewise.so.0.1.0
lb=$b/libstagewise.so.0.1.0
machine_line
spin_control
{
    ROUNDS=$rounds "$work/markov_grad" "$la" "$lb" "$la" "$lb" "$la" "$lb" "$la" "$lb"
    ROUNDS=$rounds "$work/markov_grad" "$lb" "$la" "$lb" "$la" "$lb" "$la" "$lb" "$la"
} | awk -v A="$la" -v B="$lb" '{ n = $1; sub(":$", "", n); c[n]++; s[n] += $6 }
    END { x = s[A] / c[A]; y = s[B] / c[B]
          printf "gradient, ms (mean of %d copies'"'"' least): A %.4f  B %.4f  A/B %.3f\n", c[A], x, y, x / y }'
for ((i = 0; i < runs; i++)); do
    for d in "$a" "$b"; do
        "$d/stagewise" train markov --optim adam --lr 0.01 --batch 128 --steps 1000 \
            --eval-every 1000 --out "$work/l.csv" --meta "$work/l.json" >/dev/null
        echo "$d $(meta_cpu "$work/l.json")"
    done
done | sort -k1,1 -k2g | awk -v A="$a" -v B="$b" '{ c[$1]++; v[$1, c[$1]] = $2 }
    END { for (k = 0; k < 2; k++) { d = k ? B : A; m[k] = v[d, int((c[d] + 1) / 2)]; l[k] = v[d, 1] }
          printf "training loop, 1000 steps, CPU s (least, median of %d): A %.4f %.4f  B %.4f %.4f  A/B %.3f %.3f\n",
                 c[A], l[0], m[0], l[1], m[1], l[0] / l[1], m[0] / m[1] }'
spin_control
