"""The Python module against the command line: the same numbers, bit for
bit, where both compute the same thing; closed forms where they exist."""
import json
import os
import subprocess

import numpy as np
import pytest

import stagewise as sw

BIN = os.environ["SW_BIN"]


def cli(*args, check=True):
    return subprocess.run([BIN, *args], capture_output=True, text=True, check=check)


def read_csv(path):
    with open(path) as fp:
        lines = [ln for ln in fp if not ln.startswith("#")]
    names = lines[0].strip().split(",")
    rows = np.array([[float(v) for v in ln.split(",")] for ln in lines[1:]])
    return {n: rows[:, j] for j, n in enumerate(names)}


def test_integrate_is_the_cli_trajectory(tmp_path):
    out = tmp_path / "run.csv"
    cli("integrate", "y-reduced", "--t-end", "1e4", "--out", str(out))
    ref = read_csv(out)
    run = sw.integrate("y-reduced", t_end=1e4)
    assert run["columns"] == list(ref)
    for name, col in ref.items():
        assert np.array_equal(run[name], col), name
    assert run["x"].shape == (200, len(run["state_names"]))


def test_bdf_statistics_are_the_cli_metadata(tmp_path):
    out, meta = tmp_path / "run.csv", tmp_path / "run.json"
    cli("integrate", "y-reduced", "--solver", "bdf", "--t-end", "1e4", "--out", str(out),
        "--meta", str(meta))
    ref = json.loads(meta.read_text())["stats"]
    run = sw.integrate("y-reduced", solver="bdf", t_end=1e4)["stats"]
    assert run["newton"] == ref["newton"]
    assert run["steps"] == ref["steps"] and run["rhs_evals"] == ref["rhs_evals"]
    assert "newton" not in sw.integrate("y-reduced", t_end=1e4)["stats"]


def test_separate_runs_on_separate_threads_agree_with_one():
    # ctypes lets go of the GIL during each library call, so these really
    # run at once: separate models and integrators share nothing.
    from concurrent.futures import ThreadPoolExecutor
    args = [dict(H=h, seed=s) for h in (2, 3) for s in (1, 2)]
    alone = [sw.integrate("y-reduced", t_end=1e3, **a)["loss"] for a in args]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda a: sw.integrate("y-reduced", t_end=1e3, **a)["loss"],
                                 args * 2))
    for i, loss in enumerate(together):
        assert np.array_equal(loss, alone[i % len(args)])


def test_integrate_takes_parameters_and_options_as_the_cli(tmp_path):
    out = tmp_path / "run.csv"
    cli("integrate", "linear", "A=-1,0,0,2", "x0=1,1e-3", "--t-end", "2", "--grid", "linear",
        "--points", "5", "--rtol", "1e-12", "--atol", "1e-14", "--out", str(out))
    ref = read_csv(out)
    run = sw.integrate("linear", A=[-1, 0, 0, 2], x0=[1, 1e-3], t_end=2, grid="linear",
                       points=5, rtol=1e-12, atol=1e-14)
    assert np.array_equal(run["x_2"], ref["x_2"])
    # and both are the closed form x_2 = 1e-3 e^{2t}
    assert np.allclose(run["x_2"], 1e-3 * np.exp(2 * run["t"]), rtol=1e-10, atol=0)


def test_integrate_until_reports_the_event():
    run = sw.integrate("linear", A=[-1, 0, 0, 2], x0=[1, 1e-3], until="x_2>=1", t_end=10,
                       rtol=1e-12, atol=1e-14)
    assert run["event_t"] == pytest.approx(np.log(1e3) / 2, rel=1e-9)


def test_jacobian_of_linear_is_A():
    j = sw.jacobian("linear", A=[-1, 3, 0, 0.5])
    assert np.array_equal(j["J"], [[-1, 3], [0, 0.5]])
    assert np.allclose(j["eigenvalues"], [0.5, -1])
    assert j["morse"] == 1 and j["analytic"]
    fd = sw.jacobian("linear", A=[-1, 3, 0, 0.5], fd=True)
    assert np.allclose(fd["J"], j["J"], atol=1e-8)


def test_sweep_is_the_cli_sweep(tmp_path):
    out = tmp_path / "sweep.csv"
    cli("sweep", "z-reduced", "d=4,16,64", "T=64", "--measure", "plateau", "--predict",
        "--t-end", "1e6", "--out", str(out))
    ref = read_csv(out)
    res = sw.sweep("z-reduced", {"d": "4,16,64", "T": 64}, ["plateau"], predict=True,
                   t_end=1e6, threads=2)
    for name, col in ref.items():
        assert np.array_equal(res[name], col), name


def test_sweep_seeds_points_as_the_cli(tmp_path):
    out = tmp_path / "sweep.csv"
    cli("sweep", "z-full", "d=4", "T=8", "sigma=0.5,1", "--measure", "final:S", "--t-end", "5",
        "--out", str(out))
    ref = read_csv(out)
    res = sw.sweep("z-full", {"d": 4, "T": 8, "sigma": "0.5,1"}, ["final:S"], t_end=5)
    assert list(res)[:-1] == list(ref)
    for name, col in ref.items():
        assert np.array_equal(res[name], col), name


def test_fit_is_the_cli_fit(tmp_path):
    data = tmp_path / "sweep.csv"
    cli("sweep", "z-reduced", "d=4,16,64", "T=64", "--measure", "plateau", "--t-end", "1e6",
        "--out", str(data))
    out = tmp_path / "fit.csv"
    cli("fit", str(data), "--y", "t_plateau", "--law", "C * d^a", "--out", str(out))
    with open(tmp_path / "fit.json") as fp:
        ref = json.load(fp)
    f = sw.fit(str(data), y="t_plateau", law="C * d^a")
    for p in ref["params"]:
        assert f["params"][p["name"]] == p["estimate"]
        assert [f["lo"][p["name"]], f["hi"][p["name"]]] == p["ci95"]
    assert f["r2"] == ref["r2"] and f["aic"] == ref["aic"]
    assert np.array_equal(f["fitted"], read_csv(out)["fitted"])


def test_fit_recovers_an_exact_power_law():
    d = np.array([2.0, 4, 8, 16, 32])
    f = sw.fit({"d": d, "y": 3 * d**1.5 * np.exp([1e-3, -1e-3, 2e-3, 0, -2e-3])},
               y="y", law="C * d^a")
    assert f["params"]["a"] == pytest.approx(1.5, abs=2e-3)
    assert f["params"]["C"] == pytest.approx(3, rel=1e-2)


def test_train_is_the_cli_run(tmp_path):
    out = tmp_path / "toy.csv"
    cli("train", "toy", "d=8", "--optim", "sgd", "--batch", "16", "--steps", "300", "--lr",
        "0.05", "--out", str(out))
    ref = read_csv(out)
    run = sw.train("toy", d=8, optim="sgd", batch=16, steps=300, lr=0.05)
    assert run["columns"] == list(ref)
    for name, col in ref.items():
        assert np.array_equal(run[name], col), name


@pytest.mark.parametrize("call, args", [
    (lambda: sw.integrate("nope"), ["integrate", "nope"]),
    (lambda: sw.integrate("y-reduced", rtol=2), ["integrate", "y-reduced", "--rtol", "2"]),
    (lambda: sw.integrate("y-reduced", H=0), ["integrate", "y-reduced", "H=0"]),
    (lambda: sw.sweep("z-reduced", {"d": "4,16"}, ["nope"]),
     ["sweep", "z-reduced", "d=4,16", "--measure", "nope", "--out", "/dev/null"]),
    (lambda: sw.fit({"d": [1.0, 2, 3], "y": [1.0, 2, 3]}, y="y", law="C * "),
     None),
    (lambda: sw.train("toy", lr=-1), ["train", "toy", "--lr", "-1"]),
    (lambda: sw.jacobian("linear", at="plateau:1"), None),
    (lambda: sw.integrate("linear", init=[1, 2, 3]), None),
])
def test_errors_carry_the_library_message(call, args):
    with pytest.raises(sw.InputError) as exc:
        call()
    assert exc.value.code == 2
    if args:
        r = cli(*args, check=False)
        assert r.returncode == 2
        assert r.stderr.strip() == "stagewise: " + str(exc.value)


def test_numerical_failure_is_a_numerical_error():
    with pytest.raises(sw.NumericalError) as exc:
        sw.integrate("linear", A=[50, 0, 0, 50], x0=[1, 1], t_end=100)
    assert exc.value.code == 3 and "t =" in str(exc.value)
