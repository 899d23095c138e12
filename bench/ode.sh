#!/usr/bin/env bash
# Integrator speed against peers on the same equations from the same start:
# y-reduced (H = K = 3, T = 64, gamma = 2) to t = 1e5 at rtol 1e-8, atol 1e-10.
#   stagewise (rk8pd, GSL's msbdf and its own bdf) vs SciPy solve_ivp (LSODA,
#   RK45) vs CVODE (BDF, its own difference-quotient Jacobian).
# Needs: a release build (build/ unless BUILD_DIR is given; see
# scripts/quickstart.sh), python3-scipy and libsundials-dev (installed here
# if missing, as root).  Wall times are the integration alone in every peer
# (stagewise: sw_ode_run, from the metadata; CVODE: create to finish; SciPy:
# the solve_ivp call), best of REPEATS runs.
#   bash bench/ode.sh [REPEATS] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-5}
build=${2:-build}
missing=()
for p in python3-scipy libsundials-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || { echo "bench/ode.sh: install ${missing[*]} (as root)" >&2; exit 2; }
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
ninja -C "$build" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

params=(H=3 K=3 T=64 gamma=2 c=1)
rtol=1e-8 atol=1e-10 tend=1e5

# CVODE calls the library's own vector field: literally the same equations.
cc -O2 -Iinclude -Isystems bench/cvode_run.c "$build/libstagewise.a" -o "$work/cvode_run" \
    $(pkg-config --libs gsl openblas lapacke json-c inih) -fopenmp -lm \
    -lsundials_cvode -lsundials_nvecserial -lsundials_sunlinsoldense -lsundials_sunmatrixdense

# One common start: the default initial state, saved by a run to t = 1e-9.
"$build/stagewise" integrate y-reduced "${params[@]}" --t-end 1e-9 --points 2 --out /dev/null \
    --meta /dev/null --save-state "$work/x0.txt"

# Best (minimum) wall time over the repeats: the least disturbed run.
best() {
    local name=$1; shift
    local line min="" out
    for ((i = 0; i < repeats; i++)); do
        out=$("$@")
        local w=${out##*wall=}; w=${w%% *}
        if [ -z "$min" ] || awk "BEGIN{exit !($w < $min)}"; then min=$w; line=$out; fi
    done
    printf '%-18s %s\n' "$name" "$line"
}

sw() {
    local solver=$1
    "$build/stagewise" integrate y-reduced "${params[@]}" --init "$work/x0.txt" --solver "$solver" \
        --rtol $rtol --atol $atol --t-end $tend --points 2 --out "$work/r.csv" \
        --meta "$work/r.json" >/dev/null
    python3 - "$work/r.json" "$work/r.csv" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
last = [l for l in open(sys.argv[2]) if not l.startswith("#")][-1].split(",")
print(f"loss={float(last[1]):.12g} wall={m['wall_seconds']:.6f} steps={m['stats']['steps']} "
      f"rhs_evals={m['stats']['rhs_evals']} jac_evals={m['stats']['jac_evals']}")
PY
}

echo "y-reduced ${params[*]} t_end=$tend rtol=$rtol atol=$atol; best of $repeats"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
best "stagewise rk8pd" sw rk8pd
best "stagewise msbdf" sw msbdf
best "stagewise bdf" sw bdf
best "cvode bdf" "$work/cvode_run" y-reduced $rtol $atol $tend "$work/x0.txt" "${params[@]}"
best "scipy LSODA" /usr/bin/python3 bench/scipy_yreduced.py LSODA 3 3 64 2 1 $rtol $atol $tend "$work/x0.txt"
best "scipy RK45" /usr/bin/python3 bench/scipy_yreduced.py RK45 3 3 64 2 1 $rtol $atol $tend "$work/x0.txt"
