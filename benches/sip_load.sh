#!/usr/bin/env bash
# SIPp load against `frontdesk serve --sip --app echo`, all on 127.0.0.1. NOT part of the test
# suite: run it by hand (or through benches/sip_load_matrix.sh) and paste the figures into
# docs/performance.md.
#
# usage: benches/sip_load.sh [CONCURRENT=300] [RATE=20] [TOTAL=3*CONCURRENT] [HOLD_MS=CONCURRENT/RATE s]
# Each call: INVITE (PCMU + telephone-event), 200/ACK, a human prompt streamed by SIPp as RTP in a
# loop for HOLD_MS while the gateway echoes it back (RTP both ways, 50 packets/s each), BYE. The
# scenario is tests/data/sipp/uac.xml, the same file the SIPp tests use. With HOLD_MS =
# CONCURRENT/RATE the calls ramp up for HOLD_MS, stay at CONCURRENT (SIPp's -l caps them) while
# the rest of TOTAL is placed, then ramp down.
#
# It reports, from independent places:
# - SIPp: successful/failed calls (stats CSV), INVITE -> 200 p50/p99/max from every call's
#   response time (-trace_rtt, 1 ms resolution: 0 means under 1 ms);
# - the gateway: its own RTP counters per call ("media ended" log lines: received, lost, sent),
#   compared with what SIPp sent (HOLD_MS / 20 ms per call: rtp_stream paces one packet per 20 ms);
# - the kernel: UDP datagrams delivered and dropped (receive-buffer or no-port errors) on this
#   network namespace during the run (/proc/net/snmp; includes any other UDP traffic of the
#   machine, so a cross-check, not an exact count);
# - /proc: gateway CPU (utime+stime) and memory (VmRSS, VmHWM) at idle and over the plateau,
#   where the plateau is the time the gateway holds >= 95 % of CONCURRENT calls, counted from its
#   open sockets (two UDP sockets, RTP and RTCP, per call); SIPp's own CPU over the same window.
# The last line, "RESULT k=v ...", is what sip_load_matrix.sh reads.
# Needs scripts/install-test-deps.sh (sipp, sox, prompts). FRONTDESK_BIN overrides the binary
# (default: target/release/frontdesk, built with `cargo build --release --bin frontdesk` if missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
concurrent=${1:-300}; rate=${2:-20}; total=${3:-$((3 * concurrent))}
hold=${4:-$((concurrent * 1000 / rate))}
bin=${FRONTDESK_BIN:-$root/target/release/frontdesk}
if [ ! -x "$bin" ]; then (cd "$root" && cargo build --release --bin frontdesk); fi
command -v sipp >/dev/null || { echo "sipp missing: run scripts/install-test-deps.sh" >&2; exit 1; }
prompt=/usr/share/asterisk/sounds/en/vm-intro.wav
[ -f "$prompt" ] || { echo "$prompt missing: run scripts/install-test-deps.sh" >&2; exit 1; }

# Work files in memory (tmpfs) where there is one: the gateway logs every call synchronously, and
# a write stalled behind other programs' disk writes would stall the gateway with it.
work=$(mktemp -d -p "${BENCH_TMP:-/dev/shm}" 2>/dev/null || mktemp -d)
sip_port=${SIP_PORT:-25060}; http_port=${HTTP_PORT:-25080}
rtp_lo=${RTP_LO:-30000}; rtp_hi=${RTP_HI:-33999}; sipp_media=${SIPP_MEDIA_PORT:-40000}
sox "$prompt" -r 8000 -c 1 -t ul "$work/caller.ulaw"

# The shared scenario with its placeholders filled in.
scenario=$(<"$root/tests/data/sipp/uac.xml")
attrs=$'a=rtpmap:0 PCMU/8000\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-15\n'
media="  <nop><action><exec rtp_stream=\"caller.ulaw,-1,0\"/></action></nop>
  <pause milliseconds=\"$hold\"/>
  <nop><action><exec rtp_stream=\"pause\"/></action></nop>"
scenario=${scenario//@FORMATS@/0 101}
scenario=${scenario//@ATTRS@/$attrs}
scenario=${scenario//@MEDIA@/$media}
printf '%s\n' "$scenario" > "$work/uac.xml"

clk=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
now_ms() { date +%s%3N; }
udp() { awk '/^Udp:/ { if (!h) { for (i = 2; i <= NF; i++) n[i] = $i; h = 1 } else { for (i = 2; i <= NF; i++) printf "%s=%s ", n[i], $i } }' /proc/net/snmp; }
udp_field() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
FRONTDESK_LOG=info "$bin" serve --http "127.0.0.1:$http_port" --sip "127.0.0.1:$sip_port" \
  --rtp-ports "$rtp_lo-$rtp_hi" --app echo --drain-timeout 2 2> "$work/gateway.log" &
gw=$!
sp=""
cleanup() {
  [ -n "$sp" ] && kill -TERM "$sp" 2>/dev/null
  kill -TERM "$gw" 2>/dev/null || true
  wait "$gw" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$http_port") 2>/dev/null && break; sleep 0.1; done

# Idle: 3 s with no calls.
idle_fds=$(fds $gw); idle_rss=$(status_kb $gw VmRSS)
t0=$(now_ms); c0=$(ticks $gw); sleep 3; t1=$(now_ms); c1=$(ticks $gw)
idle_cpu=$(awk -v d=$((c1 - c0)) -v t=$((t1 - t0)) -v k="$clk" 'BEGIN {printf "%.1f", 100 * d / k / (t / 1000)}')

udp_before=$(udp)
start=$(now_ms)
(cd "$work" && exec sipp "127.0.0.1:$sip_port" -sf uac.xml -s agent -i 127.0.0.1 -mi 127.0.0.1 \
  -p $((sip_port + 1)) -mp "$sipp_media" -r "$rate" -l "$concurrent" -m "$total" -nostdin \
  -timeout $(( total / rate + hold / 1000 + 120 )) -timeout_error -trace_stat -stf stats.csv \
  -fd 5 -trace_rtt -rtt_freq 1 -trace_err > sipp.out 2>&1) &
sp=$!
# Sample every second: time, gateway CPU ticks, RSS, open fds; SIPp CPU ticks.
while kill -0 "$sp" 2>/dev/null; do
  echo "$(now_ms) $(ticks $gw) $(status_kb $gw VmRSS) $(fds $gw) $(ticks $sp)" >> "$work/samples"
  sleep 1
done
set +e
wait "$sp"; rc=$?
set -e
sp=""
elapsed=$(( ($(now_ms) - start) / 1000 ))
sleep 1 # the last calls' media tasks log their counters
udp_after=$(udp)
hwm=$(status_kb $gw VmHWM)

csv="$work/stats.csv"
field() { awk -F';' -v name="$1" 'NR==1{for(i=1;i<=NF;i++) if($i==name) c=i} END{print $c}' "$csv"; }
ok=$(field 'SuccessfulCall(C)'); failed=$(field 'FailedCall(C)')
# INVITE -> 200 of every call (rtd 1), ms.
read -r n_rtt p50 p99 pmax < <(cat "$work"/uac_*_rtt.csv 2>/dev/null | awk -F';' '$3 == 1 {print $2}' | sort -n |
  awk '{v[NR] = $1} END {if (NR == 0) {print 0, "?", "?", "?"; exit}
    i50 = int(NR * 0.50); if (i50 < NR * 0.50) i50++; i99 = int(NR * 0.99); if (i99 < NR * 0.99) i99++;
    print NR, v[i50], v[i99], v[NR]}')
# The gateway's per-call RTP counters.
read -r gw_calls gw_rx gw_lost gw_tx < <(awk '/media ended/ {n++;
    for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "received") r += kv[2];
      if (kv[1] == "lost") l += kv[2]; if (kv[1] == "sent") s += kv[2] } }
    END {print n + 0, r + 0, l + 0, s + 0}' "$work/gateway.log")
sipp_tx=$(( ok * (hold / 20) ))
d() { echo $(( $(udp_field "$udp_after" "$1") - $(udp_field "$udp_before" "$1") )); }
k_in=$(d InDatagrams); k_noport=$(d NoPorts); k_rcvbuf=$(d RcvbufErrors); k_inerr=$(d InErrors)
# Datagrams that reached SIPp's sockets other than SIP: everything the kernel delivered or dropped
# for a full buffer, minus what the gateway read and 6 SIP messages per call (retransmissions and
# other programs' UDP make it an estimate). SIPp's rtp_stream never reads its RTP socket, so the
# echo ends as receive-buffer drops there.
k_echo=$(( k_in + k_rcvbuf - gw_rx - 6 * (ok + failed) ))
# Plateau: samples with >= 95 % of the calls up (two sockets per call).
awk -v idle="$idle_fds" -v want="$concurrent" '($4 - idle) / 2 >= 0.95 * want' "$work/samples" > "$work/plateau"
plat_rss=$(awk '{print $3}' "$work/plateau" | sort -n | awk '{v[NR] = $1} END {print (NR ? v[int((NR + 1) / 2)] : "?")}')
read -r plat_n plat_s plat_calls gw_cpu sipp_cpu < <(awk -v idle="$idle_fds" -v k="$clk" '
  { n++; if (n == 1) { t0 = $1; g0 = $2; s0 = $5 }; t1 = $1; g1 = $2; s1 = $5; sum += ($4 - idle) / 2 }
  END { if (n < 3) { print n + 0, 0, 0, "?", "?"; exit }; dt = (t1 - t0) / 1000
    printf "%d %.0f %.0f %.1f %.1f\n", n, dt, sum / n, 100 * (g1 - g0) / k / dt, 100 * (s1 - s0) / k / dt }' "$work/plateau")

echo "load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sipp exit code: $rc (0 = every call succeeded); ${elapsed}s wall; $(nproc) cores"
echo "calls: concurrent<=$concurrent rate=$rate/s total=$total hold=${hold}ms"
echo "SIPp: successful $ok, failed $failed"
echo "INVITE -> 200 over $n_rtt calls (SIPp -trace_rtt, 1 ms resolution): p50 $p50 ms, p99 $p99 ms, max $pmax ms"
echo "RTP caller -> gateway: SIPp sent $sipp_tx (hold/20 ms per successful call); gateway received $gw_rx, lost $gw_lost (over $gw_calls calls)"
echo "RTP gateway -> caller: gateway sent $gw_tx (echo, or silence before the first packet)"
echo "kernel UDP during the run: $k_in datagrams read, $k_rcvbuf receive-buffer drops, $k_noport to closed ports, $k_inerr in-errors"
echo "  so about $k_echo datagrams other than SIP reached SIPp's sockets (vs gateway sent $gw_tx; SIPp's rtp_stream does not read them)"
echo "gateway idle: ${idle_cpu}% of one core, RSS $idle_rss KiB"
if [ "$plat_n" -ge 3 ]; then
  awk -v c="$gw_cpu" -v i="$idle_cpu" -v n="$plat_calls" -v r="$plat_rss" -v ir="$idle_rss" -v s="$plat_s" -v sc="$sipp_cpu" -v h="$hwm" 'BEGIN {
    printf "gateway plateau (%d s at %d calls): %.1f%% of one core (%.3f%% per call), RSS %d KiB (%.1f KiB per call), VmHWM %d KiB\n",
      s, n, c, (c - i) / n, r, (r - ir) / n, h
    printf "SIPp over the same window: %.1f%% of one core\n", sc }'
else
  echo "gateway never held 95% of $concurrent calls: no plateau"
fi
echo "gateway warnings: $(grep -c WARN "$work/gateway.log" || true) (log: $work/gateway.log)"
echo "work dir: $work"
echo "RESULT concurrent=$concurrent rate=$rate total=$total hold_ms=$hold rc=$rc ok=$ok failed=$failed" \
  "rtt_n=$n_rtt p50=$p50 p99=$p99 max=$pmax sipp_tx=$sipp_tx gw_rx=$gw_rx gw_lost=$gw_lost gw_tx=$gw_tx" \
  "k_echo=$k_echo k_in=$k_in k_rcvbuf=$k_rcvbuf k_noport=$k_noport plateau_s=$plat_s plateau_calls=$plat_calls" \
  "gw_cpu=$gw_cpu idle_cpu=$idle_cpu sipp_cpu=$sipp_cpu rss_idle=$idle_rss rss_plateau=$plat_rss hwm=$hwm" \
  "load='$load_before'"
exit $rc
