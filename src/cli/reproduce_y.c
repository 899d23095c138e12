/* reproduce: the Y systems of Yüksel et al. (2026): stage-wise convergence,
 * competition against cooperation, the saddle and its escape, Fig. 4 and
 * equal importances. */
#include "stagewise/table.h"
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "reproduce.h"

/* The run's plateau table (written by `stages`) as report rows beside the
 * theoretical levels. */
static void plateau_rows(repro *c, const char *stages_json, size_t want)
{
    json_object *root = json_object_from_file(stages_json), *pl = NULL, *tr = NULL;
    if (!root || !json_object_object_get_ex(root, "plateaus", &pl) ||
        !json_object_object_get_ex(root, "transitions", &tr)) {
        sw_report_failure(c->r, rp_str(c, "cannot read %s", stages_json));
        c->failures++;
        json_object_put(root);
        return;
    }
    size_t np = json_object_array_length(pl), nt = json_object_array_length(tr);
    sw_report_row(c->r, "transitions detected", rp_str(c, "%zu", nt),
                  rp_str(c, "%zu, one per pattern (Yüksel et al., Sec. 3, Fig. 1)", want),
                  nt == want ? "as predicted" : "differs");
    for (size_t k = 0; k < np; k++) {
        json_object *p = json_object_array_get_idx(pl, k), *v;
        double level = json_object_object_get_ex(p, "level", &v) ? json_object_get_double(v) : NAN;
        double th = json_object_object_get_ex(p, "theory", &v) ? json_object_get_double(v) : NAN;
        sw_report_row(c->r, rp_str(c, "plateau %zu level", k), rp_num(c, level),
                      rp_str(c, "L_%zu = %.4g (theory, docs/math.md)", k, th),
                      rp_str(c, "%+.2f%%%s", 100 * (level - th) / th,
                             fabs(level - th) > 0.001 * th
                                 ? ": plateaus are approached like 1/t, so a finite run sits "
                                   "slightly above its level"
                                 : ""));
    }
    for (size_t k = 0; k < nt; k++)
        sw_report_row(c->r, rp_str(c, "transition %zu time", k + 1),
                      rp_num(c, json_object_get_double(json_object_array_get_idx(tr, k))),
                      "none: new (the paper shows curves, not times)",
                      "loss halfway between the plateau levels");
    json_object_put(root);
}
void rp_section_stages(repro *c)
{
    sw_report_section(c->r, "Stage-wise convergence (Yüksel et al., Sec. 3)",
                      "Three heads, three patterns of importance 4 : 2 : 1 (gamma = 2), values "
                      "started at zero and logits at U[-0.01, 0.01]. The loss passes one plateau "
                      "per pattern, at L_j = 1/2 sum_{k>j} lambda_k^2, while the heads first all "
                      "attend to the most important pattern and then split the patterns.");
    if (rp_step(c, "integrate", "y-reduced", "--t-end", "1e4", "--points", "400", "--out",
                rp_path(c, "stages.csv"), NULL) ||
        rp_step(c, "stages", rp_path(c, "stages.csv"), NULL))
        return;
    plateau_rows(c, rp_path(c, "stages.stages.json"), 3);
    rp_plot(c, "stages.png",
            "Loss against log t with the levels L_j (top); attention of each head "
            "on each pattern, colour = pattern, dash = head (bottom).",
            "stages", rp_path(c, "stages.csv"), NULL);
}
void rp_section_competitive(repro *c)
{
    sw_report_section(c->r, "Competitive against cooperative (Yüksel et al., Sec. 3.2)",
                      "Heads started identical stay identical (y-coupled): they all learn the "
                      "most important pattern and stop there, at 1/2 sum_{k>=2} lambda_k^2. The "
                      "same start with every logit perturbed by U[-1e-3, 1e-3] breaks the "
                      "symmetry: after the same competitive phase the heads cooperate and learn "
                      "every pattern.");
    if (rp_step(c, "integrate", "y-coupled", "--t-end", "1e4", "--points", "400", "--out",
                rp_path(c, "coupled.csv"), NULL) ||
        rp_step(c, "integrate", "y-reduced", "eps=1e-3", "--t-end", "1e4", "--points", "400",
                "--out", rp_path(c, "perturbed.csv"), NULL) ||
        rp_step(c, "stages", rp_path(c, "perturbed.csv"), NULL))
        return;
    double lc = rp_csv_pick(rp_path(c, "coupled.csv"), "loss", PICK_LAST, NULL, 0);
    double lp = rp_csv_pick(rp_path(c, "perturbed.csv"), "loss", PICK_LAST, NULL, 0);
    double l1 = rp_meta_value(rp_path(c, "coupled.csv"), "level_1");
    sw_report_row(c->r, "symmetric start: final loss (t = 1e4)", rp_num(c, lc),
                  rp_str(c, "1/2 sum_{k>=2} lambda_k^2 = %.4g (Yüksel et al., Sec. 3.2)", l1),
                  rp_str(c, "%+.2g relative: still approaching it like 1/t", (lc - l1) / l1));
    sw_report_row(c->r, "perturbed start: final loss (t = 1e4)", rp_num(c, lp), "0 (L_3)",
                  "every pattern learned");
    size_t nt = rp_jlen(rp_path(c, "perturbed.stages.json"), "/transitions");
    sw_report_row(c->r, "perturbed start: transitions", rp_str(c, "%zu", nt),
                  "3 (Yüksel et al., Sec. 3.2)", nt == 3 ? "as predicted" : "differs");
    rp_plot(c, "competitive.png",
            "Loss of the symmetric and the perturbed start (top); attention of "
            "each head, symmetric (middle) and perturbed (bottom).",
            "competitive", rp_path(c, "coupled.csv"), rp_path(c, "perturbed.csv"), NULL);
}
void rp_section_escape(repro *c)
{
    sw_report_section(c->r, "Saddles and escape from a symmetric start (Yüksel et al., Sec. 3.3)",
                      "The competitive plateau is a saddle at infinite logits: its Jacobian "
                      "has several unstable directions, the fastest moving one head to the next "
                      "pattern, and refining it never converges to a finite point. From the "
                      "symmetric start perturbed by eps, the escape time grows like "
                      "ln(1/eps)^2 rather than the hyperbolic ln(1/eps) (derivation in "
                      "docs/math.md), which the linear reference saddle shows for contrast.");
    if (rp_step(c, "jacobian", "y-reduced", "--at", "plateau:2", "--t-end", "1e4", "--points",
                "400", "--json", rp_path(c, "spectrum.json"), NULL))
        return;
    const char *sp = rp_path(c, "spectrum.json");
    sw_report_row(
        c->r, "Morse index at the competitive plateau (y-reduced)",
        rp_num(c, rp_jnum(sp, "/morse_index")), "> 0, a saddle (Yüksel et al., Sec. 3.3)",
        rp_str(c, "%g exact zeros: one conserved logit sum per head", rp_jnum(sp, "/near_zero")));
    sw_report_row(c->r, "largest eigenvalue there", rp_num(c, rp_jnum(sp, "/eigenvalues/0/re")),
                  "none: new (the paper gives no spectrum)", "one head moving from lag 1 to lag 2");
    const char *eps = c->quick ? "1e-1:1e-5:5" : "1e-1:1e-9:17";
    if (rp_step(c, "escape", "y-reduced", "--base", "symmetric", "--direction", "random", "--eps",
                eps, "--until", "loss<=1.5", "--t-end", "1e6", "--out", rp_path(c, "escape.csv"),
                NULL) ||
        rp_step(c, "escape", "y-reduced", "--base", "symmetric", "--direction", "random", "--eps",
                c->quick ? "1e-5:1e-7:5" : "1e-5:1e-9:9", "--until", "loss<=1.5", "--t-end", "1e6",
                "--out", rp_path(c, "escape_tail.csv"), NULL) ||
        rp_step(c, "escape", "linear", "--base", "saddle", "--until", "loss>=0.5", "--out",
                rp_path(c, "escape_linear.csv"), NULL))
        return;
    const char *ej = rp_path(c, "escape.json"), *tj = rp_path(c, "escape_tail.json"),
               *lj = rp_path(c, "escape_linear.json");
    const char *law = rp_jstr(c, ej, "/best");
    const char *ftext = rp_jstr(c, ej, rp_str(c, "/laws/%s/formula", law));
    sw_report_row(c->r, "escape-time law from the symmetric start (lowest AIC)", ftext,
                  "a + b ln(1/eps)^2 (docs/math.md)",
                  strcmp(law, "log2") == 0 ? "as derived" : "differs");
    sw_report_row(c->r, "its b, 95% CI, eps = 1e-1..1e-9",
                  rp_str(c, "%.4g [%.4g, %.4g]", rp_jnum(ej, "/laws/log2/params/1/estimate"),
                         rp_jnum(ej, "/laws/log2/params/1/ci95/0"),
                         rp_jnum(ej, "/laws/log2/params/1/ci95/1")),
                  "1/(4 C^2) = 4.15 from re_1 ~ C t^-1/2, C = 0.245 (docs/math.md)",
                  "below: the growth gathered before the t^-1/2 regime shifts ln(1/eps), "
                  "and over finite eps its cross term lowers the slope (docs/math.md)");
    sw_report_row(c->r, "same b over the smallest eps only (1e-5..1e-9)",
                  rp_str(c, "%.4g [%.4g, %.4g]", rp_jnum(tj, "/laws/log2/params/1/estimate"),
                         rp_jnum(tj, "/laws/log2/params/1/ci95/0"),
                         rp_jnum(tj, "/laws/log2/params/1/ci95/1")),
                  "rises towards 4.15 as eps -> 0 (docs/math.md)",
                  "the slope grows with ln(1/eps), as the shift predicts");
    sw_report_row(c->r, "linear saddle: b of a + b ln(1/eps)",
                  rp_num(c, rp_jnum(lj, "/laws/log/params/1/estimate")),
                  rp_str(c, "1/lambda+ = %.4g (hyperbolic saddle, docs/math.md)",
                         rp_jnum(lj, "/inv_lambda_plus")),
                  "hyperbolic, as it must be");
    rp_plot(c, "escape.png",
            "Escape time against eps from the symmetric start, with the three "
            "fitted laws.",
            "escape", rp_path(c, "escape.csv"), NULL);
}
#define Y_LEVELS "--measure", "level:1", "--measure", "level:2", "--measure", "level:3"

void rp_section_fig4(repro *c)
{
    sw_report_section(c->r, "Initialisation scale and importance ratio (Yüksel et al., Fig. 4)",
                      "The y-reduced flow (H = K = 3, T = 16, c = 1) timed at each transition: "
                      "t_level_k is when the loss first falls halfway from L_{k-1} to L_k. "
                      "Several seeds per value. The paper finds slower learning for a smaller "
                      "initialisation and stages that separate as gamma grows.");
    const char *seeds = c->quick ? "seed=1:2:2" : "seed=1:6:6";
    const char *fs = rp_path(c, "fig4_sigma.csv"), *fg = rp_path(c, "fig4_gamma.csv");
    if (rp_sweep(c, fs, "y-reduced", rp_str(c, "sigma=1e-6:1e-1:%s:log", c->quick ? "4" : "11"),
                 seeds, Y_LEVELS, "--solver", "bdf", "--t-end", "1e7", NULL) ||
        rp_sweep(c, fg, "y-reduced", rp_str(c, "gamma=1.25:8:%s:log", c->quick ? "4" : "10"), seeds,
                 Y_LEVELS, "--solver", "bdf", "--t-end", "1e7", NULL))
        return;
    static const struct {
        const char *y, *what, *ref_text, *off;
        double ref;
    } gk[] =
        {
            {"t_level_1", "first transition",
             "-2: 1/lambda_1, lambda_1 = c gamma^(K-1) (docs/math.md)",
             "the first stage is not purely the 1/lambda_1 time scale over this range", -2},
            {"t_level_2", "second transition",
             "> 0: stages separate as gamma grows (Yüksel et al., "
             "Fig. 4 right)",
             "later stages wait on the weaker patterns: a trend, not a law", NAN},
            {"t_level_3", "third transition", "> 0 (Yüksel et al., Fig. 4 right)",
             "later stages wait on the weaker patterns: a trend, not a law", NAN},
        },
      sk[] = {
          {"t_level_1", "first transition",
           "0: the competitive phase does not need the heads to "
           "differ (Yüksel et al., Sec. 3.2)",
           "sigma shifts the start slightly off uniform", 0},
          {"t_level_2", "second transition",
           "< 0: smaller initialisation, slower (Yüksel et al., "
           "Fig. 4 left)",
           "sets in through the ln(1/sigma)^2 escape law of the symmetric saddle "
           "(docs/math.md), hence a small power",
           NAN},
          {"t_level_3", "third transition", "< 0 (Yüksel et al., Fig. 4 left)",
           "the third stage waits on the second", NAN},
      };
    const char *gf[3], *sf[3];
    for (size_t k = 0; k < 3; k++)
        if (!(gf[k] = rp_fit_row(c, fg, gk[k].y, "C * gamma^a", 1,
                                 rp_str(c, "exponent of gamma, %s (%s)", gk[k].what, gk[k].y),
                                 gk[k].ref, gk[k].ref_text, gk[k].off)))
            return;
    for (size_t k = 0; k < 3; k++)
        if (!(sf[k] = rp_fit_row(c, fs, sk[k].y, "C * sigma^a", 1,
                                 rp_str(c, "exponent of sigma, %s (%s)", sk[k].what, sk[k].y),
                                 sk[k].ref, sk[k].ref_text, sk[k].off)))
            return;
    const char *keys = "keys=first transition|second|third";
    rp_plot(c, "fig4_gamma.png",
            "Transition times against the importance ratio, log-log, one point "
            "per seed, with fitted power laws: near gamma = 1 the three nearly "
            "merge; as gamma grows the first comes sooner and the last later.",
            "fit", gf[0], gf[1], gf[2], "--set", keys, "--set",
            "xlabel=gamma (importance ratio, lambda_k = c gamma^(K-k))", "--set",
            "ylabel=transition time t_level_k (gradient-flow units)", NULL);
    rp_plot(c, "fig4_sigma.png",
            "Transition times against the initialisation scale, log-log, one "
            "point per seed, with fitted power laws: the first transition does not "
            "depend on sigma, the later ones slow down as sigma shrinks.",
            "fit", sf[0], sf[1], sf[2], "--set", keys, "--set",
            "xlabel=sigma (logits start iid U[-sigma, sigma])", "--set",
            "ylabel=transition time t_level_k (gradient-flow units)", NULL);
}
/* The first t at which some head holds pattern (or lag group) k: its
 * attention att_h<h>_k<k> reaches 1/2.  NAN if none does. */
static double first_hold(const char *file, size_t k)
{
    sw_table tb;
    sw_err e;
    double t = NAN;
    if (sw_table_read(file, &tb, &e))
        return NAN;
    char suffix[32];
    snprintf(suffix, sizeof suffix, "_k%zu", k);
    for (size_t i = 0; i < tb.rows && isnan(t); i++)
        for (size_t j = 0; j < tb.cols; j++) {
            const char *nm = tb.names[j];
            size_t ln = strlen(nm), ls = strlen(suffix);
            if (strncmp(nm, "att_h", 5) == 0 && ln > ls && strcmp(nm + ln - ls, suffix) == 0 &&
                sw_table_at(&tb, i, (int)j) >= 0.5) {
                t = sw_table_at(&tb, i, 0);
                break;
            }
        }
    sw_table_clear(&tb);
    return t;
}
/* Over the rows of a y sweep with level:1..3 (where column by equals
 * val): how the three patterns came, by the gaps between the times the
 * loss passes each level.  Times more than a factor 3 apart are separate
 * stages: one smooth drop from L_0 to 0 passes the three levels within a
 * factor 2.5 (every seed at sigma <= 0.3).  n[0]: one stage, n[1]: one
 * pattern then two together, n[2]: two together then one, n[3]: three
 * stages, n[4]: a level not reached. */
static void stage_pattern(const char *file, const char *by, double val, size_t n[5])
{
    sw_table tb;
    sw_err e;
    memset(n, 0, 5 * sizeof *n);
    if (sw_table_read(file, &tb, &e))
        return;
    int k1 = sw_table_col(&tb, "t_level_1"), k2 = sw_table_col(&tb, "t_level_2"),
        k3 = sw_table_col(&tb, "t_level_3"), kb = sw_table_col(&tb, by);
    for (size_t i = 0; k1 >= 0 && k2 >= 0 && k3 >= 0 && kb >= 0 && i < tb.rows; i++) {
        if (sw_table_at(&tb, i, kb) != val)
            continue;
        double t1 = sw_table_at(&tb, i, k1), t2 = sw_table_at(&tb, i, k2),
               t3 = sw_table_at(&tb, i, k3);
        if (!(isfinite(t1) && isfinite(t2) && isfinite(t3)))
            n[4]++;
        else
            n[(t2 > 3 * t1 ? 1 : 0) + (t3 > 3 * t2 ? 2 : 0)]++;
    }
    sw_table_clear(&tb);
}
static const char *pattern_text(repro *c, const size_t n[5])
{
    return rp_str(c, "%zu one stage, %zu one then two, %zu two then one, %zu three%s", n[0], n[1],
                  n[2], n[3], n[4] ? rp_str(c, ", %zu unfinished", n[4]) : "");
}
void rp_section_gamma1(repro *c)
{
    sw_report_section(
        c->r, "Equal importances, gamma = 1 (Yüksel et al., Sec. 2, Fig. 4 right)",
        "With gamma = 1 the paper's transformer learns in two stages: one pattern first, then "
        "the other two together. Here the y-reduced flow is classified seed by seed from its "
        "level times (separate stages: more than a factor 3 apart), over the initialisation scale "
        "sigma and the number of heads; the Markov transformer is timed by when some head "
        "first holds each lag group (attention >= 1/2; separate stages: more than a factor 2 "
        "apart, as these times are sharper than the loss's).");
    const char *seeds = c->quick ? "seed=1:2:2" : "seed=1:8:8";
    const char *f3 = rp_path(c, "gamma1.csv"), *f6 = rp_path(c, "gamma1_H6.csv");
    if (rp_sweep(c, f3, "y-reduced", "gamma=1", "sigma=0.01,0.1,0.3,1,2", seeds, Y_LEVELS,
                 "--solver", "bdf", "--t-end", "1e7", NULL) ||
        rp_sweep(c, f6, "y-reduced", "gamma=1", "H=6", "sigma=0.01,1", seeds, Y_LEVELS, "--solver",
                 "bdf", "--t-end", "1e7", NULL))
        return;
    static const struct {
        const char *file;
        size_t H;
        double sigma;
    } rows[] = {{"gamma1.csv", 3, 0.01}, {"gamma1.csv", 3, 0.1}, {"gamma1.csv", 3, 0.3},
                {"gamma1.csv", 3, 1},    {"gamma1.csv", 3, 2},   {"gamma1_H6.csv", 6, 0.01},
                {"gamma1_H6.csv", 6, 1}};
    const char *ref = "two stages, one pattern then two (Yüksel et al., Sec. 2)";
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        size_t n[5];
        stage_pattern(rp_path(c, rows[i].file), "sigma", rows[i].sigma, n);
        size_t all = n[0] + n[1] + n[2] + n[3] + n[4];
        sw_report_row(c->r,
                      rp_str(c, "y-reduced, H = %zu, sigma = %g: seeds by stage pattern", rows[i].H,
                             rows[i].sigma),
                      pattern_text(c, n), ref,
                      n[0] == all ? "one stage: the competitive phase carries the heads to the "
                                    "same mixture of the equal patterns, then they split at once"
                                  : rp_str(c,
                                           "several stages in %zu of %zu seeds: a large "
                                           "initialisation starts heads on different patterns; "
                                           "the paper's order in %zu",
                                           all - n[0], all, n[1]));
    }
    const char *runs[][3] = {{"gamma1_s001.csv", "sigma=0.01", "seed=1"},
                             {"gamma1_s1a.csv", "sigma=1", "seed=1"},
                             {"gamma1_s1b.csv", "sigma=1", "seed=2"}};
    for (size_t i = 0; i < 3; i++)
        if (rp_step(c, "integrate", "y-reduced", "gamma=1", runs[i][1], runs[i][2], "--solver",
                    "bdf", "--t-end", "1e5", "--t-first", "1e-2", "--points", "300", "--out",
                    rp_path(c, runs[i][0]), NULL))
            return;
    rp_plot(c, "gamma1.png",
            "Loss of the y-reduced flow at gamma = 1 for a small and a large "
            "initialisation, log t: one drop, or two with an intermediate "
            "plateau at 0.5 or at 1.",
            "xy", rp_path(c, runs[0][0]), rp_path(c, runs[1][0]), rp_path(c, runs[2][0]), "--set",
            "x=column(\"t\")", "--set", "ys=column(\"loss\")", "--set",
            "keys=sigma = 0.01, seed 1: one stage|sigma = 1, seed 1: two, then one|"
            "sigma = 1, seed 2: one, then two (as in the paper)",
            "--set", "logx=1", "--set", "with=lines", "--set", "keypos=bottom left", "--set",
            "xlabel=t (gradient-flow units)", "--set",
            "ylabel=loss (levels 1.5, 1, 0.5, 0 after 0, 1, 2, 3 patterns)", "--set",
            "title=gamma = 1; y-reduced: H = K = 3, T = 16, c = 1", NULL);
    if (c->quick)
        return;
    /* c = 3 makes every group three times as informative; seeds differ in the
     * chain, the data and the initial weights. */
    static const char *const runs_m[][2] = {{"1", "1"}, {"3", "1"}, {"3", "2"}, {"3", "3"}};
    for (size_t i = 0; i < sizeof runs_m / sizeof *runs_m; i++) {
        const char *f =
            rp_path(c, rp_str(c, "gamma1_markov_c%s_s%s.csv", runs_m[i][0], runs_m[i][1]));
        if (rp_step(c, "train", "markov", "gamma=1", rp_str(c, "c=%s", runs_m[i][0]),
                    rp_str(c, "seed=%s", runs_m[i][1]), "--optim", "adam", "--lr", "0.01",
                    "--batch", "128", "--steps", "900", "--grid", "log", "--points", "40", "--out",
                    f, NULL))
            return;
        double h[3];
        for (size_t k = 0; k < 3; k++)
            h[k] = first_hold(f, k + 1);
        double lo = fmin(h[0], fmin(h[1], h[2])), hi = fmax(h[0], fmax(h[1], h[2])),
               mid = h[0] + h[1] + h[2] - lo - hi;
        int sep1 = mid > 2 * lo, sep2 = hi > 2 * mid;
        sw_report_row(c->r,
                      rp_str(c,
                             "Markov transformer, gamma = 1, c = %s, seed %s: t at which lag "
                             "group 1, 2, 3 is first held",
                             runs_m[i][0], runs_m[i][1]),
                      rp_str(c, "%.3g, %.3g, %.3g", h[0], h[1], h[2]), ref,
                      isnan(lo + mid + hi) ? "a group is never held by t = 9"
                      : sep1 && !sep2      ? "two stages: one group, then the other two "
                                             "together, as in the paper"
                      : !sep1 && !sep2     ? "one stage: all within a factor 2"
                      : sep2 && !sep1      ? "two stages, but two groups first, then the "
                                             "third"
                                           : "three stages");
        if (i == 1)
            rp_plot(c, "gamma1_markov.png",
                    "The Markov transformer at gamma = 1, c = 3, seed 1: KL to each "
                    "truncated truth (top) and attention on each lag group (bottom) "
                    "against t = step x lr.",
                    "markov", f, NULL);
    }
}
