# The Markov-chain transformer learning in stages: KL divergence from the
# truths truncated to the first j lag groups (top; each is smallest in turn
# while the model matches that truncation) and each head's attention on
# each lag group (bottom).
# Variables from `stagewise plot`: in1 (a `train markov` or `train tf-markov`
# CSV; a tf-markov head is dashed by its number within its block), out, kls, atts.
set terminal pngcairo size 900,800 font ",11"
set output out
set datafile separator ","
set datafile columnheaders
head(c) = int(c[strstrt(c, "_h") + 2:strstrt(c, "_k") - 1])
pattern(c) = int(c[strstrt(c, "_k") + 2:])
set logscale xy
set format x "10^{%L}"
# Fixed margins keep the panels' time axes aligned whatever their keys.
set lmargin at screen 0.11
set rmargin at screen 0.80
# The parameters, wrapped between "KEY = VALUE, " items into lines of at most 110
# characters (a tf-markov run's list is longer than the figure is wide).
item(r) = strstrt(r, ", ") ? r[1:strstrt(r, ", ") + 1] : r
after(r) = strstrt(r, ", ") ? r[strstrt(r, ", ") + 2:] : ""
wrap(r, l) = strlen(r) == 0 ? l : strlen(l) + strlen(item(r)) > 110 ? l . "\n" . wrap(after(r), item(r)) : wrap(after(r), l . item(r))
set multiplot layout 2,1 title wrap(exists("fixed1") ? fixed1 : "", "") noenhanced font ",9"
set title "KL from the truth truncated to groups <= j"
set ylabel "KL (nats)"
set key outside right
plot for [i=1:words(kls)] in1 using "t":word(kls, i) with lines lw 2 title word(kls, i) noenhanced
unset logscale y
set title "attention of each head on each lag group (colour = group, dash = head)"
set ylabel "attention"
set xlabel "t = step x lr"
set yrange [0:1.05]
plot for [i=1:words(atts)] in1 using "t":word(atts, i) with lines lw 1.5 lc pattern(word(atts, i)) dt head(word(atts, i)) title word(atts, i) noenhanced
unset multiplot
