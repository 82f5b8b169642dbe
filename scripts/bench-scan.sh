#!/usr/bin/env bash
# Scan throughput benchmark: one command, reproducible.
#
#   scripts/bench-scan.sh [RECORDS]      (default 1,000,000)
#
# Generates a deterministic gzipped CloudTrail archive (tamperwatch-gen, seed 42, cached under
# bench-data/), then times, on the same files:
#   1. tamperwatch scan with the full built-in catalog (all cores);
#   2. plain decompression with zcat on two processes: the floor no scanner can beat;
#   3. zcat | jq with an equivalent three-event filter on two processes: what a user would do
#      otherwise.
# Prints records per second and peak resident memory for each, as a Markdown table. Each of the
# first two runs three times and keeps the fastest (the least disturbed by other load).
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-1000000}
data="bench-data/$records"

cargo build --release --locked --quiet -p tamperwatch-cli -p tamperwatch-gen
if [ ! -f "$data.manifest.json" ]; then
  rm -rf "$data"
  mkdir -p "$data"
  target/release/tamperwatch-gen archive --out "$data" --records "$records" --records-per-file 2000 --planted 100 > "$data.manifest.json.tmp"
  mv "$data.manifest.json.tmp" "$data.manifest.json"
fi
files=$(find "$data" -name '*.json.gz' | wc -l)
bytes=$(find "$data" -name '*.json.gz' -printf '%s\n' | awk '{s+=$1} END {print s}')
planted=$(grep -c '"eventID"' "$data.manifest.json")

# run COMMAND [OUT]: prints "seconds peak_kb cpu_seconds" of the fastest of $repeat runs; the command's
# output goes to OUT (default /tmp/tw-bench-out, to count findings; /dev/null for the floor, so
# that writing 1 GB of JSON to a file does not slow it down).
run() {
  local best="" line out=${2:-/tmp/tw-bench-out}
  for _ in $(seq "$repeat"); do
    /usr/bin/time -f '%e %M %U %S' -o /tmp/tw-bench-time bash -c "$1" > "$out" 2>/dev/null || true
    line=$(tail -n 1 /tmp/tw-bench-time | awk '{ printf "%s %s %.2f", $1, $2, $3 + $4 }')
    if [ -z "$best" ] || awk -v a="${line%% *}" -v b="${best%% *}" 'BEGIN {exit !(a < b)}'; then best=$line; fi
  done
  echo "$best"
}

repeat=3
scan=$(run "target/release/tamperwatch scan --quiet --format jsonl $data")
found=$(wc -l < /tmp/tw-bench-out)
# Startup: loading the built-in catalog and reading an empty log file.
echo '{"Records":[]}' > /tmp/tw-bench-empty.json
startup=$(run "target/release/tamperwatch scan --quiet /tmp/tw-bench-empty.json" /dev/null)
floor=$(run "find $data -name '*.json.gz' -print0 | xargs -0 -P2 -n64 zcat" /dev/null)
repeat=1
export TW_FILTER='.Records[] | select((.eventSource == "cloudtrail.amazonaws.com" and .eventName == "StopLogging") or (.eventSource == "guardduty.amazonaws.com" and .eventName == "DeleteDetector") or (.eventSource == "securityhub.amazonaws.com" and .eventName == "DisableSecurityHub"))'
# Each of two processes pipes its own batch of files through zcat | jq (one shared pipe would
# interleave the two zcat outputs).
jq_run=$(run "find $data -name '*.json.gz' -print0 | xargs -0 -P2 -n64 sh -c 'zcat \"\$@\" | jq -c \"\$TW_FILTER\"' _")
jq_found=$(wc -l < /tmp/tw-bench-out)

row() { # name seconds peak_kb cpu_seconds
  awk -v n="$1" -v s="$2" -v kb="$3" -v cpu="$4" -v r="$records" \
    'BEGIN { printf "| %s | %.2f s | %.2f s | %.0f | %.0f MB |\n", n, s, cpu, r / s, kb / 1024 }'
}
echo
echo "$records records in $files gzipped files ($((bytes / 1024 / 1024)) MiB compressed), $(nproc) cores; $planted planted tamper events; tamperwatch: $found findings, jq: $jq_found matches"
echo
echo "| what | time | CPU | records/s | peak RSS |"
echo "| --- | --- | --- | --- | --- |"
row "tamperwatch scan (full catalog)" $scan
row "zcat, 2 processes (floor)" $floor
row "zcat \| jq, 3-event filter" $jq_run
awk -v a="${scan%% *}" -v b="${floor%% *}" -v c="${jq_run%% *}" \
  'BEGIN { printf "\nscan / floor = %.2fx (goal <= 1.5x); jq / scan = %.1fx (goal >= 10x)\n", a / b, c / a }'
awk -v s="${startup%% *}" 'BEGIN { printf "startup (catalog loaded, empty input): %.2f s\n", s }'
