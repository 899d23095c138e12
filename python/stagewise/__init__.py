"""stagewise from Python: the library's flows, spectra, sweeps, fits and
trainer, returning numpy arrays and dicts.

Each function builds its model from KEY=VALUE parameters exactly as the
command line does (keyword arguments that are not options of the function
are the system's parameters, e.g. ``H=3`` or ``lambdas=[4, 2, 1]``) and
returns the numbers the matching command writes to its CSV, bit for bit.
A failure raises StagewiseError (InputError for bad input, NumericalError
for numerical trouble) with the library's one-line message.

    >>> import stagewise as sw
    >>> run = sw.integrate("y-reduced", t_end=1e4)
    >>> run["loss"][-1]
"""
import ctypes

import numpy as np

from . import _lib as L

__all__ = ["integrate", "jacobian", "sweep", "fit", "train", "systems", "version",
           "StagewiseError", "InputError", "NumericalError"]

_lib = L.load()


class StagewiseError(Exception):
    """A library failure; code is the command line's exit status (1, 2, 3)."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


class InputError(StagewiseError, ValueError):
    """Bad input: the message names the offender and what is allowed."""


class NumericalError(StagewiseError, ArithmeticError):
    """Numerical trouble: the message says what and at which t."""


def _raise(rc, err):
    msg = err.msg.decode(errors="replace")
    cls = {2: InputError, 3: NumericalError}.get(rc, StagewiseError)
    raise cls(msg, rc)


def _check(rc, err):
    if rc:
        _raise(rc, err)


def version():
    """The library's version string."""
    return _lib.sw_version().decode()


def systems():
    """Names of the registered systems, in `stagewise list` order."""
    return [_lib.sw_system_at(i).contents.name.decode() for i in range(_lib.sw_system_count())]


def _text(value):
    """A parameter value as the command line would type it."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return ",".join(repr(float(v)) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _words(params):
    keys = (ctypes.c_char_p * max(len(params), 1))(*[k.encode() for k in params])
    vals = (ctypes.c_char_p * max(len(params), 1))(*[_text(v).encode() for v in params.values()])
    return len(params), keys, vals


def _system(name):
    sys = _lib.sw_system_find(name.encode())
    if not sys:
        raise InputError("unknown system '%s' (allowed: %s)"
                         % (name, _lib.sw_system_names().decode()), 2)
    return sys


class _Model:
    """An sw_model built from KEY=VALUE parameters; freed with the object."""

    def __init__(self, system, params):
        err = L.Err()
        self.ptr = ctypes.POINTER(L.Model)()
        n, keys, vals = _words(params)
        _check(_lib.sw_model_alloc(_system(system), n, keys, vals, ctypes.byref(self.ptr),
                                   ctypes.byref(err)), err)
        self.m = self.ptr.contents
        self.sys = self.m.sys.contents

    @classmethod
    def view(cls, ptr):
        """A model owned elsewhere (a learner's): not freed with the view."""
        self = cls.__new__(cls)
        self.ptr, self.m, self.sys, self.owned = ptr, ptr.contents, ptr.contents.sys.contents, False
        return self

    def __del__(self):
        if getattr(self, "owned", True) and getattr(self, "ptr", None):
            _lib.sw_model_free(self.ptr)

    def names(self, which, n):
        return [which[i].decode() for i in range(n)]

    def columns(self):
        return ["loss"] + self.names(self.m.obs_names, self.m.n_obs)

    def initial_state(self):
        x = np.empty(self.m.dim)
        self.sys.init(self.ptr, x.ctypes.data_as(L.c_double_p))
        return x

    def row(self, x, out):
        """loss then the observables at state x, as the CSV writer computes them."""
        xp = np.ascontiguousarray(x, dtype=float).ctypes.data_as(L.c_double_p)
        out[0] = self.sys.loss(self.ptr, xp)
        if self.m.n_obs:
            obs = np.empty(self.m.n_obs)
            self.sys.observe(self.ptr, xp, obs.ctypes.data_as(L.c_double_p))
            out[1:] = obs

    def params(self):
        out = {}
        for i in range(self.sys.n_params):
            v = self.m.pv[i]
            vals = [v.v[j] for j in range(v.n)]
            kind = self.sys.params[i].kind
            out[self.sys.params[i].name.decode()] = vals if kind == 2 else vals[0]
        return out

    def levels(self):
        return np.array([self.m.levels[i] for i in range(self.m.n_levels)])


def _ode_opts(model, t_end, points, grid, solver, rtol, atol, h0, t_first, until):
    err = L.Err()
    o = L.OdeOpts()
    _lib.sw_ode_opts_default(ctypes.byref(o))
    given = {"t-end": t_end, "points": points, "grid": grid, "solver": solver, "rtol": rtol,
             "atol": atol, "h0": h0, "t-first": t_first}
    for name, value in given.items():
        if value is not None:
            _check(_lib.sw_ode_opts_set(ctypes.byref(o), name.encode(), _text(value).encode(),
                                        ctypes.byref(err)), err)
    _check(_lib.sw_ode_opts_check(ctypes.byref(o), ctypes.byref(err)), err)
    if until is not None:
        _check(_lib.sw_event_parse(model.ptr, until.encode(), ctypes.byref(o.until),
                                   ctypes.byref(err)), err)
    return o


def _state(model, init, what="init"):
    if init is None:
        return model.initial_state()
    try:
        x = np.array(init, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InputError("%s: %r is not a state vector (%d numbers in the order `describe` "
                         "lists)" % (what, init, model.m.dim), 2) from None
    if x.size != model.m.dim:
        raise InputError("%s: %d values for %d states" % (what, x.size, model.m.dim), 2)
    return x


def integrate(system, *, t_end=None, points=None, grid=None, solver=None, rtol=None,
              atol=None, h0=None, t_first=None, until=None, init=None, **params):
    """`stagewise integrate SYSTEM`: the trajectory from the initial state
    (or init, a state vector).  Returns a dict: "t", "loss" and every
    observable as arrays (the CSV's columns), "x" (rows x dim, the states),
    "state_names", "levels", "params", "stats" and, with until, "event_t"."""
    model = _Model(system, params)
    o = _ode_opts(model, t_end, points, grid, solver, rtol, atol, h0, t_first, until)
    err = L.Err()
    ode = _lib.sw_ode_alloc(model.ptr, ctypes.byref(o), ctypes.byref(err))
    if not ode:
        _raise(1, err)
    x = _state(model, init)
    traj = L.Traj(dim=model.m.dim)
    st = L.OdeStats()
    try:
        rc = _lib.sw_ode_run(ode, x.ctypes.data_as(L.c_double_p), _lib.traj_record,
                             ctypes.cast(ctypes.byref(traj), ctypes.c_void_p), ctypes.byref(st),
                             ctypes.byref(err))
        _check(rc, err)
        n, dim = traj.n, traj.dim
        t = np.ctypeslib.as_array(traj.t, (n,)).copy() if n else np.empty(0)
        xs = np.ctypeslib.as_array(traj.x, (n, dim)).copy() if n else np.empty((0, dim))
    finally:
        _lib.sw_traj_clear(ctypes.byref(traj))
        _lib.sw_ode_free(ode)
    cols = model.columns()
    table = np.empty((len(t), len(cols)))
    for i in range(len(t)):
        model.row(xs[i], table[i])
    out = {"t": t}
    out.update({c: table[:, j] for j, c in enumerate(cols)})
    out.update({"x": xs, "state_names": model.names(model.m.state_names, model.m.dim),
                "columns": ["t"] + cols, "levels": model.levels(), "params": model.params(),
                "stats": {"steps": st.steps, "rhs_evals": st.rhs_evals,
                          "jac_evals": st.jac_evals, "t_final": st.t_final}})
    if o.solver == b"bdf":  # the one stepper that counts its Newton work
        out["stats"]["newton"] = {"setups": st.setups, "iterations": st.newton_iters,
                                  "err_fails": st.err_fails, "conv_fails": st.conv_fails}
    if st.event_hit:
        out["event_t"] = st.event_t
    return out


def jacobian(system, *, at=None, fd=False, zero_tol=1e-8, **params):
    """`stagewise jacobian SYSTEM --at start` (or at a given state vector
    `at`): the Jacobian, its eigenvalues by decreasing real part (complex),
    eigenvectors (rows), Morse index, near-zero count and zero threshold."""
    model = _Model(system, params)
    x = _state(model, at, "at")
    sp = L.Spectrum()
    err = L.Err()
    try:
        _check(_lib.sw_spectrum_eval(model.ptr, x.ctypes.data_as(L.c_double_p), int(bool(fd)),
                                     zero_tol, ctypes.byref(sp), ctypes.byref(err)), err)
        n = sp.n
        ev = sp.ev.contents
        arr = np.ctypeslib.as_array
        out = {"J": arr(sp.J, (n, n)).copy(),
               "eigenvalues": arr(ev.re, (n,)) + 1j * arr(ev.im, (n,)),
               "eigenvectors": arr(ev.vre, (n, n)) + 1j * arr(ev.vim, (n, n)),
               "morse": sp.morse, "near_zero": sp.near_zero, "zero_tol": sp.zero_tol,
               "analytic": bool(sp.analytic),
               "fd_disagreement": sp.fd_disagreement, "state": x,
               "state_names": model.names(model.m.state_names, model.m.dim)}
    finally:
        _lib.sw_spectrum_clear(ctypes.byref(sp))
    return out


def sweep(system, axes, measures, *, predict=False, same_seed=False, threads=1, t_end=None,
          points=None, grid=None, solver=None, rtol=None, atol=None, h0=None, t_first=None,
          **params):
    """`stagewise sweep SYSTEM KEY=LIST ... --measure M ...`: axes maps a
    parameter to its list as the command line writes it ('4:4096:11:log',
    '1,16,32') or to a sequence of numbers; measures is a list of measure
    strings ('plateau', 'final:loss', 'event:loss<=1', ...).  Returns a dict
    of arrays in point order: "point", each axis, "point_seed" (systems with
    a seed), each measure's column (and lambda_plus, t_scale with predict),
    "status"; and "reasons" of failed points."""
    base = _Model(system, params)
    err = L.Err()
    sysp = base.m.sys
    n_axes = len(axes)
    ax = (L.SweepAxis * max(n_axes, 1))()
    for a, (name, values) in enumerate(axes.items()):
        k = _lib.sw_param_index(sysp, name.encode())
        if k < 0:
            raise InputError("sweep: %s has no parameter '%s'" % (system, name), 2)
        ax[a].param = k
        _check(_lib.sw_sweep_list_parse(ctypes.byref(base.sys.params[k]),
                                        _text(values).encode(), ctypes.byref(ax[a].values),
                                        ctypes.byref(err)), err)
    o = L.SweepOpts()
    _lib.sw_sweep_opts_default(ctypes.byref(o))
    o.ode = _ode_opts(base, t_end, points, grid, solver, rtol, atol, h0, t_first, None)
    o.predict = int(bool(predict))
    o.same_seed = int(bool(same_seed))
    ms = (ctypes.c_char_p * max(len(measures), 1))(*[m.encode() for m in measures])
    sp = ctypes.POINTER(L.Sweep)()
    _check(_lib.sw_sweep_alloc(base.ptr, n_axes, ax, len(measures), ms, ctypes.byref(o),
                               ctypes.byref(sp), ctypes.byref(err)), err)
    try:
        s = sp.contents
        npts, nv = s.n_points, s.n_values
        values = np.full((npts, nv), np.nan)
        status = np.zeros(npts, dtype=int)
        reasons = {}

        def done(r, user, e):
            r = r.contents
            values[r.point] = [r.values[j] for j in range(nv)]
            status[r.point] = r.status
            if r.status:
                reasons[r.point] = r.reason.decode()
            return 0

        todo = (ctypes.c_size_t * npts)(*range(npts))
        cb = L.SWEEP_DONE(done)
        _check(_lib.sw_sweep_run(sp, todo, npts, int(threads), None, cb, None,
                                 ctypes.byref(err)), err)
        out = {"point": np.arange(npts)}
        for a, name in enumerate(axes):
            out[name] = np.array([_lib.sw_sweep_axis_value(sp, a, p) for p in range(npts)])
        if s.seed_param >= 0:
            out["point_seed"] = np.array([_point_seed(sp, p) for p in range(npts)])
        for j in range(nv):
            out[_lib.sw_sweep_value_name(sp, j).decode()] = values[:, j]
        out["status"] = status
        out["reasons"] = reasons
    finally:
        _lib.sw_sweep_free(sp)
    return out


def _point_seed(sp, point):
    """The seed a sweep point ran with, read off the point's own model."""
    err = L.Err()
    m = ctypes.POINTER(L.Model)()
    _check(_lib.sw_sweep_model(sp, point, ctypes.byref(m), ctypes.byref(err)), err)
    seed = m.contents.pv[sp.contents.seed_param].v[0]
    _lib.sw_model_free(m)
    return seed


def _columns(data):
    """dict of arrays from a dict, or from a result CSV read by the library's
    own reader (through numpy: same parse, %.17g numbers read back exactly)."""
    if isinstance(data, dict):
        return {k: np.asarray(v, dtype=float) for k, v in data.items()
                if np.ndim(v) == 1 and np.asarray(v).dtype.kind in "fiu"}
    with open(data) as fp:
        lines = [ln for ln in fp if not ln.startswith("#")]
    names = lines[0].strip().split(",")
    rows = np.array([[float(v) for v in ln.strip().split(",")] for ln in lines[1:]])
    return {n: rows[:, j] for j, n in enumerate(names)}


def fit(data, y, law):
    """`stagewise fit FILE --y Y --law LAW` on a dict of arrays (e.g. what
    sweep returns) or a CSV path: the rows finite in y and every law column,
    fitted as the command does.  Returns a dict: "params" {name: estimate},
    "lo", "hi" (95% intervals), "r2", "aic", "rss", "n", "log_space", and
    per row "fitted" (the law's value) and "resid" (in the fit's space)."""
    cols = _columns(data)
    err = L.Err()
    lw = L.Law()
    _check(_lib.sw_law_parse(law.encode(), ctypes.byref(lw), ctypes.byref(err)), err)
    names = [lw.column[j].value.decode() for j in range(lw.m)]
    for c in [y] + names:
        if c not in cols:
            raise InputError("fit: no column '%s' (columns: %s)" % (c, ", ".join(cols)), 2)
    X = np.column_stack([cols[c] for c in names]) if names else np.empty((len(cols[y]), 0))
    Y = cols[y]
    keep = np.isfinite(Y) & np.all(np.isfinite(X), axis=1)
    X = np.ascontiguousarray(X[keep])
    Y = np.ascontiguousarray(Y[keep])
    r = L.FitResult()
    try:
        _check(_lib.sw_law_fit(ctypes.byref(lw), X.ctypes.data_as(L.c_double_p),
                               Y.ctypes.data_as(L.c_double_p), len(Y), ctypes.byref(r),
                               ctypes.byref(err)), err)
        k = _lib.sw_law_nparams(ctypes.byref(lw))
        pn = [_lib.sw_law_param(ctypes.byref(lw), j).decode() for j in range(k)]
        out = {"params": {pn[j]: r.p[j] for j in range(k)},
               "lo": {pn[j]: r.lo[j] for j in range(k)},
               "hi": {pn[j]: r.hi[j] for j in range(k)},
               "r2": r.r2, "aic": r.aic, "rss": r.rss, "n": r.n,
               "fitted": np.ctypeslib.as_array(r.fitted, (r.n,)).copy(),
               "resid": np.ctypeslib.as_array(r.resid, (r.n,)).copy(),
               "log_space": bool(_lib.sw_law_log_space(ctypes.byref(lw)))}
    finally:
        _lib.sw_fit_result_clear(ctypes.byref(r))
    return out


def _train_option_names():
    """The option names sw_train_opts_set takes (sw_train_opt_names, NULL-ended)."""
    first = ctypes.c_char_p.in_dll(_lib, "sw_train_opt_names")
    arr = ctypes.cast(ctypes.addressof(first), ctypes.POINTER(ctypes.c_char_p))
    names, i = set(), 0
    while arr[i] is not None:
        names.add(arr[i].decode())
        i += 1
    return names


def train(task, *, noise=0.0, init=None, **kwargs):
    """`stagewise train TASK`: options by their command-line names with
    underscores (lr, steps, optim, batch, n_train, eval_every, grid, points,
    patience, ...); the other keywords are the task's system parameters.
    Returns a dict of arrays per evaluation: "t" (= step * lr), "loss",
    the observables, "train_loss", "step"; and "theta", "stats"."""
    tp = _lib.sw_task_find(task.encode())
    if not tp:
        raise InputError("unknown task '%s' (allowed: %s)"
                         % (task, _lib.sw_task_names().decode()), 2)
    err = L.Err()
    o = L.TrainOpts()
    _lib.sw_train_opts_default(ctypes.byref(o))
    params = {}
    options = _train_option_names()
    for key, value in kwargs.items():
        name = key.replace("_", "-")
        if name in options:
            _check(_lib.sw_train_opts_set(ctypes.byref(o), name.encode(), _text(value).encode(),
                                          ctypes.byref(err)), err)
        else:
            params[key] = value
    n, keys, vals = _words(params)
    lp = ctypes.POINTER(L.Learner)()
    _check(_lib.sw_learner_alloc(tp, n, keys, vals, ctypes.byref(lp), ctypes.byref(err)), err)
    tr = None
    try:
        lp.contents.noise = float(noise)
        _check(_lib.sw_train_opts_check(ctypes.byref(o), lp, ctypes.byref(err)), err)
        model = _Model.view(lp.contents.m)
        model_ptr = model.ptr
        theta = _state(model, init)
        rows = []
        nobs = model.m.n_obs

        def out(step, th, loss, train_loss, user):
            obs = np.empty(nobs)
            if nobs:
                model.sys.observe(model_ptr, th, obs.ctypes.data_as(L.c_double_p))
            rows.append((step * o.lr, loss, *obs, train_loss, step))
            return 0

        tr = _lib.sw_trainer_alloc(lp, ctypes.byref(o), ctypes.byref(err))
        if not tr:
            _raise(1, err)
        st = L.TrainStats()
        cb = L.TRAIN_OUTPUT(out)
        _check(_lib.sw_train_run(tr, theta.ctypes.data_as(L.c_double_p), cb, None,
                                 ctypes.byref(st), ctypes.byref(err)), err)
        cols = ["t", "loss"] + model.names(model.m.obs_names, nobs) + ["train_loss", "step"]
        table = np.array(rows) if rows else np.empty((0, len(cols)))
        res = {c: table[:, j] for j, c in enumerate(cols)}
        res["step"] = res["step"].astype(int)
        res.update({"columns": cols, "theta": theta,
                    "stats": {"steps": st.steps, "best_step": st.best_step,
                              "best_loss": st.best_loss,
                              "stopped_early": bool(st.stopped_early)}})
        return res
    finally:
        if tr:
            _lib.sw_trainer_free(tr)
        _lib.sw_learner_free(lp)
