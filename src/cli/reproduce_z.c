/* reproduce: the Z toy of Zucchet et al. (2025): its plateau-time laws, and
 * the paper's own plateau criteria with their prefactors. */
#include "stagewise/table.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "reproduce.h"

/* Zucchet et al. (2025)'s fitted laws, from a sweep row's d, T, B, p: the
 * in-context one, and the cross-sample one with its repetition factor as
 * printed, (1-p)^2, or as the start eigenvalue has it, 1 - p^2. */
typedef enum { LAW_INCONTEXT, LAW_CROSS_PRINTED, LAW_CROSS_EIG } zlaw;
static double zlaw_value(zlaw law, double d, double T, double B, double p)
{
    switch (law) {
    case LAW_INCONTEXT:
        return 1.51 * pow(d, 0.49) * pow(T / B, 0.99);
    case LAW_CROSS_PRINTED:
        return 2.15 * pow(sqrt(d) * T / sqrt(p * p * d + (1 - p) * (1 - p)), 1.02);
    default:
        return 2.15 * pow(sqrt(d) * T / sqrt(p * p * d + 1 - p * p), 1.02);
    }
}
/* Over the rows of a sweep: the smallest and largest ratio of column y to
 * the law, and the ratio in the first row; NAN when absent. */
static void law_ratio(const char *file, const char *y, zlaw law, double r[3])
{
    sw_table tb;
    sw_err e;
    r[0] = r[1] = r[2] = NAN;
    if (sw_table_read(file, &tb, &e))
        return;
    int ky = sw_table_col(&tb, y), kd = sw_table_col(&tb, "d"), kT = sw_table_col(&tb, "T"),
        kB = sw_table_col(&tb, "B"), kp = sw_table_col(&tb, "p");
    for (size_t i = 0; ky >= 0 && kd >= 0 && kT >= 0 && i < tb.rows; i++) {
        double q = sw_table_at(&tb, i, ky) / zlaw_value(law, sw_table_at(&tb, i, kd),
                                                        sw_table_at(&tb, i, kT),
                                                        kB >= 0 ? sw_table_at(&tb, i, kB) : 1,
                                                        kp >= 0 ? sw_table_at(&tb, i, kp) : 0);
        if (i == 0)
            r[2] = q;
        r[0] = i == 0 || q < r[0] ? q : r[0];
        r[1] = i == 0 || q > r[1] ? q : r[1];
    }
    sw_table_clear(&tb);
}
/* A `sweep z-reduced` with the options every Z sweep shares. */
static int zsweep(repro *c, const char *file, const char *a1, const char *a2, const char *a3,
                  const char *a4, const char *measure1, const char *measure2)
{
    /* The words end at the first NULL: without measure2, at its --measure. */
    return rp_sweep(c, file, "z-reduced", a1, a2, a3, a4, "--predict", "--t-end", "1e9",
                    "--measure", measure1, measure2 ? "--measure" : NULL, measure2, NULL);
}
void rp_section_zlaws(repro *c)
{
    sw_report_section(c->r, "Plateau-time laws (Zucchet et al. 2025)",
                      "Time until the loss of z-reduced falls to half its start, swept over "
                      "dimension d, sequence length T and in-context repetition B (tied copies "
                      "share one logit, untied ones do not), and fitted as power laws; beside "
                      "each fit, the same fit of 1/lambda+, the start's largest eigenvalue "
                      "(--predict), whose leading-order law is derived in docs/math.md. "
                      "Zucchet et al. fit T_plateau = 1.51 d^0.49 (T/B)^0.99; the next section "
                      "compares their prefactor under their own plateau criterion.");
    const char *n = c->quick ? "4" : "11", *nb = c->quick ? "4" : "9";
    const char *eig = "the leading-order exponent; the exact eigenvalue's corrections bend it "
                      "over this finite range (docs/math.md)";
    struct {
        const char *file, *axis, *fixed1, *fixed2, *law, *what, *ref_text, *off, *what2, *ref2_text;
        double ref, ref2;
    } sw[] = {
        {"z_d.csv", rp_str(c, "d=4:4096:%s:log", n), "T=1024", "tied=0", "C * d^a",
         "exponent of d (T = 1024)", "0.49 (Zucchet et al. 2025, in-context law)",
         "outside: see the prefactor section", "  same for 1/lambda+", "0.5 (docs/math.md)", 0.49,
         0.5},
        {"z_T.csv", rp_str(c, "T=16:16384:%s:log", n), "d=16", "tied=0", "C * T^a",
         "exponent of T (d = 16)", "0.99 (Zucchet et al. 2025)",
         "outside: see the prefactor section", "  same for 1/lambda+", "1 (docs/math.md)", 0.99, 1},
        {"z_B_tied.csv", rp_str(c, "B=1:256:%s:log", nb), "T=4096", "tied=1", "C * B^a",
         "exponent of B, tied copies (T = 4096, d = 16)", "-0.99 (Zucchet et al. 2025)",
         "outside: see the prefactor section", "  same for 1/lambda+", "-1 (docs/math.md)", -0.99,
         -1},
        {"z_B_untied.csv", rp_str(c, "B=1:256:%s:log", nb), "T=4096", "tied=0", "C * B^a",
         "exponent of B, untied copies (T = 4096, d = 16)",
         "-0.5 (docs/math.md: one logit per copy); the paper's -0.99 is for tied copies",
         "untied copies each keep their own logit, so the eigenvalue gives B^-1/2, not the "
         "paper's -0.99 (which tied copies reproduce above); the finite-B/T factor "
         "sqrt(1 - B/T) and the log factor bend it a little further",
         "  same for 1/lambda+", "-0.5 (docs/math.md)", -0.5, -0.5},
    };
    const char *fits[4][2] = {{0}};
    for (size_t i = 0; i < sizeof sw / sizeof *sw; i++) {
        const char *f = rp_path(c, sw[i].file);
        if (zsweep(c, f, sw[i].axis, sw[i].fixed1, sw[i].fixed2,
                   strncmp(sw[i].axis, "B", 1) == 0 ? "d=16" : "B=1", "plateau", NULL))
            return;
        fits[i][0] = rp_fit_row(c, f, "t_plateau", sw[i].law, 1, sw[i].what, sw[i].ref,
                                sw[i].ref_text, sw[i].off);
        fits[i][1] = rp_fit_row(c, f, "t_scale", sw[i].law, 1, sw[i].what2, sw[i].ref2,
                                sw[i].ref2_text, eig);
        if (!fits[i][0] || !fits[i][1])
            return;
    }
    const char *fp = rp_path(c, "z_p.csv");
    if (zsweep(c, fp, rp_str(c, "p=0:0.95:%s", c->quick ? "5" : "20"), "d=16", "T=256", "B=1",
               "plateau", NULL))
        return;
    const char *pfit = rp_fit_row(
        c, fp, "t_plateau", "C * t_scale^a", 1,
        "cross-sample repetition p = 0..0.95 (d = 16, T = 256): exponent of 1/lambda+", 1,
        "1 if lambda+ alone set the plateau (docs/math.md)",
        "the plateau is 1/lambda+ times a logarithm of the start's drive, and that drive "
        "(c_par = 1 - p + p d) grows with p too, so the exponent falls short of 1; the next "
        "section settles the repetition factor");
    static const char *const axis[] = {"d (token dimension)", "T (sequence length)"};
    static const char *const png[] = {"z_d.png", "z_T.png"};
    for (size_t i = 0; i < 2; i++)
        rp_plot(c, png[i],
                rp_str(c,
                       "Plateau time and 1/lambda+ against %s, log-log, with the "
                       "fitted power laws and their exponents (95%% intervals).",
                       axis[i]),
                "fit", fits[i][0], fits[i][1], "--set",
                "keys=plateau time (loss at half its start)|1/lambda+", "--set",
                "keypos=bottom right", "--set", rp_str(c, "xlabel=%s", axis[i]), "--set",
                "ylabel=time (gradient-flow units)", NULL);
    rp_plot(c, "z_B.png",
            "Plateau time and 1/lambda+ against B, tied copies (one shared logit: B^-1) and "
            "untied ones (B^-1/2), log-log.",
            "fit", fits[2][0], fits[2][1], fits[3][0], fits[3][1], "--set",
            "keys=tied, plateau|tied, 1/lambda+|untied, plateau|untied, 1/lambda+", "--set",
            "xlabel=B (copies of the relevant token)", "--set", "ylabel=time (gradient-flow units)",
            "--set",
            "title=in-context repetition, tied and untied copies; z-reduced: d = 16, T = 4096, "
            "p = 0",
            NULL);
    if (pfit)
        rp_plot(c, "z_p.png",
                "Cross-sample repetition: plateau time against 1/lambda+ as p runs "
                "from 0 to 0.95 (d = 16, T = 256), log-log, with the fitted power law.",
                "fit", pfit, "--set", "keys=p = 0..0.95", "--set", "keypos=bottom right", "--set",
                "xlabel=1/lambda+ (gradient-flow units)", "--set",
                "ylabel=plateau time (gradient-flow units)", NULL);
}
void rp_section_criteria(repro *c)
{
    sw_report_section(
        c->r, "The papers' plateau criteria and prefactors (Zucchet et al. 2025)",
        "Zucchet et al. time the plateau until the loss falls to 0.2 of its start (0.1), with "
        "tokens x ~ N(0, I/d) and loss 1/2 E|y - yhat|^2; our x ~ N(0, I_d) with loss "
        "1/(2d) E|y - yhat|^2 is the same function of (W, a), so gradient-flow times agree "
        "without conversion (docs/math.md) and their laws compare in full, prefactor included. "
        "Cross-sample runs train at repetition p and are tested on p = 0 data (loss_p0, the "
        "loss with x* always fresh) until it reaches 0.4. Ratios near 1 and flat across a sweep "
        "mean the law holds with its prefactor.");
    const char *n = c->quick ? "4" : "9";
    const char *fd = rp_path(c, "zc_d.csv"), *fT = rp_path(c, "zc_T.csv"),
               *fB = rp_path(c, "zc_B.csv");
    if (zsweep(c, fd, rp_str(c, "d=4:4096:%s:log", n), "T=1024", "B=1", "tied=0", "plateau:0.2",
               NULL) ||
        zsweep(c, fT, rp_str(c, "T=16:16384:%s:log", n), "d=16", "B=1", "tied=0", "plateau:0.2",
               NULL) ||
        zsweep(c, fB, rp_str(c, "B=1:256:%s:log", n), "T=4096", "d=16", "tied=1", "plateau:0.2",
               NULL))
        return;
    const char *files[] = {fd, fT, fB};
    const char *what[] = {"d = 4..4096 (T = 1024)", "T = 16..16384 (d = 16)",
                          "B = 1..256, tied (T = 4096, d = 16)"};
    const char *off[] = {
        "beyond 10% somewhere: the d^0.49 of the fit and our d^0.5 part ways over three decades",
        "beyond 10% at the shortest T, where S = B/T is not small and the start eigenvalue's "
        "(1 - B/T) factors (docs/math.md) leave the power law",
        "beyond 10% at the largest B, where B/T is not small and the start eigenvalue's "
        "(1 - B/T) factors (docs/math.md) leave the power law"};
    for (size_t i = 0; i < 3; i++) {
        double r[3];
        law_ratio(files[i], "t_plateau_0.2", LAW_INCONTEXT, r);
        sw_report_row(c->r, rp_str(c, "t(loss <= 0.1) / (1.51 d^0.49 (T/B)^0.99), %s", what[i]),
                      rp_str(c, "%.3f to %.3f", r[0], r[1]),
                      "1 (Zucchet et al. 2025, in-context law)",
                      fabs(r[0] - 1) < 0.1 && fabs(r[1] - 1) < 0.1
                          ? "prefactor and exponents within 10%: their time is gradient-flow "
                            "time"
                          : off[i]);
    }
    rp_plot(c, "criteria_law.png",
            "Plateau time by the paper's criterion against the paper's fitted "
            "law, log-log; the dashed line is equality.",
            "xy", fd, fT, fB, "--set",
            "x=1.51*column(\"d\")**0.49*(column(\"T\")/column(\"B\"))**0.99", "--set",
            "ys=column(\"t_plateau_0.2\")", "--set", "logx=1", "--set", "logy=1", "--set", "diag=1",
            "--set", "keys=d = 4..4096|T = 16..16384|B = 1..256 (tied)", "--set",
            "xlabel=law of Zucchet et al. 1.51 d^0.49 (T/B)^0.99 (gradient-flow units)", "--set",
            "ylabel=ours: t at loss 0.1 (gradient-flow units)", "--set",
            "title=in-context law, prefactor included; z-reduced, p = 0", NULL);

    static const char *const ds[] = {"4", "16", "64"};
    const char *pf[3];
    for (size_t i = 0; i < 3; i++) {
        pf[i] = rp_path(c, rp_str(c, "zc_p%s.csv", ds[i]));
        if (zsweep(c, pf[i], rp_str(c, "p=0:0.95:%s", c->quick ? "5" : "20"),
                   rp_str(c, "d=%s", ds[i]), "T=256", "B=1", "event:loss_p0<=0.4", "plateau:0.2"))
            return;
    }
    for (size_t i = 0; i < 3; i++) {
        static const char *const col[] = {"t_event", "t_plateau_0.2"};
        static const char *const crit[] = {"t(loss_p0 <= 0.4)", "t(loss <= 0.1)"};
        for (size_t j = 0; j < 2; j++) {
            double rs[3], re[3];
            law_ratio(pf[i], col[j], LAW_CROSS_PRINTED, rs);
            law_ratio(pf[i], col[j], LAW_CROSS_EIG, re);
            sw_report_row(
                c->r,
                rp_str(c,
                       "d = %s, T = 256, p = 0..0.95: %s / 2.15 (sqrt(d) T / sqrt(p^2 d + F))^1.02",
                       ds[i], crit[j]),
                rp_str(c, "F = (1-p)^2: %.3f to %.3f; F = 1-p^2: %.3f to %.3f", rs[0], rs[1], re[0],
                       re[1]),
                "flat in p for the right F (Zucchet et al. 2025, cross-sample law)",
                rp_str(c, "spread %.0f%% against %.0f%%; %s", 100 * (rs[1] / rs[0] - 1),
                       100 * (re[1] / re[0] - 1),
                       re[1] / re[0] < 1.05 ? "1 - p^2 holds, (1-p)^2 does not"
                       : j == 0
                           ? "neither holds at large p: the p = 0 test loss waits for the "
                             "fresh-token map, learned at rate (1-p)/d once attention is sparse"
                           : "neither holds at large p d: the loss then falls in two steps, "
                             "the repeated direction first"));
        }
    }
    {
        double r[3];
        law_ratio(pf[1], "t_event", LAW_CROSS_EIG, r);
        sw_report_row(c->r,
                      "cross-sample law at p = 0 (d = 16, T = 256): ours / 2.15 (sqrt(d) T)^1.02",
                      rp_num(c, r[2]), "1 (Zucchet et al. 2025, cross-sample law)",
                      rp_str(c,
                             "the law's prefactor is %.1fx ours, and as far above the paper's own "
                             "in-context law (next row)",
                             1 / r[2]));
    }
    sw_report_row(c->r,
                  "the paper's two laws at p = 0 (d = 16, T = 256): in-context / cross-sample",
                  rp_num(c, zlaw_value(LAW_INCONTEXT, 16, 256, 1, 0) /
                                zlaw_value(LAW_CROSS_EIG, 16, 256, 1, 0)),
                  "1 if the two fits agree (Zucchet et al. 2025)",
                  "they do not: the cross-sample fit runs 1.8x above the in-context fit, which "
                  "ours follows within 10%; the authors' talk prints sqrt(dT) in this law, "
                  "which would contradict the in-context T^0.99");
    const char *law = "2.15*(sqrt(column(\"d\"))*column(\"T\")/"
                      "sqrt(column(\"p\")**2*column(\"d\")+%s))**1.02";
    rp_plot(c, "criteria_p.png",
            "Measured time over each candidate cross-sample law against p: the "
            "eigenvalue's 1 - p^2 keeps the ratio flat at d = 4, where the two "
            "differ most; at larger d and p the p = 0 test loss lags (the fresh "
            "direction learns at rate (1-p)/d), which neither form describes.",
            "xy", pf[0], pf[1], pf[2], "--set", "x=column(\"p\")", "--set",
            rp_str(c, "ys=column(\"t_event\")/(%s)|column(\"t_event\")/(%s)",
                   rp_str(c, law, "(1-column(\"p\"))**2"), rp_str(c, law, "1-column(\"p\")**2")),
            "--set",
            "keys=d = 4, (1-p)^2|d = 4, 1-p^2|d = 16, (1-p)^2|d = 16, 1-p^2|d = 64, "
            "(1-p)^2|d = 64, 1-p^2",
            "--set", "xlabel=p (probability that x* is the repeated token)", "--set",
            "ylabel=t(loss_p0 <= 0.4) / law (ratio, no unit)", "--set",
            "title=cross-sample law with (1-p)^2 or 1-p^2; z-reduced: T = 256, B = 1, "
            "tested on p = 0 data",
            NULL);
}
