# Early stopping on fixed training sets (Yuksel et al., Fig. 5): one panel
# per input, the held-out loss and the KL to each truncated truth against
# t = step x lr, with a dashed line at the kept model (lowest held-out
# loss).  Inputs: `stagewise train markov --n-train N --patience P` CSVs.
# Variables from `stagewise plot`: in1.., n, kls, out; optional --set keys
# ('|'-separated panel names, e.g. the training-set sizes).
set terminal pngcairo size 900,300 * n + 60 font ",11"
set output out
set datafile separator ","
set datafile columnheaders
nth(s, i) = i <= 1 ? (strstrt(s, "|") ? s[1:strstrt(s, "|") - 1] : s) : nth(s[strstrt(s, "|") + 1:], i - 1)
# Fixed margins keep the panels aligned whatever their keys.
set lmargin at screen 0.11
set rmargin at screen 0.72
set multiplot layout n,1 title "early stopping: KL to the truth truncated to groups <= j (left axis), held-out loss (right axis)\n" . fixed1 noenhanced font ",9"
set key outside right noenhanced
set logscale y
set ylabel "KL (nats)"
set y2label "held-out loss (nats)"
set y2tics
set ytics nomirror
do for [i=1:n] {
    f = value("in" . i)
    stats f using "t":"loss" nooutput
    kept = STATS_pos_min_y
    set arrow 1 from kept, graph 0 to kept, graph 1 nohead dt 2 lc rgb "gray"
    set title (exists("keys") ? nth(keys, i) : f) . sprintf(": kept model at t = %g", kept) noenhanced
    if (i == n) { set xlabel "t = step x lr" }
    plot for [j=1:words(kls)] f using "t":word(kls, j) with lines lw 2 title word(kls, j), \
         f using "t":"loss" axes x1y2 with lines lw 1.5 dt 3 lc rgb "black" title "held-out loss"
}
unset multiplot
