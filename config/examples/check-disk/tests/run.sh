#!/bin/sh
# Unit tests of check_disk_usage: `sh tests/run.sh` from the repository (no root, no network).
# A fake `df` placed first on PATH prints the usage each test asks for, so results do not depend
# on the machine. Set PLUGIN to test another copy of the plugin. Exits 1 if any test fails.

here=$(cd "$(dirname "$0")" && pwd)
plugin=${PLUGIN:-$here/../check_disk_usage}
[ -f "$plugin" ] || { echo "no plugin at $plugin" >&2; exit 2; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/bin"
# The fake df: FAKE_USED (e.g. 42), FAKE_MOUNT (default /), FAKE_FAIL=1 to fail like a bad path.
# It records its arguments in $scratch/df.args.
cat > "$scratch/bin/df" <<'STUB'
#!/bin/sh
printf '%s\n' "$*" > "$FAKE_DIR/df.args"
if [ "${FAKE_FAIL:-0}" = 1 ]; then
    echo "df: $2: No such file or directory" >&2
    exit 1
fi
echo "Filesystem     1024-blocks     Used Available Capacity Mounted on"
echo "/dev/sda1         10000000  4200000   5800000      ${FAKE_USED:-42}% ${FAKE_MOUNT:-/}"
STUB
chmod +x "$scratch/bin/df"
export FAKE_DIR="$scratch"

passed=0 failed=0

# expect NAME CODE TEXT [ARGUMENT...]: runs the plugin with the arguments and checks that it exits
# with CODE and that its output contains TEXT.
expect() {
    name=$1 code=$2 text=$3
    shift 3
    output=$(PATH="$scratch/bin:$PATH" sh "$plugin" "$@" 2>&1)
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

FAKE_USED=42 expect "OK below the warning threshold" 0 "DISK OK - / is 42% full | '/'=42%;80;90;0;100" -w 80 -c 90
FAKE_USED=79 expect "OK just below the warning threshold" 0 "DISK OK" -w 80 -c 90
FAKE_USED=80 expect "WARNING at the warning threshold" 1 "DISK WARNING - / is 80% full (warning at 80%)" -w 80 -c 90
FAKE_USED=89 expect "WARNING below the critical threshold" 1 "DISK WARNING" -w 80 -c 90
FAKE_USED=90 expect "CRITICAL at the critical threshold" 2 "DISK CRITICAL - / is 90% full (critical at 90%)" -w 80 -c 90
FAKE_USED=100 expect "CRITICAL when full" 2 "'/'=100%;80;90;0;100" -w 80 -c 90
FAKE_USED=0 expect "OK when empty" 0 "is 0% full" -w 1 -c 2
FAKE_USED=50 FAKE_MOUNT="/srv/my data" expect "a mount point with a space" 2 "DISK CRITICAL - /srv/my data is 50% full" -w 10 -c 50

FAKE_USED=10 expect "the path is passed to df" 0 "DISK OK" -w 80 -c 90 -p /var/log
args=$(cat "$scratch/df.args" 2> /dev/null)
if [ "$args" = "-P /var/log" ]; then
    passed=$((passed + 1)); echo "ok - df was asked about -P /var/log"
else
    failed=$((failed + 1)); echo "not ok - df was called with '$args', expected '-P /var/log'"
fi

expect "UNKNOWN without -c" 3 "DISK UNKNOWN - -w and -c are required" -w 80
expect "UNKNOWN without thresholds" 3 "DISK UNKNOWN"
expect "UNKNOWN when -w is above -c" 3 "must not be above -c" -w 95 -c 90
expect "UNKNOWN for a non-numeric threshold" 3 "-w must be a percentage" -w lots -c 90
expect "UNKNOWN for a threshold above 100" 3 "-c must be a percentage" -w 80 -c 101
expect "UNKNOWN for an unknown option" 3 "unknown option -x" -w 80 -c 90 -x
expect "UNKNOWN for an extra argument" 3 "unexpected argument 'extra'" -w 80 -c 90 extra
FAKE_FAIL=1 expect "UNKNOWN when df fails" 3 "DISK UNKNOWN - df failed for /nowhere" -w 80 -c 90 -p /nowhere
FAKE_USED=- expect "UNKNOWN when df prints no capacity" 3 "cannot read the usage" -w 80 -c 90
expect "-h prints the usage" 0 "Usage: check_disk_usage -w WARN -c CRIT" -h

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
