#!/usr/bin/env bash
# The bad-input cases of docs/reliability.md, each run in a fresh directory
# under a time limit; prints a Markdown table: category, command, exit
# status, seconds, files left behind, and the first line on standard error
# (cut at 160 characters).  IN stands for the directory of the inputs it writes.
#
#   bash scripts/bad-inputs.sh build/stagewise > /tmp/cases.md
set -uo pipefail
bin=$(realpath "${1:-build/stagewise}")
limit=${LIMIT:-60}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Inputs the cases read.
{ printf '#'; printf 'x%.0s' {1..197}; printf 'x0 = 7,7\n'; } >"$work/longcomment.ini"
printf 'x0 = 3,4\n  5,6\n' >"$work/continuation.ini"
printf 'x0 = 3,4\0junk\n' >"$work/nul.ini"
mkdir -p "$work/adir"
printf '7000000000 0 0\n' >"$work/big.init"
for i in $(seq 57); do echo 1e200; done >"$work/huge.dir"
printf 't,loss\n0,1\n1,0.9\n2,0.5\n3,-0.1\n4,0.01\n' >"$work/negloss.csv"
printf '# level_0 = garbage\nt,loss\n0,1\n1,0.9\n2,0.5\n3,0.1\n4,0.01\n' >"$work/badlevel.csv"
printf '0,1\n1,0.5\n2,0.25\n' >"$work/noheader.csv"
printf 't,loss\n0,1\n1,0.5\n' >"$work/onerow.csv"
printf 't,los\n1,1\n2,0.5\n' >"$work/nocol.csv"
printf 't,loss\n-2,1\n-1,0.5\n0,0.25\n' >"$work/tneg.csv"
"$bin" integrate y-reduced --t-end 100 --points 20 --out "$work/run.csv" 2>/dev/null
ln -s /dev/full "$work/full.png"
long=$(printf 'n%.0s' {1..246}).csv

row() { # category, then the arguments (shell text)
    local cat=$1 args=$2 d
    d=$(mktemp -d "$work/case.XXXX")
    local t0 t1 rc err left
    t0=$(date +%s.%N)
    (cd "$d" && eval "timeout $limit \"$bin\" $args" >/dev/null 2>"$d/.err")
    rc=$?
    t1=$(date +%s.%N)
    err=$(head -1 "$d/.err" | sed "s|$work|IN|g; s/|/\\\\|/g" | cut -c1-160)
    left=$(find "$d" -mindepth 1 ! -name .err | grep -c . || true)
    [ "$rc" -eq 124 ] && err="(killed after ${limit} s)"
    printf '| %s | `%s` | %s | %.2f | %s | %s |\n' "$cat" "${args//$work/IN}" "$rc" \
        "$(echo "$t1 - $t0" | bc)" "$left" "$err"
    rm -rf "$d"
}

echo "| category | command (in an empty directory) | exit | s | files left | message |"
echo "|---|---|---|---|---|---|"
w=$work
row preset "integrate linear --preset $w/longcomment.ini --t-end 1 --points 2 --out r.csv"
row preset "integrate linear --preset $w/continuation.ini --out r.csv"
row preset "integrate linear --preset $w/nul.ini --out r.csv"
row preset "integrate linear --preset $w/adir --out r.csv"
row preset "integrate linear --preset /dev/zero --out r.csv"
row preset "integrate linear --preset /dev/urandom --out r.csv"
row reader "integrate linear --init /dev/zero --out r.csv"
row reader "integrate linear --init /dev/urandom --out r.csv"
row reader "stages /dev/zero --out r.csv"
row reader "fit /dev/urandom --y t --law 'C * d^a' --out r.csv"
row stdout "list >/dev/full"
row stdout "describe y-full >/dev/full"
row stdout "plot stages $w/run.csv --out $w/full.png"
row size "integrate z-full d=256 --solver msbdf --out r.csv"
row size "integrate z-full d=2048 --t-end 1e-3 --out r.csv"
row size "integrate z-full d=4096 --t-end 1e-3 --out r.csv"
row size "integrate y-simplex H=64 K=64 T=4096 --solver bsimp --out r.csv"
row size "saddle y-reduced H=64 K=64 T=4096"
row size "integrate z-reduced --points 1e8 --out r.csv"
row size "train markov --optim sgd --batch 1e12 --out r.csv"
row size "train markov --optim sgd --steps 1e12 --out r.csv"
row hang "integrate z-reduced --t-end 1e12 --out r.csv"
row hang "integrate y-reduced --t-end 1e12 --out r.csv"
row hang "integrate z-reduced --t-end 1e308 --out r.csv"
row hang "integrate y-reduced --rtol 1e-300 --atol 0 --out r.csv"
row hang "integrate linear A=-1e6,0,0,-1 --t-end 1e4 --out r.csv"
row hang "jacobian y-reduced --at t=1e12"
row hang "escape y-reduced --until 'loss<=-1' --t-end 1e12"
row hang "crosscheck y-reduced --lr 1e6 --steps 100"
row hang "integrate z-reduced --init $w/big.init --out r.csv"
row hang "integrate y-reduced --t-end 1e12 --solver bdf --out r.csv"
row silent "escape y-reduced --direction $w/huge.dir --until 'loss<=1.5' --eps 1e-2:1e-4:3"
row silent "stages $w/negloss.csv --out r.csv"
row silent "stages $w/badlevel.csv --out r.csv"
row output "integrate linear --t-end 1 --save-state /nonexistent/s.txt --out r.csv"
row output "integrate y-reduced --t-end 1e12 --out ''"
row output "integrate linear --t-end 1 --out $long"
row output "integrate linear --t-end 1 --out /dev/full --meta r.json"
row plot "plot stages $w/noheader.csv --out f.png"
row plot "plot stages $w/onerow.csv --out f.png"
row plot "plot stages $w/nocol.csv --out f.png"
row plot "plot stages $w/tneg.csv --out f.png"
row number "integrate linear x0=1e-320,0 --t-end 1 --points 2 --out r.csv"
row number "integrate linear x0=1e-400,0 --out r.csv"

# A signal mid-run: the old result stays, no temporary file is left.
sigrow() {
    local sig=$1 d rc
    d=$(mktemp -d "$work/case.XXXX")
    echo old >"$d/r.csv"
    set -m
    "$bin" integrate linear A=-1e5,0,0,-1 --t-end 1e3 --max-steps 1e9 --out "$d/r.csv" \
        2>/dev/null &
    local pid=$!
    set +m
    for _ in $(seq 500); do
        ls "$d" | grep -q '\.tmp\.' && break
        sleep 0.01
    done
    kill "-$sig" "$pid"
    wait "$pid"
    rc=$?
    printf '| signal | `integrate linear A=-1e5,0,0,-1 --t-end 1e3 --max-steps 1e9 --out r.csv`, SIG%s mid-run | %s | | %s | r.csv: %s |\n' \
        "$sig" "$rc" "$(ls "$d" | grep -c .)" "$(cat "$d/r.csv")"
    rm -rf "$d"
}
sigrow INT
sigrow TERM
sigrow HUP
