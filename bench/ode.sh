#!/usr/bin/env bash
# Integrator speed against peers on the same equations from the same start:
# y-reduced (H = K = HK, T = 64, gamma = 2, c = 1) to t = 1e5 at rtol 1e-8,
# atol 1e-10.
#   stagewise (rk8pd, GSL's msbdf and its own bdf) vs SciPy solve_ivp (LSODA,
#   RK45) vs CVODE (BDF, its own difference-quotient Jacobian).  With HK other
#   than 3 only stagewise bdf, LSODA and CVODE run (the explicit steppers take
#   minutes on the stiff wide systems).
# CPU seconds are the measure (the machine is shared; wall beside them):
# the peers' are the integration alone (SciPy: the solve_ivp call; CVODE:
# create to finish); stagewise's are the whole process, and, as "less
# start", minus the CPU of the same command integrating to t = 1e-9 (process
# start, mostly the dynamic loader binding OpenBLAS and LAPACK, and setup).
# SciPy runs with OPENBLAS_NUM_THREADS=1, as in bench/zfull.sh: its NumPy
# links the pthreads OpenBLAS, whose idle worker otherwise spins beside it
# (LSODA at H = K = 3: 1.06 s of CPU in 0.55 s of wall time).
# stagewise's rows also show int_cpu, integrate's own CPU seconds for the
# integration (its metadata), a check on "less start" that no subtraction
# disturbs.  The ratios are given both ways.  Best (least CPU) of REPEATS runs each;
# stagewise bdf and its start, short runs whose difference is "less start",
# take the best of at least 5, run in alternation so that both minima come
# from the same stretch of the machine's load (one run of each leaves that
# difference mostly to the machine's noise: 10 to 23 ms for the same binary
# at H = K = 3; taken minutes apart, 5 to 20 ms).
# With RTOLS set to a list of rtols (as bench/ode_callgrind.sh takes it),
# the run is a tolerance sweep instead: at each rtol stagewise bdf's
# in-process CPU (int_cpu) and LSODA's (and CVODE's at HK = 3), best of
# REPEATS each, run in alternation, then the sums over the rtols and their
# ratios.  An adaptive integrator's cost at one tolerance is a draw (at
# H = K = 3 bdf's factorisations range from 74 to 106 over rtols within 3%
# of 1e-8), so a goal read at one rtol is read off one draw; the sums over
# a few neighbouring rtols average the draws of every side alike.
# Needs: a release build (build/ unless BUILD_DIR is given; see
# scripts/quickstart.sh), python3-scipy and libsundials-dev (installed here
# if missing, as root).
#   [RTOLS="0.97e-8 ... 1.03e-8"] bash bench/ode.sh [REPEATS] [BUILD_DIR] [HK]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
repeats=${1:-5}
build=${2:-build}
hk=${3:-3}
sw_repeats=$((repeats > 5 ? repeats : 5))
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

params=(H=$hk K=$hk T=64 gamma=2 c=1)
rtol=1e-8 atol=1e-10 tend=1e5

# CVODE calls the library's own vector field: literally the same equations.
# The shared libstagewise carries its own dependencies and their run path
# (the serial OpenBLAS where installed, see meson.build).
abs_build=$(cd "$build" && pwd)
cc -O2 -Iinclude -Isystems bench/cvode_run.c -o "$work/cvode_run" \
    -L"$abs_build" -Wl,-rpath,"$abs_build" -lstagewise $(pkg-config --cflags gsl json-c) -lm \
    -lsundials_cvode -lsundials_nvecserial -lsundials_sunlinsoldense -lsundials_sunmatrixdense

# One common start: the default initial state, saved by a run to t = 1e-9.
"$build/stagewise" integrate y-reduced "${params[@]}" --t-end 1e-9 --points 2 --out /dev/null \
    --meta /dev/null --save-state "$work/x0.txt"

sw() {
    local solver=$1 tend=${2:-$tend}
    python3 bench/threadcpu.py "$build/stagewise" integrate y-reduced "${params[@]}" \
        --init "$work/x0.txt" --solver "$solver" --rtol $rtol --atol $atol --t-end $tend \
        --points 2 --out "$work/r.csv" --meta "$work/r.json" >"$work/cpu"
    python3 - "$work/r.json" "$work/r.csv" "$work/cpu" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
last = [l for l in open(sys.argv[2]) if not l.startswith("#")][-1].split(",")
cpu = float(open(sys.argv[3]).read().split("process_cpu=")[1].split()[0])
print(f"loss={float(last[1]):.12g} wall={m['wall_seconds']:.6f} "
      f"int_cpu={m['cpu_seconds']:.6f} cpu={cpu:.6f} "
      f"steps={m['stats']['steps']} rhs_evals={m['stats']['rhs_evals']} "
      f"jac_evals={m['stats']['jac_evals']}")
PY
}

# NAME_A NAME_B CMD_A... -- CMD_B...: $sw_repeats runs of each, in
# alternation; prints each one's least-CPU line, as best does.
best_pair() {
    local na=$1 nb=$2 i; shift 2
    local a=() b=()
    while [ "$1" != -- ]; do a+=("$1"); shift; done
    shift
    b=("$@")
    local la="" lb=""
    for ((i = 0; i < sw_repeats; i++)); do
        la=$(least cpu "$("${a[@]}")" "$la")
        lb=$(least cpu "$("${b[@]}")" "$lb")
    done
    printf '%-18s %s\n' "$na" "$la"
    printf '%-18s %s\n' "$nb" "$lb"
}

lsoda() {
    env OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/scipy_yreduced.py LSODA $hk $hk 64 2 1 \
        $rtol $atol $tend "$work/x0.txt"
}
cvode() {
    "$work/cvode_run" y-reduced $rtol $atol $tend "$work/x0.txt" "${params[@]}"
}

if [ -n "${RTOLS:-}" ]; then
    peers="scipy LSODA"
    [ "$hk" = 3 ] && peers="$peers, cvode bdf"
    echo "y-reduced ${params[*]} t_end=$tend atol=$atol; rtol in: $RTOLS;" \
         "in-process CPU, best of $repeats at each rtol, alternating: stagewise bdf, $peers"
    machine_line
    spin_control
    for rtol in $RTOLS; do
        ls="" ll="" lc=""
        for ((i = 0; i < repeats; i++)); do
            ls=$(least int_cpu "$(sw bdf)" "$ls")
            ll=$(least cpu "$(lsoda)" "$ll")
            [ "$hk" != 3 ] || lc=$(least cpu "$(cvode)" "$lc")
        done
        printf 'rtol=%-8s %-16s %s\n' "$rtol" "stagewise bdf" "$ls"
        printf 'rtol=%-8s %-16s %s\n' "$rtol" "scipy LSODA" "$ll"
        [ -z "$lc" ] || printf 'rtol=%-8s %-16s %s\n' "$rtol" "cvode bdf" "$lc"
    done | tee "$work/rows"
    # stagewise's in-process time is int_cpu; the peers' cpu= is already theirs.
    awk '{ name = $2 " " $3; key = name == "stagewise bdf" ? "int_cpu" : "cpu"
           for (i = 1; i <= NF; i++) if (index($i, key "=") == 1) sum[name] += substr($i, length(key) + 2)
           n[name]++ }
         END {
             ref = sum["stagewise bdf"]
             printf "in-process CPU summed over %d rtols: stagewise bdf %.4f s\n", n["stagewise bdf"], ref
             for (p in sum) if (p != "stagewise bdf")
                 printf "  %-16s %8.4f s  %7.1fx\n", p, sum[p], sum[p] / ref
         }' "$work/rows"
    exit 0
fi

echo "y-reduced ${params[*]} t_end=$tend rtol=$rtol atol=$atol; best of $repeats (stagewise bdf and start: $sw_repeats, alternating)"
machine_line
spin_control
{
    [ "$hk" = 3 ] && best "stagewise rk8pd" sw rk8pd
    [ "$hk" = 3 ] && best "stagewise msbdf" sw msbdf
    best_pair "stagewise bdf" "stagewise start" sw bdf -- sw bdf 1e-9
    best "cvode bdf" cvode
    best "scipy LSODA" lsoda
    [ "$hk" = 3 ] && best "scipy RK45" env OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/scipy_yreduced.py RK45 3 3 64 2 1 $rtol $atol $tend "$work/x0.txt"
    true
} | tee "$work/rows"
awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^cpu=/) c[NR] = substr($i, 5); name[NR] = $1 " " $2 }
     name[NR] == "stagewise bdf" { ref = c[NR] }
     name[NR] == "stagewise start" { start = c[NR] }
     END {
         printf "CPU s against stagewise bdf: whole process %.4f s, less start %.4f s\n", ref, ref - start
         for (r = 1; r <= NR; r++) if (name[r] != "stagewise start")
             printf "  %-16s %8.4f s  %7.1fx  %7.1fx\n", name[r], c[r], c[r] / ref, c[r] / (ref - start)
     }' "$work/rows"
