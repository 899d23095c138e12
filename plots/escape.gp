# Escape time against eps (log axis) with the three fitted laws.  Input:
# the --out CSV of `stagewise escape` (columns eps, t_escape, law_log,
# law_log2, law_power; a law that could not be fitted is nan throughout and
# drawn as nothing).  Variables: in (or in1 from `stagewise plot`), out.
if (!exists("in")) in = in1
set terminal pngcairo size 800,600 font ",11"
set output out
set datafile separator ","
set datafile columnheaders
set logscale x
set format x "10^{%L}"
set xlabel "eps (size of the perturbation)"
set ylabel "escape time"
set title "escape time and the fitted laws"
set key top right
plot in using "eps":"t_escape" with points pt 7 ps 1.3 lc rgb "black" title "measured", \
     in using "eps":"law_log" with lines lw 2 lc rgb "#1f77b4" title "a + b ln(1/eps)", \
     in using "eps":"law_log2" with lines lw 2 lc rgb "#d62728" title "a + b ln(1/eps)^2", \
     in using "eps":"law_power" with lines lw 2 dt 2 lc rgb "#2ca02c" title "a + b eps^{-c}"
