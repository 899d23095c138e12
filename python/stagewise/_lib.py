"""ctypes view of libstagewise's public C API (include/stagewise/*.h).

Only what the Python functions call is declared here.  The structures
mirror the C ones field by field; the tests compare every function with
the command line's output, so a layout that drifts fails them.
"""
import ctypes
import os

c_double_p = ctypes.POINTER(ctypes.c_double)
c_size_t_p = ctypes.POINTER(ctypes.c_size_t)
c_char_pp = ctypes.POINTER(ctypes.c_char_p)


class Err(ctypes.Structure):
    _fields_ = [("msg", ctypes.c_char * 512)]


class Value(ctypes.Structure):
    _fields_ = [("n", ctypes.c_size_t), ("v", c_double_p)]


class ParamDef(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("kind", ctypes.c_int), ("def_", ctypes.c_char_p),
                ("lo", ctypes.c_double), ("hi", ctypes.c_double), ("doc", ctypes.c_char_p)]


class Model(ctypes.Structure):
    pass


class System(ctypes.Structure):
    pass


INIT_FN = ctypes.CFUNCTYPE(None, ctypes.POINTER(Model), c_double_p)
LOSS_FN = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.POINTER(Model), c_double_p)
OBSERVE_FN = ctypes.CFUNCTYPE(None, ctypes.POINTER(Model), c_double_p, c_double_p)

# The leading fields of sw_system, up to the ones called from here.
System._fields_ = [("name", ctypes.c_char_p), ("summary", ctypes.c_char_p),
                   ("doc", ctypes.c_char_p), ("params", ctypes.POINTER(ParamDef)),
                   ("n_params", ctypes.c_size_t), ("jac_doc", ctypes.c_char_p),
                   ("setup", ctypes.c_void_p), ("teardown", ctypes.c_void_p),
                   ("init", INIT_FN), ("rhs", ctypes.c_void_p), ("jac", ctypes.c_void_p),
                   ("loss", LOSS_FN), ("observe", OBSERVE_FN)]

Model._fields_ = [("sys", ctypes.POINTER(System)), ("pv", ctypes.POINTER(Value)),
                  ("dim", ctypes.c_size_t), ("n_obs", ctypes.c_size_t),
                  ("state_names", c_char_pp), ("obs_names", c_char_pp),
                  ("n_levels", ctypes.c_size_t), ("levels", c_double_p),
                  ("ctx", ctypes.c_void_p)]


class Event(ctypes.Structure):
    _fields_ = [("active", ctypes.c_int), ("obs", ctypes.c_int), ("ge", ctypes.c_int),
                ("thr", ctypes.c_double), ("text", ctypes.c_char * 96)]


class OdeOpts(ctypes.Structure):
    _fields_ = [("solver", ctypes.c_char_p), ("rtol", ctypes.c_double),
                ("atol", ctypes.c_double), ("h0", ctypes.c_double),
                ("t_end", ctypes.c_double), ("t_first", ctypes.c_double),
                ("points", ctypes.c_size_t), ("log_grid", ctypes.c_int), ("until", Event),
                ("max_steps", ctypes.c_ulong), ("max_work", ctypes.c_double),
                ("max_memory", ctypes.c_double)]


class OdeStats(ctypes.Structure):
    _fields_ = [("steps", ctypes.c_ulong), ("rhs_evals", ctypes.c_ulong),
                ("jac_evals", ctypes.c_ulong), ("event_hit", ctypes.c_int),
                ("event_t", ctypes.c_double), ("t_final", ctypes.c_double),
                ("setups", ctypes.c_ulong), ("newton_iters", ctypes.c_ulong),
                ("err_fails", ctypes.c_ulong), ("conv_fails", ctypes.c_ulong)]


class Traj(ctypes.Structure):
    _fields_ = [("dim", ctypes.c_size_t), ("n", ctypes.c_size_t), ("cap", ctypes.c_size_t),
                ("t", c_double_p), ("x", c_double_p)]


class Eigen(ctypes.Structure):
    _fields_ = [("n", ctypes.c_size_t), ("re", c_double_p), ("im", c_double_p),
                ("vre", c_double_p), ("vim", c_double_p), ("w", ctypes.c_void_p)]


class Spectrum(ctypes.Structure):
    _fields_ = [("n", ctypes.c_size_t), ("J", c_double_p), ("analytic", ctypes.c_int),
                ("fd_disagreement", ctypes.c_double), ("worst_row", ctypes.c_size_t),
                ("worst_col", ctypes.c_size_t), ("ev", ctypes.POINTER(Eigen)),
                ("zero_tol", ctypes.c_double), ("morse", ctypes.c_size_t),
                ("near_zero", ctypes.c_size_t)]


class StagesOpts(ctypes.Structure):
    _fields_ = [("max_slope", ctypes.c_double), ("min_decades", ctypes.c_double),
                ("min_drop", ctypes.c_double), ("shoulder", ctypes.c_double)]


class SweepAxis(ctypes.Structure):
    _fields_ = [("param", ctypes.c_int), ("values", Value)]


class SweepResult(ctypes.Structure):
    _fields_ = [("point", ctypes.c_size_t), ("values", c_double_p), ("status", ctypes.c_int),
                ("reason", ctypes.c_char * 256)]


class Sweep(ctypes.Structure):
    _fields_ = [("sys", ctypes.POINTER(System)), ("base", ctypes.POINTER(Value)),
                ("seed_param", ctypes.c_int), ("n_axes", ctypes.c_size_t),
                ("axes", ctypes.POINTER(SweepAxis)), ("n_points", ctypes.c_size_t),
                ("n_measures", ctypes.c_size_t), ("measures", ctypes.c_void_p),
                ("n_values", ctypes.c_size_t)]


SW_LAW_MAX_FACTORS = 8
SW_LAW_NAME = 64


class Law(ctypes.Structure):
    _fields_ = [("m", ctypes.c_size_t), ("prefactor", ctypes.c_char * SW_LAW_NAME),
                ("column", (ctypes.c_char * SW_LAW_NAME) * SW_LAW_MAX_FACTORS),
                ("exponent", (ctypes.c_char * SW_LAW_NAME) * SW_LAW_MAX_FACTORS),
                ("offset", ctypes.c_char * SW_LAW_NAME)]


class FitResult(ctypes.Structure):
    _fields_ = [("n", ctypes.c_size_t), ("k", ctypes.c_size_t), ("p", c_double_p),
                ("cov", c_double_p), ("lo", c_double_p), ("hi", c_double_p),
                ("fitted", c_double_p), ("resid", c_double_p), ("rss", ctypes.c_double),
                ("r2", ctypes.c_double), ("aic", ctypes.c_double),
                ("iterations", ctypes.c_size_t)]


class Task(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("summary", ctypes.c_char_p),
                ("sys", ctypes.POINTER(System))]


class Learner(ctypes.Structure):
    _fields_ = [("task", ctypes.POINTER(Task)), ("m", ctypes.POINTER(Model)),
                ("ctx", ctypes.c_void_p), ("noise", ctypes.c_double)]


class TrainOpts(ctypes.Structure):
    _fields_ = [("optim", ctypes.c_int), ("lr", ctypes.c_double), ("steps", ctypes.c_size_t),
                ("batch", ctypes.c_size_t), ("n_train", ctypes.c_size_t),
                ("beta1", ctypes.c_double), ("beta2", ctypes.c_double),
                ("eps", ctypes.c_double), ("eval_every", ctypes.c_size_t),
                ("log_grid", ctypes.c_int), ("points", ctypes.c_size_t),
                ("patience", ctypes.c_size_t), ("max_work", ctypes.c_double),
                ("max_memory", ctypes.c_double)]


class SweepOpts(ctypes.Structure):
    _fields_ = [("ode", OdeOpts), ("stages", StagesOpts), ("predict", ctypes.c_int),
                ("same_seed", ctypes.c_int), ("task", ctypes.c_void_p), ("train", TrainOpts),
                ("noise", ctypes.c_double)]


class TrainStats(ctypes.Structure):
    _fields_ = [("steps", ctypes.c_size_t), ("best_step", ctypes.c_size_t),
                ("best_loss", ctypes.c_double), ("stopped_early", ctypes.c_int)]


ODE_OUTPUT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_double, c_double_p, ctypes.c_void_p)
SWEEP_DONE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(SweepResult), ctypes.c_void_p,
                              ctypes.POINTER(Err))
TRAIN_OUTPUT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_size_t, c_double_p, ctypes.c_double,
                                ctypes.c_double, ctypes.c_void_p)

P = ctypes.POINTER
_protos = {
    "sw_init": (None, []),
    "sw_version": (ctypes.c_char_p, []),
    "sw_system_find": (P(System), [ctypes.c_char_p]),
    "sw_system_names": (ctypes.c_char_p, []),
    "sw_system_count": (ctypes.c_size_t, []),
    "sw_system_at": (P(System), [ctypes.c_size_t]),
    "sw_param_index": (ctypes.c_int, [P(System), ctypes.c_char_p]),
    "sw_model_alloc": (ctypes.c_int, [P(System), ctypes.c_size_t, c_char_pp, c_char_pp,
                                      P(P(Model)), P(Err)]),
    "sw_model_free": (None, [P(Model)]),
    "sw_ode_opts_default": (None, [P(OdeOpts)]),
    "sw_ode_opts_set": (ctypes.c_int, [P(OdeOpts), ctypes.c_char_p, ctypes.c_char_p, P(Err)]),
    "sw_ode_opts_check": (ctypes.c_int, [P(OdeOpts), P(Err)]),
    "sw_event_parse": (ctypes.c_int, [P(Model), ctypes.c_char_p, P(Event), P(Err)]),
    "sw_ode_alloc": (ctypes.c_void_p, [P(Model), P(OdeOpts), P(Err)]),
    "sw_ode_free": (None, [ctypes.c_void_p]),
    "sw_ode_run": (ctypes.c_int, [ctypes.c_void_p, c_double_p, ODE_OUTPUT, ctypes.c_void_p,
                                  P(OdeStats), P(Err)]),
    "sw_traj_clear": (None, [P(Traj)]),
    "sw_spectrum_eval": (ctypes.c_int, [P(Model), c_double_p, ctypes.c_int, ctypes.c_double,
                                        P(Spectrum), P(Err)]),
    "sw_spectrum_clear": (None, [P(Spectrum)]),
    "sw_sweep_opts_default": (None, [P(SweepOpts)]),
    "sw_sweep_list_parse": (ctypes.c_int, [P(ParamDef), ctypes.c_char_p, P(Value), P(Err)]),
    "sw_sweep_alloc": (ctypes.c_int, [P(Model), ctypes.c_size_t, P(SweepAxis), ctypes.c_size_t,
                                      c_char_pp, P(SweepOpts), P(P(Sweep)), P(Err)]),
    "sw_sweep_free": (None, [P(Sweep)]),
    "sw_sweep_value_name": (ctypes.c_char_p, [P(Sweep), ctypes.c_size_t]),
    "sw_sweep_axis_value": (ctypes.c_double, [P(Sweep), ctypes.c_size_t, ctypes.c_size_t]),
    "sw_sweep_model": (ctypes.c_int, [P(Sweep), ctypes.c_size_t, P(P(Model)), P(Err)]),
    "sw_sweep_run": (ctypes.c_int, [P(Sweep), c_size_t_p, ctypes.c_size_t, ctypes.c_int,
                                    ctypes.c_void_p, SWEEP_DONE, ctypes.c_void_p, P(Err)]),
    "sw_law_parse": (ctypes.c_int, [ctypes.c_char_p, P(Law), P(Err)]),
    "sw_law_nparams": (ctypes.c_size_t, [P(Law)]),
    "sw_law_param": (ctypes.c_char_p, [P(Law), ctypes.c_size_t]),
    "sw_law_log_space": (ctypes.c_int, [P(Law)]),
    "sw_law_fit": (ctypes.c_int, [P(Law), c_double_p, c_double_p, ctypes.c_size_t,
                                  P(FitResult), P(Err)]),
    "sw_fit_result_clear": (None, [P(FitResult)]),
    "sw_task_find": (P(Task), [ctypes.c_char_p]),
    "sw_task_names": (ctypes.c_char_p, []),
    "sw_learner_alloc": (ctypes.c_int, [P(Task), ctypes.c_size_t, c_char_pp, c_char_pp,
                                        P(P(Learner)), P(Err)]),
    "sw_learner_free": (None, [P(Learner)]),
    "sw_train_opts_default": (None, [P(TrainOpts)]),
    "sw_train_opts_set": (ctypes.c_int, [P(TrainOpts), ctypes.c_char_p, ctypes.c_char_p,
                                         P(Err)]),
    "sw_train_opts_check": (ctypes.c_int, [P(TrainOpts), P(Learner), P(Err)]),
    "sw_trainer_alloc": (ctypes.c_void_p, [P(Learner), P(TrainOpts), P(Err)]),
    "sw_trainer_free": (None, [ctypes.c_void_p]),
    "sw_train_run": (ctypes.c_int, [ctypes.c_void_p, c_double_p, TRAIN_OUTPUT, ctypes.c_void_p,
                                    P(TrainStats), P(Err)]),
}


def _candidates():
    """Where the shared library may be: $STAGEWISE_LIB; the libdir of the
    install this module came from (found relative to this file, so a staged
    `meson install --destdir` works too); the dynamic loader's search."""
    env = os.environ.get("STAGEWISE_LIB")
    if env:
        return [env]
    found = []
    try:
        from . import _paths
        here = os.path.dirname(os.path.abspath(__file__))
        rel = os.path.relpath(_paths.LIBDIR, os.path.join(_paths.PYDIR, "stagewise"))
        found.append(os.path.normpath(os.path.join(here, rel, _paths.SONAME)))
        found.append(_paths.SONAME)
    except ImportError:
        pass
    found.append("libstagewise.so")
    return found


def load():
    errors = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
            break
        except OSError as exc:
            errors.append(str(exc))
    else:
        raise ImportError("stagewise: cannot load libstagewise (set STAGEWISE_LIB): " +
                          "; ".join(errors))
    for name, (restype, argtypes) in _protos.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    # sw_ode_output and sw_traj_record have the same signature: the trajectory
    # is recorded in C, with no Python call per step.
    lib.traj_record = ODE_OUTPUT(("sw_traj_record", lib))
    lib.sw_init()
    return lib
