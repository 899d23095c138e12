# A fitted power law on log-log axes: the data as points, the law as a
# line.  Input: the --out CSV of `stagewise fit` (columns: the law's data
# columns, observed, fitted, residual, scaling).  With one data column the
# horizontal axis is that column; with several it is the scaling variable
# prod x_j^a_j, against which every row should fall on the law (a data
# collapse).  Variables: in (or in1 from `stagewise plot`), out.
if (!exists("in")) in = in1
set terminal pngcairo size 800,600 font ",11"
set output out
set datafile separator ","
set datafile columnheaders
set logscale xy
set format x "10^{%L}"
set format y "10^{%L}"
set key top left
stats in using "observed" nooutput
ncol = STATS_columns
# stats reports the columns of the first data row; the data columns of the
# law precede the four fixed ones.
nx = ncol - 4
xcol = nx == 1 ? 1 : ncol
set xlabel nx == 1 ? "the law's column (named in the key)" : "scaling variable  prod_j x_j^{a_j}"
set ylabel "observed"
set title "fitted law (line) and data (points)"
plot in using xcol:"observed" with points pt 7 ps 1.2 lc rgb "#1f77b4" title (nx == 1 ? "data against ".columnhead(1) : "data"), \
     in using xcol:"fitted" smooth unique with lines lw 2 lc rgb "#d62728" title "law"
