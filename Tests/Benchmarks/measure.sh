# Sourced by the benchmarks: `measure LABEL CMD...` runs CMD under /usr/bin/time with its output
# in $W/stdout and $W/err.out, and prints "LABEL wall_s peak_rss_kib"; a failure stops the script.
measure() {
    local label=$1; shift
    /usr/bin/time -f "%e %M" -o "$W/time.out" "$@" >"$W/stdout" 2>"$W/err.out" || { echo "FAILED: $label" >&2; cat "$W/err.out" >&2; exit 1; }
    read -r wall rss < "$W/time.out"
    echo "$label $wall $rss"
}
