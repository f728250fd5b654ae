#!/usr/bin/env bash
# Runs benches/sip_load.sh several times per configuration and prints a Markdown table of the
# medians (and the range of the failed-call count), for docs/performance.md.
#
# usage: benches/sip_load_matrix.sh [RUNS=3] [CONFIG...]
#   CONFIG is CONCURRENT:RATE (hold = CONCURRENT/RATE s, total = 3 x CONCURRENT; see sip_load.sh).
#   default configs: 300:20 600:30 1000:50
# Every run's full output stays in the directory printed at the start.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=${1:-3}; shift || true
configs=("$@"); [ ${#configs[@]} -gt 0 ] || configs=(300:20 600:30 1000:50)
out=$(mktemp -d)
echo "runs: $out"

get() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }
median() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print "?"}'; }
range() { sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {print (lo == hi ? lo : lo "-" hi)}'; }

for c in "${configs[@]}"; do
  conc=${c%%:*}; rate=${c##*:}
  for r in $(seq "$runs"); do
    f="$out/$conc-$rate-$r.txt"
    echo "$(date -u +%H:%M:%S) $conc concurrent at $rate/s, run $r (load $(cut -d' ' -f1-3 /proc/loadavg))"
    "$here/sip_load.sh" "$conc" "$rate" > "$f" 2>&1
    grep '^RESULT' "$f" | sed 's/^RESULT //' >> "$out/$conc-$rate.results"
    grep '^RESULT' "$f" || tail -5 "$f"
  done
done

echo
echo "| concurrent | rate | calls per run | failed (runs) | INVITE->200 p50 / p99 / max | RTP caller->gw: SIPp sent / gw received (lost) | gw sent / reached SIPp (kernel) | gw CPU, % of one core | per call | SIPp CPU | gw RSS idle -> plateau | per call | VmHWM | load before |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for c in "${configs[@]}"; do
  conc=${c%%:*}; rate=${c##*:}
  res="$out/$conc-$rate.results"
  [ -f "$res" ] || continue
  col() { while read -r l; do get "$l" "$1"; done < "$res"; }
  m() { col "$1" | median; }
  failed=$(col failed | tr '\n' ' ' | sed 's/ $//; s/ /, /g')
  total=$(m total); p50=$(m p50); p99=$(m p99); pmax=$(m max)
  stx=$(m sipp_tx); grx=$(m gw_rx); glost=$(m gw_lost); gtx=$(m gw_tx); kecho=$(m k_echo)
  cpu=$(m gw_cpu); idle=$(m idle_cpu); calls=$(m plateau_calls); scpu=$(m sipp_cpu)
  per_cpu=$(awk -v c="$cpu" -v i="$idle" -v n="$calls" 'BEGIN {printf "%.3f %%", (c - i) / n}')
  ri=$(m rss_idle); rp=$(m rss_plateau); hwm=$(m hwm)
  per_rss=$(awk -v p="$rp" -v i="$ri" -v n="$calls" 'BEGIN {printf "%.0f KiB", (p - i) / n}')
  loads=$(while read -r l; do sed -n "s/.*load='\([0-9.]*\) .*/\1/p" <<<"$l"; done < "$res" | range)
  echo "| $conc | $rate/s | $total | $failed | $p50 / $p99 / $pmax ms | $stx / $grx ($glost) | $gtx / ~$kecho | $cpu % | $per_cpu | $scpu % | $((ri / 1024)) -> $((rp / 1024)) MiB | $per_rss | $((hwm / 1024)) MiB | $loads |"
done
echo
echo "(medians of $runs runs; failed calls listed per run; full outputs in $out)"
