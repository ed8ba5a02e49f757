#!/bin/sh
# Unit tests of check_load_average: `sh tests/run.sh` from the repository (no root, no network).
# Each test writes a fake /proc/loadavg and points the plugin at it with -f, so results do not
# depend on the machine. Set PLUGIN to test another copy of the plugin. Exits 1 if any test fails.

here=$(cd "$(dirname "$0")" && pwd)
plugin=${PLUGIN:-$here/../check_load_average}
[ -f "$plugin" ] || { echo "no plugin at $plugin" >&2; exit 2; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
loadavg=$scratch/loadavg

passed=0 failed=0

# expect NAME LOADAVG CODE TEXT [ARGUMENT...]: writes LOADAVG to the fake file, runs the plugin
# with -f FILE and the arguments, and checks that it exits with CODE and prints TEXT on one line.
expect() {
    name=$1 code=$3 text=$4
    printf '%s\n' "$2" > "$loadavg"
    shift 4
    output=$(sh "$plugin" -f "$loadavg" "$@" 2>&1)
    status=$?
    lines=$(printf '%s\n' "$output" | wc -l)
    if [ "$status" -ne "$code" ]; then
        failed=$((failed + 1))
        echo "not ok - $name: exit code $status, expected $code (output: $output)"
    elif case $output in *"$text"*) false ;; *) true ;; esac; then
        failed=$((failed + 1))
        echo "not ok - $name: output '$output' does not contain '$text'"
    elif [ "$lines" -ne 1 ]; then
        failed=$((failed + 1))
        echo "not ok - $name: $lines lines of output, a Nagios plugin prints one: $output"
    else
        passed=$((passed + 1))
        echo "ok - $name"
    fi
}

quiet='0.52 0.58 0.59 1/467 12345'
expect "OK under the thresholds" "$quiet" 0 \
    "LOAD OK - load average: 0.52, 0.58, 0.59 | load1=0.52;4;8;0; load5=0.58;4;8;0; load15=0.59;4;8;0;" -w 4 -c 8
expect "OK at the warning threshold (only above crosses it)" '4.00 4.00 4.00 1/1 1' 0 "LOAD OK" -w 4 -c 8
expect "WARNING above the warning threshold" '4.01 1.00 1.00 1/1 1' 1 \
    "LOAD WARNING - load average: 4.01, 1.00, 1.00 (1 min above 4)" -w 4 -c 8
expect "CRITICAL above the critical threshold" '8.50 1.00 1.00 1/1 1' 2 \
    "LOAD CRITICAL - load average: 8.50, 1.00, 1.00 (1 min above 8)" -w 4 -c 8
expect "CRITICAL wins over WARNING and names only critical periods" '9.00 5.00 1.00 1/1 1' 2 \
    "(1 min above 8) |" -w 4 -c 8
expect "WARNING names every period above" '5.00 6.00 1.00 1/1 1' 1 "(1 min above 4, 5 min above 4)" -w 4 -c 8
expect "three thresholds apply per period" '3.00 2.50 2.10 1/1 1' 1 "(15 min above 2)" -w 5,3,2 -c 10,6,4
expect "three thresholds in the performance data" "$quiet" 0 "load15=0.59;2;4;0;" -w 5,3,2 -c 10,6,4
expect "CRITICAL on the 15 minute average alone" '0.10 0.10 4.50 1/1 1' 2 "(15 min above 4)" -w 5,3,2 -c 10,6,4
expect "fractional thresholds" '0.30 0.10 0.10 1/1 1' 1 "(1 min above 0.25)" -w 0.25 -c 0.5

expect "UNKNOWN without -c" "$quiet" 3 "LOAD UNKNOWN - -w and -c are required" -w 4
expect "UNKNOWN with two thresholds" "$quiet" 3 "-w takes one number or three" -w 1,2 -c 8
expect "UNKNOWN with a non-numeric threshold" "$quiet" 3 "-c must be made of non-negative numbers, not '8,x,8'" -w 4 -c 8,x,8
expect "UNKNOWN with a negative threshold" "$quiet" 3 "-w must be made of non-negative numbers" -w -1 -c 8
expect "UNKNOWN when a warning is above its critical" "$quiet" 3 \
    "the 5 minute warning threshold (9) is above the critical one (6)" -w 5,9,2 -c 10,6,4
expect "UNKNOWN for an unknown option" "$quiet" 3 "unknown option -x" -w 4 -c 8 -x
expect "UNKNOWN for a file that is not a load average" 'hello world' 3 "does not start with three load averages" -w 4 -c 8
expect "UNKNOWN for an empty file" '' 3 "does not start with three load averages" -w 4 -c 8
expect "UNKNOWN for a missing file" "$quiet" 3 "LOAD UNKNOWN - cannot read /nonexistent/loadavg" \
    -w 4 -c 8 -f /nonexistent/loadavg
expect "-h prints the usage" "$quiet" 0 "Usage: check_load_average -w WLOAD1" -h

if [ -r /proc/loadavg ]; then
    output=$(sh "$plugin" -w 100000 -c 100000)
    case $output in
        "LOAD OK - load average: "*) passed=$((passed + 1)); echo "ok - reads /proc/loadavg by default" ;;
        *) failed=$((failed + 1)); echo "not ok - reading /proc/loadavg printed: $output" ;;
    esac
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
