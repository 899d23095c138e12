#!/usr/bin/env bash
# The small transformer against a PyTorch reference of the same model
# (bench/transformer_torch.py), side by side in one run: time per training
# step (fresh batch, forward, backward, Adam) at one and two threads, wall
# and CPU time, on the configurations of issue 10:
#   reg-16-32    tf-location, L=2 heads=4 d_model=256 d_qk=64 MLP x4, d=16 T=32
#   reg-64-128   the same model, d=64 T=128
#   recall       tf-recall, L=2 heads=4 d_model=256 d_qk=64, attention only,
#                N_tokens=64 N_pairs=16 (T=33)
#   small        tf-location, L=2 heads=2 d_model=64 d_qk=32 MLP x4, d=16 T=32
# all with batch 32.  First a spin control: two busy loops together against
# one (1.0: two free cores; 2.0: one core's worth for both).  PyTorch runs
# with OMP_WAIT_POLICY=PASSIVE and torch.set_num_threads, so its idle threads
# sleep instead of spinning on the shared machine, and OPENBLAS_NUM_THREADS,
# since its products go to the same OpenBLAS as ours.  Speedup is PyTorch's
# time over ours: wall, then CPU.  GFLOP/s (wall) counts the
# products of the forward pass times 3 (forward + backward).
#   bash bench/transformer.sh [BUILD_DIR] [STEPS_SCALE]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
scale=${2:-1}
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    apt-get install -y --no-install-recommends python3-torch >/dev/null
fi
ninja -C "$build" >/dev/null
export OMP_WAIT_POLICY=PASSIVE
/usr/bin/python3 - "$build/stagewise" "$scale" <<'PY'
import json, os, subprocess, sys, tempfile, time

sw, scale = sys.argv[1], float(sys.argv[2])
work = tempfile.mkdtemp()

def spin(n):
    code = "s=0\nfor i in range(12_000_000): s+=i"
    t = time.perf_counter()
    ps = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]
    for p in ps:
        p.wait()
    return time.perf_counter() - t

one, two = spin(1), spin(2)
print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}; "
      f"spin control: two busy loops {two:.2f} s vs one {one:.2f} s (ratio {two / one:.2f})")

def flops(c, task):
    """Forward products of one step, times 3 for forward + backward."""
    n, L, H, D, q = c["batch"], c["L"], c["heads"], c["d_model"], c["d_qk"]
    F = 4 * D if c["mlp"] else 0
    if task == "location":
        T, d_in, d_out, emb = c["T"], c["d"] + 1, c["d"], 2 * c["batch"] * c["T"] * (c["d"] + 1) * D
    else:
        T, d_out, emb = 2 * c["N_pairs"] + 1, c["N_tokens"], 0
    f = emb + 2 * n * D * d_out
    for l in range(L):
        Tq = 1 if l == L - 1 else T
        f += 2 * n * T * D * (H * q + D)                  # K, V
        f += 2 * n * Tq * D * H * q                        # Q
        f += 2 * n * H * Tq * T * (q + D // H)             # scores, attended values
        f += 2 * n * Tq * D * D + 4 * n * Tq * D * F       # output projection, MLP
    return 3 * f

configs = [
    ("reg-16-32", "location", dict(L=2, heads=4, d_model=256, d_qk=64, mlp=1, d=16, T=32), 40),
    ("reg-64-128", "location", dict(L=2, heads=4, d_model=256, d_qk=64, mlp=1, d=64, T=128), 10),
    ("recall", "recall", dict(L=2, heads=4, d_model=256, d_qk=64, mlp=0, N_tokens=64,
                               N_pairs=16), 40),
    ("small", "location", dict(L=2, heads=2, d_model=64, d_qk=32, mlp=1, d=16, T=32), 400),
]

def ours(task, c, threads, steps, *extra):
    words = [f"{k}={v}" for k, v in c.items() if k != "batch"]
    out = os.path.join(work, "r.csv")
    # Evaluations at the first and last step only, on 32 test sequences.
    cmd = [sw, "train", "tf-" + task, *words, "n_test=32", "--optim", "adam", "--lr", "1e-4",
           "--batch", str(c["batch"]), "--steps", str(steps), "--eval-every", str(steps),
           "--threads", str(threads), "--out", out, *extra]
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    m = json.load(open(os.path.join(work, "r.json")))
    # The training loop's wall and CPU time, as the reference times its loop.
    return m["wall_seconds"] / steps, m["cpu_seconds"] / steps, m.get("profile")

def theirs(task, c, threads, steps):
    cmd = ["/usr/bin/python3", "bench/transformer_torch.py", task, str(threads), str(steps),
           *[f"{k}={v}" for k, v in c.items()]]
    # torch.set_num_threads does not reach the OpenBLAS it calls for its
    # products (Debian's torch links the system libblas): cap it too.
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True,
                                  env=env).stdout)
    return r["wall"] / steps, r["cpu"] / steps

print(f"{'config':<11} {'thr':>3} {'ours ms/step':>12} {'cpu':>7} {'GFLOP/s':>8}   "
      f"{'torch ms/step':>13} {'cpu':>7} {'GFLOP/s':>8}   {'speedup':>7} {'(cpu)':>6}")
for name, task, c, steps in configs:
    c = dict(c, batch=32)
    steps = max(2, int(steps * scale))
    f = flops(c, task)
    for threads in (1, 2):
        try:
            ow, oc = ours(task, c, threads, steps)[:2]
        except subprocess.CalledProcessError:
            # A serial OpenBLAS cannot take products from two threads at once.
            print(f"{name:<11} {threads:>3}   refused: this build links the serial OpenBLAS")
            continue
        tw, tc = theirs(task, c, threads, steps)
        print(f"{name:<11} {threads:>3} {1e3 * ow:>12.1f} {1e3 * oc:>7.1f} {f / ow / 1e9:>8.1f}   "
              f"{1e3 * tw:>13.1f} {1e3 * tc:>7.1f} {f / tw / 1e9:>8.1f}   {tw / ow:>6.2f}x"
              f" {tc / oc:>5.2f}x",
              flush=True)

# Where our time goes, one thread: each phase's CPU time per step and its
# products per CPU second, against what OpenBLAS's sgemm reaches on one large
# product here (a 2048^3 multiply through PyTorch, which calls the same
# OpenBLAS), and the rest of a step (Adam in double, sampling, conversions).
peak = subprocess.run(["/usr/bin/python3", "-c", '''
import time, torch
torch.set_num_threads(1)
a = torch.randn(2048, 2048); b = torch.randn(2048, 2048); a @ b
t = time.process_time(); [a @ b for _ in range(5)]
print(5 * 2 * 2048 ** 3 / (time.process_time() - t) / 1e9)'''], check=True, capture_output=True,
    text=True, env=dict(os.environ, OPENBLAS_NUM_THREADS="1")).stdout
print(f"\nOpenBLAS sgemm 2048^3, one thread: {float(peak):.1f} GFLOP per CPU second")
print(f"{'config':<11} " + " ".join(f"{p:>17}" for p in
      ["proj fwd", "attn fwd", "mlp fwd", "other fwd", "proj bwd", "attn bwd", "mlp bwd",
       "other bwd", "rest"]))
for name, task, c, steps in configs:
    c = dict(c, batch=32)
    steps = max(2, int(steps * scale))
    _, oc, prof = ours(task, c, 1, steps, "--profile")
    cells = [f"{1e3 * p['cpu_seconds'] / steps:6.1f}ms {p['gflop_per_second']:5.1f}GF/s"
             for p in prof]
    rest = oc - sum(p["cpu_seconds"] for p in prof) / steps
    print(f"{name:<11} " + " ".join(f"{x:>17}" for x in cells) + f" {1e3 * rest:>9.1f}ms",
          flush=True)
PY
