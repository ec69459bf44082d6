#!/usr/bin/env bash
# talkcheck run --pcap, read by tshark (Wireshark's dissectors): the capture of
# a real-clock call decodes as XMPP (the client's stream with its STARTTLS,
# SASL and bind, and the peer's stanzas with the Google session initiate),
# GICE binding requests and responses as classic STUN, and RTP with the
# payload type the call's media step reported.
#   pcap_tshark_test.sh TALKCHECK   (run from the runfiles root)
set -uo pipefail
talkcheck=$1
tshark=$(command -v tshark) || { echo "FAIL: tshark not installed (tools/setup.sh)"; exit 1; }
dir=${TEST_TMPDIR:-$(mktemp -d)}
pcap=$dir/call.pcap
json=$dir/report.json
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

"$talkcheck" run --time_scale=0.1 --pcap="$pcap" --json="$json" \
  --filter=callee-g1-basic scenarios/*.xml >"$dir/out" 2>&1 \
  || fail "run exited $?: $(grep -E '^(PASS|FAIL|ERROR) |^step |^[0-9]+ passed' "$dir/out")"
[[ -s "$pcap" ]] || fail "no capture written"

# The fake server listens on a free port: decode every port a SYN went to as
# XMPP, as a user would with Decode As.
decode=()
for port in $("$tshark" -n -r "$pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' \
    -T fields -e tcp.dstport 2>/dev/null | sort -u); do
  decode+=(-d "tcp.port==$port,xmpp")
done
((${#decode[@]} > 0)) || fail "no TCP connection in the capture"
# One pass of the dissectors; each line: protocols, Info, STUN type, RTP type.
"$tshark" -n -r "$pcap" "${decode[@]}" -o rtp.heuristic_rtp:TRUE -T fields -E separator='|' \
  -e frame.protocols -e _ws.col.Info -e classicstun.type -e rtp.p_type >"$dir/frames" 2>/dev/null \
  || fail "tshark could not read the capture"
count() { grep -cE "$1" "$dir/frames"; }

(($(count ':xmpp(:xml)?\|AUTH') >= 1)) || fail "no SASL auth decoded"
(($(count ':xmpp(:xml)?\|IQ\(set\) BIND') >= 1)) || fail "no resource binding decoded"
(($(count ':xmpp(:xml)?\|PRESENCE') >= 2)) || fail "fewer than two presences decoded"
(($(count 'GTALK-SESSION\(initiate\)') >= 1)) || fail "no Google session initiate decoded"
(($(count 'GTALK-SESSION\(accept\)') >= 1)) || fail "no Google session accept decoded"
(($(count ':classicstun\|.*\|0x0001\|') >= 1)) || fail "no STUN binding request decoded"
(($(count ':classicstun\|.*\|0x0101\|') >= 1)) || fail "no STUN binding response decoded"
pt=$(sed -nE 's/.*"payload_type": ([0-9]+).*/\1/p' "$json" | head -1)
[[ -n "$pt" ]] || fail "no payload type in the report: $(head -c 2000 "$json")"
rtp=$(count ":rtp\\|.*\\|$pt\$")
((rtp >= 100)) || fail "only $rtp RTP packets of payload type $pt decoded"
# Each datagram the peer sent or received appears once.
other=$(($(count ':rtp\|') - rtp))
((other == 0)) || fail "$other RTP packets of another payload type"
echo "pcap_tshark_test: OK ($rtp RTP packets of payload type $pt)"
