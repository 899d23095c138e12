#!/usr/bin/env bash
# Adding a system is one file in systems/ and one line in systems/systems.list:
# this copies the source tree, does exactly that with a throwaway system, builds
# the command line and checks that the new system is listed, integrates to its
# closed form, has the spectrum it should, and gets the capabilities it
# declares (sweep --predict, escape --base symmetric).
#   bash tests/new-system.sh SOURCE_DIR
set -euo pipefail
src=$1
work=${SW_KEEP:-$(mktemp -d)}
[ -n "${SW_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
for item in meson.build meson_options.txt include src systems tests plots scripts docs examples python fuzz; do
    [ -e "$src/$item" ] && cp -r "$src/$item" "$work/"
done

# Two "heads" u_1, u_2 with du_h/dt = u_h - 2 u_other: equivariant under
# swapping them; the symmetric mode decays (rate -1), the antisymmetric one
# grows (rate 3), so the origin is a saddle with lambda+ = 3.
cat > "$work/systems/pair.c" <<'C'
#include "stagewise/system.h"

static const sw_param_def params[] = {
    {"u0", SW_PARAM_LIST, "1,0.999", -1e6, 1e6, "initial u_1, u_2"},
};

static int setup(sw_model *m, sw_err *e)
{
    if (sw_model_value(m, "u0")->n != 2)
        return sw_fail(e, SW_EINPUT, "u0: expected 2 values");
    if (sw_model_shape(m, 2, 2, 0))
        return sw_fail(e, SW_EFAIL, "out of memory");
    sw_model_name_state(m, 0, "u_h1");
    sw_model_name_state(m, 1, "u_h2");
    sw_model_name_obs(m, 0, "u_1");
    sw_model_name_obs(m, 1, "u_2");
    return SW_OK;
}

static void init(const sw_model *m, double *x)
{
    x[0] = sw_model_value(m, "u0")->v[0];
    x[1] = sw_model_value(m, "u0")->v[1];
}

static int rhs(const sw_model *m, const double *x, double *f)
{
    (void)m;
    f[0] = x[0] - 2 * x[1];
    f[1] = x[1] - 2 * x[0];
    return 0;
}

static double loss(const sw_model *m, const double *x)
{
    (void)m;
    return 0.5 * (x[0] * x[0] + x[1] * x[1]);
}

static void observe(const sw_model *m, const double *x, double *obs)
{
    (void)m;
    obs[0] = x[0];
    obs[1] = x[1];
}

static int predict(const sw_model *m, double *lambda_plus, sw_err *e)
{
    (void)m, (void)e;
    *lambda_plus = 3;
    return SW_OK;
}

static size_t heads(const sw_model *m)
{
    (void)m;
    return 2;
}

const sw_system sw_system_pair = {
    .name = "pair",
    .summary = "two swappable heads, a saddle at the origin",
    .doc = "State u_h1, u_h2.",
    .params = params,
    .n_params = 1,
    .jac_doc = "central finite differences",
    .setup = setup,
    .init = init,
    .rhs = rhs,
    .loss = loss,
    .observe = observe,
    .predict = predict,
    .heads = heads,
};
C
echo "pair.c sw_system_pair" >> "$work/systems/systems.list"

# Unoptimised and only the binary: this checks the build, not the numerics.
meson setup "$work/build" "$work" -Dbuildtype=plain >/dev/null
ninja -C "$work/build" stagewise >/dev/null
sw=$work/build/stagewise
cd "$work"

fail() { echo "new-system: $*" >&2; exit 1; }
"$sw" list | grep -q '^pair ' || fail "pair is not listed"
"$sw" describe pair | grep -q 'predicted rate (sweep --predict) yes; heads 2 ' ||
    fail "describe does not show the capabilities pair declares"

# u_1 - u_2 grows like e^{3t}, u_1 + u_2 decays like e^{-t}.
"$sw" integrate pair --t-end 1 --points 3 --rtol 1e-10 --atol 1e-12 --out run.csv 2>/dev/null
awk -F, '!/^#/ && $1 == 1 {
        d = 0.001 * exp(3); s = 1.999 * exp(-1)
        if ((($3 - (s + d) / 2)^2 + ($4 - (s - d) / 2)^2)^0.5 > 1e-7) { print "u(1) = " $3 ", " $4; exit 1 }
        found = 1
    } END { exit !found }' run.csv || fail "u(1) is not the closed form"

"$sw" jacobian pair --at start > jac.txt
grep -q 'Morse index 1' jac.txt || { cat jac.txt >&2; fail "Morse index is not 1"; }
awk '$1 == 1 && NF >= 3 { lead = $2 } $1 == 2 && NF >= 3 { last = $2 }
     END { exit !((lead - 3)^2 < 1e-12 && (last + 1)^2 < 1e-12) }' jac.txt ||
    { cat jac.txt >&2; fail "the spectrum is not {3, -1}"; }

"$sw" sweep pair u0=1,1 --measure final:loss --predict --t-end 1 --out sweep.csv 2>/dev/null
awk -F, '/^point/ { for (i = 1; i <= NF; i++) c[$i] = i; next }
    !/^#/ { if ($c["lambda_plus"] != 3) exit 1; found = 1 } END { exit !found }' sweep.csv ||
    fail "sweep --predict did not take the system's lambda+"

# From the symmetric base (the saddle at 0) a kick's antisymmetric part grows
# like e^{3t}: t_escape = a + (1/3) ln(1/eps) exactly.
"$sw" escape pair u0=0,0 --base symmetric --until 'loss>=0.01' --eps 1e-2:1e-6:5 \
    --rtol 1e-10 --atol 1e-14 > escape.txt 2>&1 || { cat escape.txt >&2; fail "escape --base symmetric failed"; }
awk '/^hyperbolic check:/ { b = $5 + 0; found = 1 } END { exit !(found && (b - 1/3)^2 < 1e-10) }' \
    escape.txt || { cat escape.txt >&2; fail "escape law b is not 1/lambda+ = 1/3"; }
echo "new-system: pair added with one file and one line; list, integrate, jacobian, sweep --predict, escape --base symmetric ok"
