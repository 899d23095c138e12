# Competitive against cooperative learning: a symmetric start (in1), where
# every head stays identical and only one pattern is ever learned, beside a
# slightly perturbed start (in2), where the heads split the patterns.
# Variables from `stagewise plot`: in1, in2, out, levels (L_j of in1), atts.
set terminal pngcairo size 900,1000 font ",11"
set output out
set datafile separator ","
set datafile columnheaders
# att_h<h>_k<k>: colour by pattern k, dash pattern by head h.
head(c) = int(c[6:strstrt(c, "_k") - 1])
pattern(c) = int(c[strstrt(c, "_k") + 2:])
set logscale x
set format x "10^{%L}"
# Fixed margins keep the panels' time axes aligned whatever their keys.
set lmargin at screen 0.11
set rmargin at screen 0.80
set multiplot layout 3,1 title (exists("fixed1") ? fixed1 : "") noenhanced font ",9"
set title "loss: symmetric start against a perturbed one (dashed gray: L_j)"
set ylabel "loss"
set key at screen 0.99, graph 1 top right
guides = ""
do for [i=1:words(levels)] {
    guides = guides . word(levels, i) . " with lines dashtype 2 lc rgb 'gray' notitle, "
}
eval("plot " . guides . "in1 using 't':'loss' with lines lw 2 lc rgb 'red' title 'symmetric', " . \
     "in2 using 't':'loss' with lines lw 2 lc rgb 'blue' title 'perturbed'")
set yrange [0:1.05]
set ylabel "attention"
set key outside right
set title "symmetric start: attention of each head on each pattern (heads coincide)"
plot for [i=1:words(atts)] in1 using "t":word(atts, i) with lines lw 1.5 lc pattern(word(atts, i)) dt head(word(atts, i)) title word(atts, i) noenhanced
set title "perturbed start: attention of each head on each pattern"
set xlabel "t (gradient-flow time)"
plot for [i=1:words(atts)] in2 using "t":word(atts, i) with lines lw 1.5 lc pattern(word(atts, i)) dt head(word(atts, i)) title word(atts, i) noenhanced
unset multiplot
