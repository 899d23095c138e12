#!/usr/bin/env python3
"""Peer benchmark: SciPy's solve_ivp on z-full, calling stagewise's own vector
field through ctypes (bench/zfull_peer.c), from stagewise's own start: the
same equations and start, so only the integrators differ.  The ctypes call
costs SciPy a few microseconds per evaluation against a NumPy version's
d^2 work; the ratio leans towards SciPy.

    python3 scipy_zfull.py LIB METHOD RTOL ATOL T_END KEY=VALUE...

Prints the final loss, wall and CPU seconds of the solve_ivp call, steps
(accepted, from the output times) and vector-field evaluations.
"""
import ctypes
import sys
import time

import numpy as np
from scipy.integrate import solve_ivp


def main():
    lib = ctypes.CDLL(sys.argv[1])
    method = sys.argv[2]
    rtol, atol, t_end = (float(v) for v in sys.argv[3:6])
    words = sys.argv[6:]
    keys = (ctypes.c_char_p * len(words))(*[w.split("=")[0].encode() for w in words])
    vals = (ctypes.c_char_p * len(words))(*[w.split("=")[1].encode() for w in words])
    lib.zp_make.restype = ctypes.c_size_t
    lib.zp_loss.restype = ctypes.c_double
    n = lib.zp_make(len(words), keys, vals)
    if n == 0:
        sys.exit(2)
    dptr = ctypes.POINTER(ctypes.c_double)
    x0 = np.zeros(n)
    lib.zp_init(x0.ctypes.data_as(dptr))

    def rhs(_t, x):
        x = np.ascontiguousarray(x)
        f = np.empty(n)
        lib.zp_rhs(x.ctypes.data_as(dptr), f.ctypes.data_as(dptr))
        return f

    t0, c0 = time.perf_counter(), time.process_time()
    sol = solve_ivp(rhs, (0.0, t_end), x0, method=method, rtol=rtol, atol=atol)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    x = np.ascontiguousarray(sol.y[:, -1])
    print(f"scipy-{method} status={sol.status} loss={lib.zp_loss(x.ctypes.data_as(dptr)):.12g} "
          f"wall={wall:.6f} cpu={cpu:.6f} steps={sol.t.size - 1} rhs_evals={sol.nfev}")


if __name__ == "__main__":
    main()
