# Stage-wise convergence: loss against log t with the theoretical plateau
# levels L_j as guides (top), each head's attention on each pattern (bottom).
# Variables from `stagewise plot`: in1 (an integrate CSV), out, levels
# (space-separated L_j, may be empty), atts (the att_h*_k* column names).
set terminal pngcairo size 900,800 font ",11"
set output out
set datafile separator ","
set datafile columnheaders
# att_h<h>_k<k>: colour by pattern k, dash pattern by head h.
head(c) = int(c[6:strstrt(c, "_k") - 1])
pattern(c) = int(c[strstrt(c, "_k") + 2:])
set logscale x
set format x "10^{%L}"
panels = words(atts) > 0 ? 2 : 1
# Fixed margins keep the panels' time axes aligned whatever their keys.
set lmargin at screen 0.11
set rmargin at screen 0.80
set multiplot layout panels,1 title (exists("fixed1") ? fixed1 : "") noenhanced font ",9"
set title "loss (dashed: theoretical plateau levels L_j)"
set ylabel "loss"
set key at screen 0.99, graph 1 top right noenhanced
# gnuplot's plot-for runs once even over an empty range, so the guides are
# collected with do-for, which does not.
guides = ""
do for [i=1:words(levels)] {
    guides = guides . word(levels, i) . " with lines dashtype 2 lc rgb 'gray' notitle, "
}
eval("plot " . guides . "in1 using 't':'loss' with lines lw 2 lc rgb 'black' title 'loss'")
if (panels == 2) {
    set title "attention mass of each head on each pattern"
    set ylabel "attention"
    set xlabel "t (gradient-flow time)"
    set yrange [0:1.05]
    set key outside right
    plot for [i=1:words(atts)] in1 using "t":word(atts, i) with lines lw 1.5 lc pattern(word(atts, i)) dt head(word(atts, i)) title word(atts, i) noenhanced
}
unset multiplot
