#!/usr/bin/env bash
# Instructions of stagewise's `bdf` integrating y-reduced (H = K = HK for
# each HK given, T = 64, gamma = 2, c = 1) from its default start to
# t = 1e5 at rtol 1e-8, atol 1e-10, the bench/ode.sh run, counted by
# callgrind inside sw_ode_run only (no process start): a count that does not
# depend on the machine's load, for comparing changes on a shared machine.
# Prints the count, the final loss, the step statistics and the functions
# with the most instructions (self).  CPU time is bench/ode.sh's business;
# instructions are not cycles (dgemm's are cheap, the memory-bound loops'
# dear), so the two are shown side by side in docs/performance.md.
# The step and refactorisation counts at one tolerance depend on rounding
# (a change that moves a sum moves them: at H = K = 3 the setups over rtol
# = 1e-8 (1 + 0.01 i), i = -3..3, ranged from 103 to 139); with RTOLS set to
# a list of rtols, each width is counted at every one of them and the mean
# is printed after the rows (the functions then for the first).
# Needs a release build (build/ unless BUILD_DIR is given) and valgrind
# (installed here if missing, as root).
#   [RTOLS="0.97e-8 ... 1.03e-8"] bash bench/ode_callgrind.sh [BUILD_DIR] [HK...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
[ $# -gt 0 ] || set -- 3 8
if ! command -v valgrind >/dev/null; then
    [ "$(id -u)" -eq 0 ] || { echo "bench/ode_callgrind.sh: install valgrind (as root)" >&2; exit 2; }
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null
fi
ninja -C "$build" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rtols=(${RTOLS:-1e-8})
for hk in "$@"; do
    params=(H=$hk K=$hk T=64 gamma=2 c=1)
    "$build/stagewise" integrate y-reduced "${params[@]}" --t-end 1e-9 --points 2 --out /dev/null \
        --meta /dev/null --save-state "$work/x0.txt"
    : >"$work/rows"
    for rtol in "${rtols[@]}"; do
        valgrind --tool=callgrind --collect-atstart=no --toggle-collect=sw_ode_run \
            --callgrind-out-file="$work/cg-$rtol.out" "$build/stagewise" integrate y-reduced \
            "${params[@]}" --init "$work/x0.txt" --solver bdf --rtol "$rtol" --atol 1e-10 \
            --t-end 1e5 --points 2 --out "$work/r.csv" --meta "$work/r.json" 2>"$work/vg.log"
        python3 - "$hk" "$rtol" "$work/r.json" "$work/r.csv" "$work/vg.log" <<'PY' | tee -a "$work/rows"
import json, re, sys
hk, rtol, meta, out, log = sys.argv[1:]
st = json.load(open(meta))["stats"]
loss = float([l for l in open(out) if not l.startswith("#")][-1].split(",")[1])
ir = re.search(r"Collected : (\d+)", open(log).read()).group(1)
at = f" rtol={rtol}" if rtol != "1e-8" else ""
print(f"H=K={hk}{at}: instructions={ir} loss={loss:.12g} steps={st['steps']} "
      f"rhs_evals={st['rhs_evals']} jac_evals={st['jac_evals']}")
PY
    done
    if [ ${#rtols[@]} -gt 1 ]; then
        python3 - "$hk" "$work/rows" <<'PY'
import re, sys
hk, rows = sys.argv[1:]
vals = [dict(re.findall(r"(\w+)=([-0-9.e+]+)", l)) for l in open(rows)]
mean = lambda k: sum(float(v[k]) for v in vals) / len(vals)
print(f"H=K={hk} mean of {len(vals)}: instructions={mean('instructions'):.4g} "
      f"steps={mean('steps'):.0f} rhs_evals={mean('rhs_evals'):.0f} jac_evals={mean('jac_evals'):.1f}")
PY
    fi
    callgrind_annotate "$work/cg-${rtols[0]}.out" 2>/dev/null | grep -E '^ *[0-9,]+ +\([ 0-9.]+%\)' |
        sed -n '2,13p' | sed -E 's/ \[[^]]*\]$//; s/\?\?\?://; s/^/  /'
done
