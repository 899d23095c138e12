#!/usr/bin/env bash
# What `meson install --destdir X` gives: the library, headers, .pc, man page,
# bash completion and the Python module; examples/saddle2d.c built against X
# with pkg-config alone prints the spectrum it should; and Python against X
# returns the same final loss as the installed CLI for the README's
# `integrate y-reduced --t-end 1e4`.
#   bash tests/install.sh BUILD_DIR SOURCE_DIR PYTHON
set -euo pipefail
build=$1 src=$2 python=$3
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
fail() { echo "install: $*" >&2; exit 1; }

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet
find_one() { find "$dest" -path "$1" | head -1; }
pc=$(find_one '*/pkgconfig/stagewise.pc')
bin=$(find_one '*/bin/stagewise')
for want in '*/lib*/libstagewise.so.0' '*/include/stagewise/stagewise.h' \
            '*/include/stagewise/version.h' '*/man1/stagewise.1' \
            '*/bash-completion/completions/stagewise' '*/stagewise/__init__.py' \
            '*/stagewise/_paths.py'; do
    [ -n "$(find_one "$want")" ] || fail "nothing installed at $want"
done
[ -n "$pc" ] && [ -n "$bin" ] || fail "no stagewise.pc or binary installed"
grep -q '^prefix=${pcfiledir}' "$pc" ||
    fail "stagewise.pc is not relocatable (a build directory made before it was the default: meson configure $build -Dpkgconfig.relocatable=true)"
libdir=$(dirname "$(find_one '*/lib*/libstagewise.so.0')")
export LD_LIBRARY_PATH=$libdir

# Installed, the library and the binary load the same OpenBLAS as in the
# build tree (the OpenMP one when the build found it), not the alternatives'.
if ldd "$build/stagewise" | grep 'libopenblas.so.0 => .*openblas-openmp/' >/dev/null; then
    for obj in "$bin" "$libdir/libstagewise.so.0"; do
        ldd "$obj" | grep 'libopenblas.so.0 => .*openblas-openmp/' >/dev/null ||
            fail "installed $(basename "$obj") does not load the OpenMP OpenBLAS: $(ldd "$obj" | grep openblas)"
    done
fi

# The man page holds every command's help; the completion completes commands,
# systems and a command's options from the binary's own lists.
man=$(find_one '*/man1/stagewise.1')
for cmd in $("$bin" --help | awk '/^commands:/ {on = 1; next} on && NF == 0 {on = 0} on {print $1}'); do
    grep -qx ".SS $cmd" "$man" || fail "the man page has no section for $cmd"
done
complete_words() {
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _stagewise
             echo "${COMPREPLY[*]}"' _ "$(find_one '*/completions/stagewise')" "$@"
}
[ "$(complete_words stagewise inte)" = integrate ] || fail "completion: inte -> $(complete_words stagewise inte)"
[ "$(complete_words stagewise escape y-r)" = y-reduced ] || fail "completion: no y-reduced"
[ "$(complete_words stagewise help rep)" = reproduce ] || fail "completion: help rep -> $(complete_words stagewise help rep)"
[ "$(complete_words stagewise vers)" = version ] || fail "completion: no version"
[ "$(complete_words stagewise integrate y-reduced --save)" = --save-state ] ||
    fail "completion: integrate --save gives '$(complete_words stagewise integrate y-reduced --save)'"

# The internal headers stay out of the installed API.
for internal in bdf.h newton.h jacobian.h z.h markov.h report.h crosscheck.h softmax.h; do
    [ -z "$(find "$dest" -name "$internal")" ] || fail "internal header $internal installed"
done
# Every public header compiles on its own, as C and as C++.
export PKG_CONFIG_PATH=$(dirname "$pc")
cflags=$(pkg-config --cflags stagewise)
for h in "$dest"/*/*/include/stagewise/*.h "$dest"/*/include/stagewise/*.h; do
    [ -e "$h" ] || continue
    echo "#include <stagewise/$(basename "$h")>" | cc -x c -std=c11 -Wall -Werror $cflags -fsyntax-only - ||
        fail "$(basename "$h") does not compile alone"
done
echo '#include <stagewise/stagewise.h>
int main() { sw_init(); return sw_system_find("linear") ? 0 : 1; }' > "$dest/cxx.cc"
if command -v c++ >/dev/null; then
    c++ -Wall -Werror "$dest/cxx.cc" $cflags $(pkg-config --libs stagewise) -o "$dest/cxx" &&
        "$dest/cxx" || fail "the API does not link from C++"
fi

# The example, with nothing but pkg-config's flags.
cc -std=c11 -Wall -Wextra -Werror "$src/examples/saddle2d.c" $cflags \
    $(pkg-config --libs stagewise) -o "$dest/saddle2d"
"$dest/saddle2d" > "$dest/saddle2d.txt"
grep -qx 'spectrum at the saddle (0, 0): 1 -1; Morse index 1' "$dest/saddle2d.txt" ||
    { cat "$dest/saddle2d.txt" >&2; fail "saddle2d: wrong spectrum at the saddle"; }
# x(5) in closed form: x0 e^5 / sqrt(1 - x0^2 + x0^2 e^10), x0 = 1e-3.
awk '$1 == 5 { x0 = 1e-3; want = x0 * exp(5) / sqrt(1 - x0^2 + x0^2 * exp(10)); d = $2 - want
               found = 1; if (d * d > 1e-18) exit 1 } END { exit !found }' "$dest/saddle2d.txt" ||
    { cat "$dest/saddle2d.txt" >&2; fail "saddle2d: x(5) is not the closed form"; }

# Python from X against the installed CLI, the README's integrate line.
"$bin" integrate y-reduced --t-end 1e4 --out "$dest/run.csv" 2>/dev/null
cli_loss=$(awk -F, '!/^#/ && NR > 1 { last = $2 } END { print last }' "$dest/run.csv")
pydir=$(dirname "$(dirname "$(find_one '*/stagewise/__init__.py')")")
py_loss=$(cd "$dest" && env -u STAGEWISE_LIB LD_LIBRARY_PATH= PYTHONPATH="$pydir" "$python" -c \
    'import stagewise; print("%.17g" % stagewise.integrate("y-reduced", t_end=1e4)["loss"][-1])')
[ "$py_loss" = "$cli_loss" ] || fail "final loss: python $py_loss, CLI $cli_loss"
echo "install: lib, headers, .pc, man page, completion, python; saddle2d ok; final loss $py_loss from both"
