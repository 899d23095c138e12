# Fitted power laws on log-log axes: each input's data as points and its
# law as a line, the law with its fitted exponents (95% intervals) in the
# key.  Inputs: --out CSVs of `stagewise fit` (columns: the law's data
# columns, observed, fitted, residual, scaling).  With one data column the
# horizontal axis is that column; with several it is the scaling variable
# prod x_j^a_j, against which every row should fall on the law (a data
# collapse).  Variables from `stagewise plot`: in1.., n, fit1.. (the law and
# estimates), fixed1.. (the fitted data's fixed parameters), xname and
# yname (input 1's data column and fitted column), out; optional
# --set title, xlabel, ylabel, keys ('|'-separated, one per input, put
# before each law), keypos (default "top left").
if (!exists("in1")) in1 = in
if (!exists("n")) n = 1
if (!exists("fit1")) fit1 = "law"
if (!exists("fixed1")) fixed1 = ""
set terminal pngcairo size 900,650 font ",11"
set output out
set datafile separator ","
set datafile columnheaders
set logscale xy
set format x "10^{%L}"
set format y "10^{%L}"
if (!exists("keypos")) keypos = "top left"
eval("set key " . keypos . " noenhanced box opaque font ',9'")
stats in1 using "observed" nooutput
nx = STATS_columns - 4
xcol = nx == 1 ? 1 : STATS_columns
nth(s, i) = i <= 1 ? (strstrt(s, "|") ? s[1:strstrt(s, "|") - 1] : s) : nth(s[strstrt(s, "|") + 1:], i - 1)
if (!exists("xname")) xname = "the law's variable"
if (!exists("yname")) yname = "observed"
if (!exists("xlabel")) xlabel = nx == 1 ? xname : "scaling variable prod_j x_j^{a_j}"
if (!exists("ylabel")) ylabel = yname
if (!exists("title")) title = "fitted power laws" . (strlen(fixed1) ? "; " . fixed1 : "")
set xlabel xlabel noenhanced
set ylabel ylabel noenhanced
set title title noenhanced font ",10"
colors = "#1f77b4 #d62728 #2ca02c #9467bd #ff7f0e #8c564b"
cmd = "plot "
do for [i=1:n] {
    f = value("in" . i)
    k = exists("keys") ? nth(keys, i) . ": " : ""
    c = word(colors, (i - 1) % 6 + 1)
    cmd = cmd . sprintf("'%s' using %d:'observed' with points pt 7 ps 1.2 lc rgb '%s' notitle, ", f, xcol, c)
    cmd = cmd . sprintf("'%s' using %d:'fitted' smooth unique with lines lw 2 lc rgb '%s' title '%s', ", f, xcol, c, k . value("fit" . i))
}
eval(cmd[1:strlen(cmd) - 2])
