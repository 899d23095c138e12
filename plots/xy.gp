# Expressions of result columns against each other, one series per input
# and expression: the sweeps of a parameter, a measured time against a law
# evaluated on the swept columns, a ratio that should stay flat.
# Variables (--set): x, a gnuplot expression for the horizontal axis
# (column("p"), or a law such as 1.51*column("d")**0.49); ys, '|'-separated
# expressions for the vertical one; keys, '|'-separated series names, one per
# input and expression (inputs outer); logx, logy ("1": log axis); diag ("1":
# draw y = x); with (gnuplot style, default linespoints; points for
# replicates, lines for curves); keypos (default "top left"); title,
# xlabel, ylabel.  From `stagewise plot`: in1.., n,
# fixed1 (the first input's fixed parameters), out.
if (!exists("logx")) logx = "0"
if (!exists("logy")) logy = "0"
if (!exists("diag")) diag = "0"
if (!exists("with")) with = "linespoints"
if (!exists("keypos")) keypos = "top left"
if (!exists("title")) title = fixed1
if (!exists("xlabel")) xlabel = x
if (!exists("ylabel")) ylabel = ys
set terminal pngcairo size 900,650 font ",11"
set output out
set datafile separator ","
set datafile columnheaders
if (logx eq "1") { set logscale x; set format x "10^{%L}" }
if (logy eq "1") { set logscale y; set format y "10^{%L}" }
eval("set key " . keypos . " noenhanced box opaque")
set xlabel xlabel noenhanced
set ylabel ylabel noenhanced
set title title noenhanced font ",10"
nth(s, i) = i <= 1 ? (strstrt(s, "|") ? s[1:strstrt(s, "|") - 1] : s) : nth(s[strstrt(s, "|") + 1:], i - 1)
count(s) = strstrt(s, "|") ? 1 + count(s[strstrt(s, "|") + 1:]) : 1
ny = count(ys)
colors = "#1f77b4 #d62728 #2ca02c #9467bd #ff7f0e #8c564b #17becf #7f7f7f"
cmd = "plot "
if (diag eq "1") { cmd = cmd . "x with lines dt 2 lc rgb 'gray' title 'y = x', " }
do for [i=1:n] {
    do for [j=1:ny] {
        s = (i - 1) * ny + j
        k = exists("keys") ? nth(keys, s) : value("in" . i) . ": " . nth(ys, j)
        pts = with eq "lines" ? "" : sprintf(" pt %d ps 1.1", 4 + 2 * ((s - 1) % 4))
        cmd = cmd . sprintf("'%s' using (%s):(%s) with %s%s lw 2 dt %d lc rgb '%s' title '%s', ", \
                            value("in" . i), x, nth(ys, j), with, pts, (s - 1) % 3 + 1, word(colors, (s - 1) % 8 + 1), k)
    }
}
eval(cmd[1:strlen(cmd) - 2])
