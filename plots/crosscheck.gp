# The trainer against the flow it discretises: the loss of both against
# t = step x lr (top: the flow as a line, the trainer as points) and the
# largest deviation over the compared columns (bottom, log scale), one
# colour per input.  Inputs: `stagewise crosscheck --out` CSVs (columns t,
# loss of the ODE, loss_train of the trainer, max_dev).  Variables from
# `stagewise plot`: in1.., n, fixed1, out; optional --set keys ('|'-separated,
# one per input, e.g. the learning rates), title.
set terminal pngcairo size 900,800 font ",11"
set output out
set datafile separator ","
set datafile columnheaders
nth(s, i) = i <= 1 ? (strstrt(s, "|") ? s[1:strstrt(s, "|") - 1] : s) : nth(s[strstrt(s, "|") + 1:], i - 1)
if (!exists("title")) title = fixed1
colors = "#1f77b4 #d62728 #2ca02c #9467bd"
# Fixed margins keep the panels aligned whatever their keys.
set lmargin at screen 0.11
set rmargin at screen 0.95
set multiplot layout 2,1 title title noenhanced font ",9"
set key top right noenhanced
set ylabel "loss"
set title "loss: flow (line) and trainer (points)"
cmd = "plot "
do for [i=1:n] {
    k = exists("keys") ? nth(keys, i) : value("in" . i)
    c = word(colors, (i - 1) % 4 + 1)
    cmd = cmd . sprintf("'%s' using 't':'loss' with lines lw 2 lc rgb '%s' title 'flow, %s', ", value("in" . i), c, k)
    cmd = cmd . sprintf("'%s' using 't':'loss_train' every 4 with points pt 6 ps 0.8 lc rgb '%s' title 'trainer, %s', ", value("in" . i), c, k)
}
eval(cmd[1:strlen(cmd) - 2])
set logscale y
set format y "10^{%L}"
set xlabel "t (gradient-flow units; step x lr for the trainer)"
set ylabel "largest |trainer - flow|"
set key bottom right
set title "largest deviation over the loss and the observables"
cmd = "plot "
do for [i=1:n] {
    k = exists("keys") ? nth(keys, i) : value("in" . i)
    cmd = cmd . sprintf("'%s' using 't':'max_dev' with lines lw 2 lc rgb '%s' title '%s', ", value("in" . i), word(colors, (i - 1) % 4 + 1), k)
}
eval(cmd[1:strlen(cmd) - 2])
unset multiplot
