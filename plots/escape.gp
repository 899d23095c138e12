# Escape time against eps (log axis) with the three fitted laws, each with
# its estimates, 95% intervals and AIC in the key.  Input: the --out CSV of
# `stagewise escape` (columns eps, t_escape, law_log, law_log2, law_power; a
# law that could not be fitted is nan throughout and drawn as nothing).
# Variables: in (or in1 from `stagewise plot`), out; from `stagewise plot`
# also law_log, law_log2, law_power (the keys) and fixed1 (the system and
# its parameters).
if (!exists("in")) in = in1
if (!exists("law_log")) law_log = "a + b ln(1/eps)"
if (!exists("law_log2")) law_log2 = "a + b ln(1/eps)^2"
if (!exists("law_power")) law_power = "a + b eps^(-c)"
if (!exists("fixed1")) fixed1 = ""
set terminal pngcairo size 900,650 font ",11"
set output out
set datafile separator ","
set datafile columnheaders
set logscale x
set format x "10^{%L}"
set xlabel "eps (size of the perturbation, no unit)"
set ylabel "escape time (gradient-flow units)"
set title "escape time from the perturbed base, with the fitted laws\n" . fixed1 noenhanced font ",10"
set key top right noenhanced box opaque font ",9"
plot in using "eps":"t_escape" with points pt 7 ps 1.3 lc rgb "black" title "measured", \
     in using "eps":"law_log" with lines lw 2 lc rgb "#1f77b4" title law_log, \
     in using "eps":"law_log2" with lines lw 2 lc rgb "#d62728" title law_log2, \
     in using "eps":"law_power" with lines lw 2 dt 2 lc rgb "#2ca02c" title law_power
