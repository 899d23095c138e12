#!/usr/bin/env bash
# docs/cli.md is the --help text of every command, so it cannot drift from
# the program.  Regenerate after changing a command's help:
#   bash scripts/cli-doc.sh build/stagewise > docs/cli.md
# The test suite runs `bash scripts/cli-doc.sh BIN --check docs/cli.md`.
set -euo pipefail
bin=$1
generate() {
    echo "# Command-line reference"
    echo
    echo "Generated from \`stagewise COMMAND --help\` by \`scripts/cli-doc.sh\`; do not edit by hand."
    echo
    echo '```'
    "$bin" --help
    echo '```'
    local cmd
    for cmd in $("$bin" --help | awk '/^commands:/ {on = 1; next} on && NF == 0 {on = 0} on {print $1}'); do
        echo
        echo "## $cmd"
        echo
        echo '```'
        "$bin" "$cmd" --help
        echo '```'
    done
}
if [ "${2:-}" = "--check" ]; then
    if ! diff -u "$3" <(generate) >&2; then
        echo "docs/cli.md is out of date: bash scripts/cli-doc.sh build/stagewise > docs/cli.md" >&2
        exit 1
    fi
else
    generate
fi
