#!/bin/sh
# Instructions per unit of a probe under callgrind: runs the probe with two unit counts and
# prints (Ir(high) - Ir(low)) / (high - low) for each implementation.
#   sh src/probes/callgrind-per-unit.sh <probe.ts> <low> <high> <impl>... [-- extra probe args]
# e.g. sh src/probes/callgrind-per-unit.sh src/probes/udp-cost.ts 4000 14000 node tako tako-send
set -eu
probe=$1 low=$2 high=$3; shift 3
for impl in "$@"; do
  ir() {
    node "$probe" run "$impl" "$1" -- valgrind --tool=callgrind --callgrind-out-file=/dev/null 2>&1 |
      sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
  }
  a=$(ir "$low"); b=$(ir "$high")
  echo "$impl: $(( (b - a) / (high - low) )) instructions/unit (Ir $a at $low, $b at $high)"
done
