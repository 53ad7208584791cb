#!/usr/bin/env bash
# Runs the test suite (npm test) three times in a row with two CPU-burning processes alongside, as on a
# busy 2-core CI host, and prints one line per round plus the total. Deadlines must hold (or end INCONC
# with the tester's measured starvation), never FAIL because the tester was not running: the expected
# result is 0 failures in every round.
#   bench/stress-test.sh [rounds] [burners]      (defaults 3 and 2)
set -uo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
burners=${2:-2}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT
for _ in $(seq 1 "$burners"); do
  node -e 'for (;;) {}' &
  pids+=($!)
done
mkdir -p reports/stress
failed_total=0
for r in $(seq 1 "$rounds"); do
  start=$(date +%s)
  npm test >"reports/stress/round-$r.log" 2>&1
  load=$(cut -d' ' -f1 /proc/loadavg)
  line=$(node .ci/summary.mjs reports/junit.xml 2>/dev/null | tail -1)
  cp reports/junit.xml "reports/stress/round-$r.junit.xml" 2>/dev/null
  failed=$(printf '%s' "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
  failed_total=$((failed_total + ${failed:-1}))
  echo "round $r: $line in $(( $(date +%s) - start )) s, load $load"
done
echo "stress: $rounds rounds with $burners CPU burners: $failed_total failed"
[ "$failed_total" -eq 0 ]
