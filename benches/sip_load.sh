#!/usr/bin/env bash
# SIPp load against `frontdesk serve --sip --app echo`, all on 127.0.0.1. NOT part of the test
# suite: run it by hand and paste the figures into docs/performance.md.
#
# usage: benches/sip_load.sh [CONCURRENT=300] [RATE=20] [TOTAL=600] [HOLD_MS=10000]
# Each call: INVITE (PCMU + telephone-event), 200/ACK, a human prompt streamed as RTP in a loop
# for HOLD_MS while the gateway echoes it back (RTP both ways, 50 packets/s each), BYE.
# Prints SIPp's FailedCall/SuccessfulCall and ResponseTime1 (INVITE -> 200) from its stats CSV,
# and the gateway's CPU and memory. Needs scripts/install-test-deps.sh (sipp, sox, prompts).
# FRONTDESK_BIN overrides the binary (default: target/release/frontdesk, built if missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
concurrent=${1:-300}; rate=${2:-20}; total=${3:-600}; hold=${4:-10000}
bin=${FRONTDESK_BIN:-$root/target/release/frontdesk}
if [ ! -x "$bin" ]; then (cd "$root" && cargo build --release --bin frontdesk); fi
command -v sipp >/dev/null || { echo "sipp missing: run scripts/install-test-deps.sh" >&2; exit 1; }
prompt=/usr/share/asterisk/sounds/en/vm-intro.wav
[ -f "$prompt" ] || { echo "$prompt missing: run scripts/install-test-deps.sh" >&2; exit 1; }

work=$(mktemp -d)
sip_port=${SIP_PORT:-25060}; http_port=${HTTP_PORT:-25080}
sox "$prompt" -r 8000 -c 1 -t ul "$work/caller.ulaw"
cat > "$work/uac.xml" <<XML
<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="frontdesk load">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=ptime:20
]]></send>
  <recv response="100" optional="true"/>
  <recv response="200" rtd="true" rrs="true"/>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
[routes]
Content-Length: 0

]]></send>
  <nop><action><exec rtp_stream="caller.ulaw,-1,0"/></action></nop>
  <pause milliseconds="$hold"/>
  <nop><action><exec rtp_stream="pause"/></action></nop>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
[routes]
Content-Length: 0

]]></send>
  <recv response="200"/>
  <ResponseTimeRepartition value="10, 20, 50, 100, 200, 500"/>
</scenario>
XML

FRONTDESK_LOG=warn "$bin" serve --http "127.0.0.1:$http_port" --sip "127.0.0.1:$sip_port" \
  --rtp-ports 30000-31999 --app echo --drain-timeout 2 2> "$work/gateway.log" &
gw=$!
trap 'kill -TERM $gw 2>/dev/null || true; wait $gw 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$http_port") 2>/dev/null && break; sleep 0.1; done

# Sample the gateway's CPU and memory while the load runs.
( sleep $(( total / rate / 2 + hold / 2000 )); ps -o %cpu=,rss= -p $gw > "$work/usage" ) &
start=$(date +%s)
set +e
(cd "$work" && sipp "127.0.0.1:$sip_port" -sf uac.xml -s agent -i 127.0.0.1 -mi 127.0.0.1 \
  -p $((sip_port + 1)) -mp 34000 -r "$rate" -l "$concurrent" -m "$total" -nostdin \
  -timeout $(( total / rate + hold / 1000 + 60 )) -timeout_error -trace_stat -stf stats.csv -fd 5 \
  > sipp.out 2>&1)
rc=$?
set -e
elapsed=$(( $(date +%s) - start ))
csv=$(ls "$work"/stats.csv 2>/dev/null || true)
field() { awk -F';' -v name="$1" 'NR==1{for(i=1;i<=NF;i++) if($i==name) c=i} END{print $c}' "$csv"; }
echo "sipp exit code: $rc (0 = every call succeeded); ${elapsed}s wall"
echo "calls: concurrent<=$concurrent rate=$rate/s total=$total hold=${hold}ms"
if [ -n "$csv" ]; then
  echo "SuccessfulCall(C): $(field 'SuccessfulCall(C)')  FailedCall(C): $(field 'FailedCall(C)')"
  echo "ResponseTime1(C) (INVITE -> 200, mean): $(field 'ResponseTime1(C)')  StdDev: $(field 'ResponseTime1StDev(C)')"
fi
read -r cpu rss < "$work/usage" 2>/dev/null || true
echo "gateway at mid-run: ${cpu:-?}% CPU (ps: average since start, of one core), RSS ${rss:-?} KiB"
echo "gateway warnings: $(grep -c WARN "$work/gateway.log" || true) (log: $work/gateway.log)"
echo "work dir: $work"
exit $rc
