/* reproduce: discrete training against the flows, and the Markov-chain
 * transformer of Yüksel et al. (2026), Sec. 2.2 and Fig. 5. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "reproduce.h"

void rp_section_crosscheck(repro *c)
{
    sw_report_section(c->r, "Discrete training against the flows",
                      "The ODEs are population gradient flows; the trainer takes discrete "
                      "steps on the same models. With full-batch population gradients the "
                      "deviation is the Euler error and must halve with the step; with sampled "
                      "minibatches (SGD) the plateau must end at the same t = step x lr.");
    const char *steps = c->quick ? "2000" : "10000", *steps2 = c->quick ? "4000" : "20000";
    if (rp_step(c, "crosscheck", "y-reduced", "--lr", "0.01", "--steps", steps, "--out",
                rp_path(c, "cross_y_lr01.csv"), NULL) ||
        rp_step(c, "crosscheck", "y-reduced", "--lr", "0.005", "--steps", steps2, "--out",
                rp_path(c, "cross_y_lr005.csv"), NULL))
        return;
    double d1 = rp_csv_pick(rp_path(c, "cross_y_lr01.csv"), "max_dev", PICK_MAX, NULL, 0);
    double d2 = rp_csv_pick(rp_path(c, "cross_y_lr005.csv"), "max_dev", PICK_MAX, NULL, 0);
    sw_report_row(c->r, "y-reduced vs GD, largest deviation, lr = 0.01", rp_num(c, d1),
                  "O(lr): Euler's method (docs/math.md)",
                  rp_str(c, "to t = %s", c->quick ? "20" : "100"));
    sw_report_row(c->r, "same, lr = 0.005", rp_num(c, d2), "half of the above (O(lr))",
                  rp_str(c, "ratio %.3f", d2 / d1));
    rp_plot(c, "crosscheck.png",
            "Full-batch gradient descent on y-full's model against the y-reduced "
            "flow: loss of both against t = step x lr (top), largest deviation "
            "over the columns (bottom, log scale), for two learning rates.",
            "crosscheck", rp_path(c, "cross_y_lr01.csv"), rp_path(c, "cross_y_lr005.csv"), "--set",
            "keys=lr = 0.01|lr = 0.005", NULL);
    /* t = step x lr must pass the plateau's end near t = 350. */
    if (rp_step(c, "train", "toy", "--optim", "sgd", "--batch", "32", "--lr", "0.2", "--steps",
                c->quick ? "2000" : "5000", "--eval-every", "10", "--out",
                rp_path(c, "toy_sgd.csv"), NULL) ||
        rp_step(c, "integrate", "z-reduced", "--until", "loss<=0.25", "--out",
                rp_path(c, "zred.csv"), NULL) ||
        rp_step(c, "integrate", "z-reduced", "--t-end", "1000", "--grid", "linear", "--points",
                "201", "--out", rp_path(c, "zred_curve.csv"), NULL))
        return;
    double tt = rp_csv_pick(rp_path(c, "toy_sgd.csv"), "t", PICK_FIRST_BELOW, "loss", 0.25);
    double tz = rp_csv_pick(rp_path(c, "zred.csv"), "t", PICK_LAST, NULL, 0);
    sw_report_row(
        c->r, "toy SGD: loss <= 1/4 first at t", rp_num(c, tt),
        rp_str(c, "z-reduced: %.4g (the flow)", tz),
        rp_str(c, "%+.2f%%, within the 10-step evaluation spacing (t = 2)", 100 * (tt - tz) / tz));
    rp_plot(c, "toy.png",
            "The sampled-minibatch trainer on z-full's model and the z-reduced "
            "flow: the plateau ends at the same t.",
            "xy", rp_path(c, "toy_sgd.csv"), rp_path(c, "zred_curve.csv"), "--set",
            "x=column(\"t\")", "--set", "ys=column(\"loss\")", "--set",
            "keys=SGD, batch 32, lr 0.2 (t = step x lr)|z-reduced flow", "--set", "with=lines",
            "--set", "keypos=top right", "--set",
            "xlabel=t (gradient-flow units; step x lr for the trainer)", "--set", "ylabel=loss",
            "--set", "title=toy trainer against the flow; d = 16, T = 64, B = 1, p = 0", NULL);
}
void rp_section_markov(repro *c)
{
    sw_report_section(c->r, "The Markov-chain transformer (Yüksel et al., Sec. 2, Figs. 3 and 5)",
                      "The minimal transformer (S = 10 states, context 32, three heads, lag "
                      "groups of importance 4 : 2 : 1) trained with Adam (lr 0.01) on fresh "
                      "sequences learns in stages: its KL divergence to the truth truncated to "
                      "the first j groups is smallest for j = 1, then j = 2, while j = 3 keeps "
                      "falling. Times are t = step x lr, as in the figure. With a small fixed "
                      "training set, early stopping keeps an earlier, shorter-context model.");
    const char *steps = c->quick ? "300" : "3000";
    if (rp_step(c, "train", "markov", "--optim", "adam", "--lr", "0.01", "--batch", "128",
                "--steps", steps, "--grid", "log", "--points", "60", "--out",
                rp_path(c, "markov.csv"), NULL))
        return;
    const char *mk = rp_path(c, "markov.csv");
    double t1 = rp_csv_pick(mk, "t", PICK_AT_MIN, "kl_1", 0),
           t2 = rp_csv_pick(mk, "t", PICK_AT_MIN, "kl_2", 0);
    sw_report_row(c->r, "t where KL to truth j = 1 is smallest",
                  rp_str(c, "%.4g (step %.0f)", t1, t1 / 0.01),
                  "the first of the minima (Yüksel et al., Fig. 3)",
                  "their step counts are for another optimiser scale, "
                  "so only the order compares");
    sw_report_row(
        c->r, "t where KL to truth j = 2 is smallest", rp_str(c, "%.4g (step %.0f)", t2, t2 / 0.01),
        "after j = 1's (Yüksel et al., Fig. 3)", t2 > t1 ? "in the paper's order" : "out of order");
    sw_report_row(c->r, "final KL to the full truth (j = 3)",
                  rp_num(c, rp_csv_pick(mk, "kl_3", PICK_LAST, NULL, 0)),
                  "still falling (Yüksel et al., Fig. 3)", rp_str(c, "at step %s", steps));
    rp_plot(c, "markov.png",
            "KL to each truncated truth (top) and each head's attention on each "
            "lag group (bottom), against t = step x lr.",
            "markov", mk, NULL);
    static const char *const sizes[] = {"32", "1024", "4096"};
    const char *files[3];
    size_t nf = c->quick ? 1 : 3;
    for (size_t i = 0; i < nf; i++) {
        const char *f = files[i] = rp_path(c, rp_str(c, "fig5_%s.csv", sizes[i]));
        if (rp_step(c, "train", "markov", "--optim", "adam", "--lr", "0.01", "--batch", "32",
                    "--steps", "6000", "--eval-every", "20", "--n-train", sizes[i], "--patience",
                    "15", "--out", f, NULL))
            return;
        /* The kept model is the row with the lowest held-out loss: which
         * truncated truth is it closest to? */
        double kl[4];
        size_t best = 0;
        for (size_t j = 0; j < 4; j++) {
            kl[j] = rp_csv_pick(f, rp_str(c, "kl_%zu", j), PICK_AT_MIN, "loss", 0);
            if (kl[j] < kl[best])
                best = j;
        }
        size_t want = i + 1;
        sw_report_row(c->r, rp_str(c, "n_train = %s: kept model closest to truth j =", sizes[i]),
                      rp_str(c, "%zu", best),
                      rp_str(c, "%zu (Yüksel et al., Fig. 5: fewer stages with less data)", want),
                      best == want ? rp_str(c, "as in the paper; KL %.3g", kl[best])
                                   : rp_str(c, "differs; KL %.3g", kl[best]));
    }
    /* The words stop at the first NULL: the options go before the inputs. */
    rp_plot(c, "fig5.png",
            "Early stopping on fixed training sets (Yüksel et al., Fig. 5): held-out loss and KL "
            "to each truncated truth against t = step x lr, one panel per training-set size; "
            "the dashed line marks the kept model (lowest held-out loss).",
            "fig5", "--set", "keys=n_train = 32|n_train = 1024|n_train = 4096", files[0],
            nf > 1 ? files[1] : NULL, nf > 1 ? files[2] : NULL, NULL);
}
