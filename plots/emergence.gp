# A training run of the small transformer (tf-location, tf-recall,
# tf-markov): the test loss on a log axis and, when the task has it, the
# test accuracy (top), and attention against optimiser steps (bottom), with
# the emergence step(s) marked on both panels.  Steps are on a linear axis:
# a plateau followed by a sharp rise is what the figure is for.
# Variables from `stagewise plot`: in1 (a `train tf-*` CSV), out, atts (its
# att_l* columns), has_acc (1: it has an acc column), fixed1 (task
# parameters and optimiser), marks and marklabels (the steps of the run's
# JSON `emergence` entries that were met, and '|'-separated names of their
# criteria).  Optional --set: mark=STEP (replaces the JSON's marks), title;
# `plot` itself applies --set show='WORD ...' to atts.
if (!exists("fixed1")) fixed1 = ""
if (!exists("marks")) marks = ""
if (!exists("marklabels")) marklabels = ""
if (exists("mark")) { marks = mark; marklabels = "emergence (--set mark)" }
nth(s, i) = i <= 1 ? (strstrt(s, "|") ? s[1:strstrt(s, "|") - 1] : s) : nth(s[strstrt(s, "|") + 1:], i - 1)

set terminal pngcairo size 900,800 font ",11"
set output out
set datafile separator ","
set datafile columnheaders
has_acc = exists("has_acc") ? (has_acc eq "1") : 0

set lmargin at screen 0.10
set rmargin at screen 0.70
if (!exists("training")) training = ""
# The parameters, wrapped between "KEY = VALUE, " items to fit the width.
wrapped = ""
line = ""
rest = fixed1
while (strlen(rest) > 0) {
    k = strstrt(rest, ", ")
    item = k ? rest[1:k + 1] : rest
    rest = k ? rest[k + 2:] : ""
    if (strlen(line) + strlen(item) > 110) { wrapped = wrapped . line . "\n"; line = "" }
    line = line . item
}
if (!exists("title")) title = wrapped . line . (strlen(training) ? "\n" . training : "")
set multiplot layout 2,1 title title noenhanced font ",9"
# The marks: a vertical line per criterion met, labelled in the key.
do for [i=1:words(marks)] {
    xm = real(word(marks, i))
    set arrow i from xm, graph 0 to xm, graph 1 nohead lc rgb "black" lw 1.5 dt i + 1 front
}
set key outside right top noenhanced font ",9" spacing 1.1
set title "test loss" . (has_acc ? " and test accuracy" : "")
set logscale y
set ylabel "test loss"
set xlabel "optimiser step"
# The accuracy's axis is set even without it, so its NaN series draws nothing.
set y2range [0:1.05]
if (has_acc) {
    set y2tics 0.2
    set y2label "test accuracy"
    set ytics nomirror
}
plot in1 using "step":"loss" with lines lw 2 lc rgb "#1f5fa8" title "test loss", \
     in1 using "step":(has_acc ? column("acc") : NaN) axes x1y2 with lines lw 2 lc rgb "#c03020" title (has_acc ? "acc (right axis)" : ""), \
     for [i=1:words(marks)] keyentry with lines lc rgb "black" lw 1.5 dt i + 1 title sprintf("%s: step %s", nth(marklabels, i), word(marks, i))
unset logscale y
unset y2tics
unset y2label
set ytics mirror
set title "attention against steps"
set ylabel "attention mass"
set yrange [0:1.05]
plot for [i=1:words(atts)] in1 using "step":word(atts, i) with lines lw 1.5 title word(atts, i)
unset multiplot
