#!/usr/bin/env bash
# z-full (d = D, T = 256, default start) to t = T_END at rtol 1e-8, atol 1e-10:
# stagewise's dop853 (and rk8pd, for reference) against SciPy's DOP853 on
# literally the same vector field (bench/zfull_peer.c through ctypes,
# bench/scipy_zfull.py) from the same start.  CPU seconds in-process on both
# sides: stagewise's integration (integrate's metadata, cpu_seconds), SciPy's
# solve_ivp call; beside them stagewise's whole process and its start-up (the
# same command to t = 1e-9).  SciPy runs with OPENBLAS_NUM_THREADS=1: its
# NumPy links the pthreads OpenBLAS, whose idle worker otherwise spins and
# doubles SciPy's CPU time with work that is not the integrator's.  Best of
# REPEATS each.  Needs a release build and python3-scipy (installed here if
# missing, as root).
# Then the floor: bench/zfull_floor.c times dop853's own work per step and
# the vector field per evaluation apart, and prints what the dop853 run's
# counts of each add up to.
#   bash bench/zfull.sh [REPEATS] [BUILD_DIR] [T_END] [D]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
repeats=${1:-3}
build=${2:-build}
tend=${3:-1e5}
d=${4:-128}
if ! dpkg-query -W -f='${Status}' python3-scipy 2>/dev/null | grep -q "install ok installed"; then
    [ "$(id -u)" -eq 0 ] || { echo "bench/zfull.sh: install python3-scipy (as root)" >&2; exit 2; }
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-scipy >/dev/null
fi
ninja -C "$build" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
params=(d=$d T=256)
rtol=1e-8 atol=1e-10

abs_build=$(cd "$build" && pwd)
cc -O2 -shared -fPIC -Iinclude -Isystems bench/zfull_peer.c -o "$work/zfull_peer.so" \
    -L"$abs_build" -Wl,-rpath,"$abs_build" -lstagewise $(pkg-config --cflags gsl json-c)
cc -O3 -D_GNU_SOURCE -Iinclude -Isystems -Isrc/numerics bench/zfull_floor.c -o "$work/zfull_floor" \
    -L"$abs_build" -Wl,-rpath,"$abs_build" -lstagewise $(pkg-config --cflags --libs gsl json-c)

sw() {
    local solver=$1 te=$2
    python3 bench/threadcpu.py "$build/stagewise" integrate z-full "${params[@]}" --solver "$solver" \
        --rtol $rtol --atol $atol --t-end "$te" --points 2 --out "$work/r.csv" --meta "$work/r.json" \
        >"$work/cpu"
    python3 - "$work/r.json" "$work/r.csv" "$work/cpu" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
last = [l for l in open(sys.argv[2]) if not l.startswith("#")][-1].split(",")
proc = float(open(sys.argv[3]).read().split("process_cpu=")[1].split()[0])
print(f"loss={float(last[1]):.12g} wall={m['wall_seconds']:.6f} process_cpu={proc:.6f} "
      f"cpu={m['cpu_seconds']:.6f} steps={m['stats']['steps']} rhs_evals={m['stats']['rhs_evals']}")
PY
}

echo "z-full ${params[*]} t_end=$tend rtol=$rtol atol=$atol; best of $repeats"
machine_line
spin_control
{
    best "stagewise dop853" sw dop853 "$tend"
    best "stagewise rk8pd" sw rk8pd "$tend"
    best "scipy DOP853" env OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/scipy_zfull.py \
        "$work/zfull_peer.so" DOP853 $rtol $atol "$tend" "${params[@]}"
    best "stagewise start" sw dop853 1e-9
} | tee "$work/rows"
# cpu= is in-process CPU on every row; process_cpu= stagewise's whole process.
awk '{ for (i = 1; i <= NF; i++) { if ($i ~ /^cpu=/) c[NR] = substr($i, 5); if ($i ~ /^process_cpu=/) p[NR] = substr($i, 13); if ($i ~ /^steps=/) s[NR] = substr($i, 7); if ($i ~ /^rhs_evals=/) e[NR] = substr($i, 11) } }
     END {
         printf "SciPy DOP853 / stagewise dop853: CPU %.1fx in-process, %.1fx whole process; steps %.2fx as many\n",
                c[3] / c[1], c[3] / p[1], s[1] / s[3]
         printf "SciPy DOP853 / stagewise rk8pd:  CPU %.1fx in-process, %.1fx whole process; steps %.2fx as many\n",
                c[3] / c[2], c[3] / p[2], s[2] / s[3]
         printf "stagewise start-up (whole process to t = 1e-9): %.3f s CPU\n", p[4]
         printf "%s %s %s\n", s[1], e[1], c[3] > "'"$work/counts"'"
     }' "$work/rows"
# The floor: dop853's own work per step and the vector field's per
# evaluation, measured apart (bench/zfull_floor.c), times this run's counts.
read -r steps evals scipy <"$work/counts"
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$work/zfull_floor" "$steps" "$evals" "${params[@]}" | tee "$work/floor"
awk -v scipy="$scipy" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] + 0 } }
     END {
         printf "SciPy DOP853 / explained time: %.1fx; / stepper alone (a free vector field): %.1fx; / traffic floor: %.1fx\n",
                scipy / v["explained"], scipy / v["free_field_floor"], scipy / v["traffic_floor"]
     }' "$work/floor"
