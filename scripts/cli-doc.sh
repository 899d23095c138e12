#!/usr/bin/env bash
# docs/cli.md and the man page are the --help text of every command, so
# neither can drift from the program.  Regenerate after changing a command's help:
#   bash scripts/cli-doc.sh build/stagewise > docs/cli.md
# The test suite runs `bash scripts/cli-doc.sh BIN --check docs/cli.md`;
# the build runs `bash scripts/cli-doc.sh BIN --man` for stagewise.1.
set -euo pipefail
bin=$1
commands() {
    "$bin" --help | awk '/^commands:/ {on = 1; next} on && NF == 0 {on = 0} on {print $1}'
}
generate() {
    echo "# Command-line reference"
    echo
    echo "Generated from \`stagewise COMMAND --help\` by \`scripts/cli-doc.sh\`; do not edit by hand."
    echo
    echo '```'
    "$bin" --help
    echo '```'
    local cmd
    for cmd in $(commands); do
        echo
        echo "## $cmd"
        echo
        echo '```'
        "$bin" "$cmd" --help
        echo '```'
    done
}
# Help text as a roff no-fill block: backslashes and leading dots or quotes escaped.
roff_block() {
    echo '.nf'
    sed -e 's/\\/\\e/g' -e 's/^\([.'"'"']\)/\\\&\1/'
    echo '.fi'
}
man() {
    local version
    version=$("$bin" --version)
    echo ".TH STAGEWISE 1 \"\" \"$version\" \"User Commands\""
    echo '.SH NAME'
    echo "stagewise \\- $("$bin" --help | sed -n 3p)"
    echo '.SH SYNOPSIS'
    "$bin" --help | sed -n 1p | sed 's/^usage: //' | roff_block
    echo '.SH DESCRIPTION'
    "$bin" --help | sed 1,4d | roff_block
    echo '.SH COMMANDS'
    local cmd
    for cmd in $(commands); do
        echo ".SS $cmd"
        "$bin" "$cmd" --help | roff_block
    done
    echo '.SH SEE ALSO'
    echo 'docs/cli.md (the same text), docs/design.md and docs/python.md in the source tree.'
}
case "${2:-}" in
--check)
    if ! diff -u "$3" <(generate) >&2; then
        echo "docs/cli.md is out of date: bash scripts/cli-doc.sh build/stagewise > docs/cli.md" >&2
        exit 1
    fi
    ;;
--man) man ;;
*) generate ;;
esac
