# Sourced by the bench scripts: the machine line and the spin control.
#
# The spin control runs one busy loop alone, then two at once, and prints
# the wall time of each: on two free cores the pair takes as long as the one
# (ratio 1.0); on a machine shared with other jobs it takes longer, and the
# ratio says how much of a second core a two-thread measurement really had.

machine_line() {
    echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1)," \
         "load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

spin_loop() {
    awk 'BEGIN { for (i = 0; i < 2e7; i++) s += i; exit s < 0 }'
}

spin_control() {
    local t0 t1 t2
    t0=$(date +%s.%N)
    spin_loop
    t1=$(date +%s.%N)
    spin_loop & spin_loop & wait
    t2=$(date +%s.%N)
    awk -v a="$(awk "BEGIN{print $t1 - $t0}")" -v b="$(awk "BEGIN{print $t2 - $t1}")" \
        'BEGIN { printf "spin control: one busy loop %.3f s, two together %.3f s (ratio %.2f; 1.00 = two free cores)\n", a, b, b / a }'
}

# KEY NEW KEPT: whichever of two output lines has the smaller value of KEY
# (its last KEY=; KEPT empty: NEW), the least disturbed of two runs.
least() {
    awk -v k="$1" -v a="$2" -v b="$3" 'function f(s, x) { x = s; sub(".*" k "=", "", x); sub(/ .*/, "", x); return x + 0 }
        BEGIN { print (b == "" || f(a) < f(b)) ? a : b }'
}

# NAME CMD...: runs CMD $repeats times and prints the line of the run with
# the least CPU time (its output's cpu=).
best() {
    local name=$1; shift
    local line=""
    for ((i = 0; i < repeats; i++)); do
        line=$(least cpu "$("$@")" "$line")
    done
    printf '%-18s %s\n' "$name" "$line"
}

# FILE: the cpu_seconds a stagewise --meta file records (the command's own
# work, its start excluded).
meta_cpu() {
    /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["cpu_seconds"])' "$1"
}

# OUT: bench/markov_grad.c built into OUT (it loads the libraries it times
# with dlopen, so it links none of stagewise).
build_markov_grad() {
    cc -O2 -Iinclude bench/markov_grad.c -o "$1" -ldl -lgsl -lgslcblas
}
