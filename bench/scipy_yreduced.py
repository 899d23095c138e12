"""Peer benchmark: SciPy's solve_ivp on the y-reduced equations (docs/math.md),
written in vectorised NumPy as a careful notebook would, from the same start
state stagewise uses.

    python3 scipy_yreduced.py METHOD H K T GAMMA C RTOL ATOL T_END INIT_FILE

State layout (as `stagewise describe y-reduced`): per head, w_h1..w_hK then
the T logits.  Pattern k covers lags (k-1)m+1..km, m = 1 here; lag j is
position T+1-j.  Prints final loss, wall seconds, steps and rhs evaluations
(solve_ivp keeps every step's time when no t_eval is given); wall and CPU
seconds are the solve_ivp call's.
"""
import sys
import time

import numpy as np
from scipy.integrate import solve_ivp


def main():
    method = sys.argv[1]
    H, K, T = (int(v) for v in sys.argv[2:5])
    gamma, c, rtol, atol, t_end = (float(v) for v in sys.argv[5:10])
    x0 = np.array([float(line.split()[0]) for line in open(sys.argv[10])
                   if line.strip() and not line.startswith("#")])
    lam2 = (c * gamma ** (K - 1 - np.arange(K))) ** 2
    pi = np.zeros((K, T))
    for k in range(K):
        pi[k, T - 1 - k] = 1.0  # lag k+1 is position T-k (0-based T-1-k)

    def unpack(x):
        x = x.reshape(H, K + T)
        return x[:, :K], x[:, K:]

    def rhs(_t, x):
        w, a = unpack(x)
        s = np.exp(a - a.max(axis=1, keepdims=True))
        s /= s.sum(axis=1, keepdims=True)
        rho = pi - w.T @ s                      # K x T
        dw = s @ rho.T                          # H x K
        g = -(w * lam2) @ rho                   # H x T
        da = -s * (g - (s * g).sum(axis=1, keepdims=True))
        return np.concatenate([dw, da], axis=1).ravel()

    def loss(x):
        w, a = unpack(x)
        s = np.exp(a - a.max(axis=1, keepdims=True))
        s /= s.sum(axis=1, keepdims=True)
        rho = pi - w.T @ s
        return 0.5 * float((lam2[:, None] * rho ** 2).sum())

    t0, c0 = time.perf_counter(), time.process_time()
    sol = solve_ivp(rhs, (0.0, t_end), x0, method=method, rtol=rtol, atol=atol)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"scipy-{method} status={sol.status} loss={loss(sol.y[:, -1]):.12g} "
          f"wall={wall:.6f} cpu={cpu:.6f} steps={sol.t.size - 1} rhs_evals={sol.nfev}")


if __name__ == "__main__":
    main()
