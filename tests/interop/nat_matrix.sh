#!/usr/bin/env bash
# Two rtcpp-peer processes behind real Linux NATs (nftables in network namespaces), with coturn on the "public" side:
# for every combination of three NAT behaviours, checks the candidate-pair types ICE selects and that a file crosses
# the data channel intact. Issue #4, "Real NATs in network namespaces". Runs as root.
#
#   public ns "pub": coturn on 198.18.0.1 and 198.18.0.2 (addresses on its loopback), routes between the NATs
#     pub toA 198.18.1.1/24 --- wan 198.18.1.2/24 [natA] lan 10.1.0.1/24 --- eth0 10.1.0.2/24 hostA (offerer, sends)
#     pub toB 198.18.2.1/24 --- wan 198.18.2.2/24 [natB] lan 10.2.0.1/24 --- eth0 10.2.0.2/24 hostB (answerer)
#   The public namespace routes 10.0.0.0/8 nowhere (its default route ends in a sink), so host candidates can never
#   connect: a pair is reflexive or relayed, or nothing. Signalling (rtcpp-peer's WHIP-style POST) is TCP to
#   198.18.2.2:8080, forwarded by natB to hostB: TCP conntrack entries open nothing for UDP, so signalling creates no
#   ICE path. Both peers run with --bind on their private address: one UDP socket there, one host candidate.
#
# NAT behaviours (RFC 4787 terms), verified once per run with coturn's turnutils_natdiscovery (RFC 5780):
#   full  "full cone": dnat of every inbound UDP to the host + snat to the wan address (port kept):
#         endpoint-independent mapping and filtering.
#   pr    "port-restricted cone": masquerade (port kept): endpoint-independent mapping, address-and-port-dependent
#         filtering (only conntrack replies come in).
#   sym   "symmetric": masquerade fully-random: a new random port for every destination, address-and-port-dependent
#         filtering.
# Expected pairs: wherever one side is full cone, or both keep their mapping (pr-pr), the checks of both sides meet
# on the server-reflexive addresses (srflx, or prflx where a check arrives from a mapping not signalled): symmetric
# behind full cone shows up as a prflx local candidate on the symmetric side and a prflx remote one on the other.
# pr-sym needs a relay: the symmetric side's checks leave from a fresh port per destination, which the
# port-restricted side never sent to, so its NAT drops them; the port-restricted side's checks go to the symmetric
# side's srflx address, a mapping opened towards coturn only, which the symmetric NAT drops too. Neither side ever
# receives a check, so no peer-reflexive address is learnt either. sym-sym fails the same way from both sides.
# Relay candidates go through coturn, whose permissions are per IP address, not port, so checks sent from a fresh
# symmetric mapping still reach a relay.
#
# Usage: nat_matrix.sh PATH/TO/rtcpp-peer
# Env: NAT_MATRIX_CASES="full:pr sym:full" runs only those offerer:answerer cases; NAT_MATRIX_SKIP_DISCOVERY=1
# skips the natdiscovery check; NAT_MATRIX_PEER_ARGS="--verbose" is added to both peers' arguments;
# NAT_MATRIX_KEEP_LOGS=DIR keeps the peers' and coturn's output there (NAT_MATRIX_TURN_VERBOSE=1: coturn --verbose).
# Everything made here (namespaces, veths, processes, files) goes at exit, on failure, on INT/TERM/HUP and on the
# script's own watchdog (it ends itself after $NAT_MATRIX_LIMIT seconds, default 110, before CTest's timeout could
# SIGKILL it). Namespaces left by a run that was SIGKILLed anyway are removed by the next run.
set -uo pipefail

PEER=${1:?usage: nat_matrix.sh PATH/TO/rtcpp-peer}
LIMIT=${NAT_MATRIX_LIMIT:-110}
[ "$(id -u)" = 0 ] || { echo "nat_matrix: needs root (network namespaces, nftables)" >&2; exit 1; }
for tool in ip nft turnserver turnutils_natdiscovery timeout cmp; do
  command -v "$tool" >/dev/null ||
    { echo "nat_matrix: $tool not found (CI: scripts/install-deps.sh interop)" >&2; exit 1; }
done
[ -x "$PEER" ] || { echo "nat_matrix: $PEER is not executable" >&2; exit 1; }

P="rnat$$"             # prefix of every namespace made here; the pid tells a stale one from a live one
WORK=$(mktemp -d "/tmp/rtcpp-nat.$$.XXXXXX")
T0=$(date +%s%N)
watchdog=""
turn_pid=""

log() { printf '[%6.2f s] %s\n' "$(( $(date +%s%N) - T0 ))e-9" "$*"; }

# Kills what runs in a namespace we made, then deletes it (its veths go with it).
drop_ns() {
  local ns=$1 pid
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null
}

cleanup() {
  local rc=$? ns
  trap - EXIT INT TERM HUP
  [ -n "$turn_pid" ] && kill -TERM "$turn_pid" 2>/dev/null && wait "$turn_pid" 2>/dev/null
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    case $ns in "$P"-*) drop_ns "$ns" ;; esac
  done
  [ -n "$watchdog" ] && kill -TERM "$watchdog" 2>/dev/null && wait "$watchdog" 2>/dev/null
  if [ -n "${NAT_MATRIX_KEEP_LOGS:-}" ]; then
    mkdir -p "$NAT_MATRIX_KEEP_LOGS" && cp -r "$WORK"/*/ "$WORK"/turn.log "$NAT_MATRIX_KEEP_LOGS"/
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 124' INT TERM HUP

# Namespaces and files left by an earlier run that was killed outright (SIGKILL leaves no chance to clean up).
for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
  if [[ $ns =~ ^rnat([0-9]+)- ]] && ! kill -0 "${BASH_REMATCH[1]}" 2>/dev/null; then drop_ns "$ns"; fi
done
for dir in /tmp/rtcpp-nat.*.*; do
  if [[ $dir =~ ^/tmp/rtcpp-nat\.([0-9]+)\. ]] && ! kill -0 "${BASH_REMATCH[1]}" 2>/dev/null; then rm -rf "$dir"; fi
done

# The watchdog sends TERM to this script; the trap above turns that into an exit with cleanup. Every command the
# script waits for is itself bounded with timeout(1), so the trap runs within a few seconds of the signal.
# (If this script was SIGKILLed the watchdog is an orphan and must not signal whoever has its pid by then.)
( trap 'kill "$s" 2>/dev/null; exit 0' TERM; sleep "$LIMIT" & s=$!; wait "$s"
  read -r _ _ _ ppid _ <"/proc/$BASHPID/stat"
  [ "$ppid" = $$ ] || exit 0
  echo "nat_matrix: watchdog: over ${LIMIT} s, stopping" >&2; kill -TERM $$ ) &
watchdog=$!

nsx() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }
mkns() { ip netns add "$P-$1" && ip -n "$P-$1" link set lo up; }
# veth NS1 IF1 ADDR1 NS2 IF2 ADDR2: one veth pair between two of our namespaces (nothing in the root namespace).
veth() {
  ip -n "$P-$1" link add "$2" type veth peer name "$5" netns "$P-$4" &&
    ip -n "$P-$1" addr add "$3" dev "$2" && ip -n "$P-$4" addr add "$6" dev "$5" &&
    ip -n "$P-$1" link set "$2" up && ip -n "$P-$4" link set "$5" up
}

die() { log "FAIL: $*"; exit 1; }

mkns pub || die "ip netns add"
ip -n "$P-pub" addr add 198.18.0.1/32 dev lo && ip -n "$P-pub" addr add 198.18.0.2/32 dev lo || die "pub addresses"
nsx pub sysctl -qw net.ipv4.ip_forward=1 || die "sysctl"
# The rest of the "internet": a default route into a veth whose other end drops everything. A private address sent
# to (a relay checking a peer's host candidate) then vanishes silently as it would out there; with no route at all
# sendto fails with ENETUNREACH, and coturn 4.6 closes the whole allocation on that error.
ip -n "$P-pub" link add sink0 type veth peer name sink1 && ip -n "$P-pub" addr add 198.18.3.1/24 dev sink0 &&
  ip -n "$P-pub" link set sink0 up && ip -n "$P-pub" link set sink1 up &&
  ip -n "$P-pub" neigh add 198.18.3.2 lladdr 02:00:00:00:00:01 dev sink0 &&
  ip -n "$P-pub" route add default via 198.18.3.2 dev sink0 || die "default route into a sink"

# nat_rules TYPE WAN_IP HOST_IP SIGNAL: the nftables ruleset of one NAT (SIGNAL=1 also forwards TCP 8080 to the host).
nat_rules() {
  local type=$1 wan=$2 host=$3 signal=$4 pre="" post=""
  [ "$signal" = 1 ] && pre+="    iifname \"wan\" tcp dport 8080 dnat ip to $host"$'\n'
  case $type in
    full) pre+="    iifname \"wan\" meta l4proto udp dnat ip to $host"$'\n'
          post="    oifname \"wan\" snat ip to $wan" ;;
    pr)   post="    oifname \"wan\" masquerade" ;;
    sym)  post="    oifname \"wan\" masquerade fully-random" ;;
    *) die "unknown NAT type $type" ;;
  esac
  # The input filter drops unsolicited packets addressed to the NAT itself, as every home router's firewall does.
  # It matters: without it an early check from the other peer to our srflx address (the answerer starts checking
  # before the offerer has the answer) is delivered locally, and the conntrack entry that confirms it holds the
  # tuple our own later outbound check would be mapped to; netfilter then picks another port for that flow, so a
  # masquerade NAT stops being endpoint-independent exactly when hole punching needs it, and pr-pr never connects.
  # A dropped packet's conntrack entry is never confirmed, so the port stays free.
  cat <<EOF
table ip filter {
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "wan" ct state new drop
  }
}
table ip nat {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
$pre  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
$post
  }
}
EOF
}

# side NAME INDEX TYPE SIGNAL: a NAT namespace and a private host namespace behind it, linked to pub.
side() {
  local s=$1 i=$2 type=$3 signal=$4
  mkns "nat$s" && mkns "host$s" || return 1
  veth pub "to$s" "198.18.$i.1/24" "nat$s" wan "198.18.$i.2/24" || return 1
  veth "nat$s" lan "10.$i.0.1/24" "host$s" eth0 "10.$i.0.2/24" || return 1
  ip -n "$P-nat$s" route add default via "198.18.$i.1" || return 1
  ip -n "$P-host$s" route add default via "10.$i.0.1" || return 1
  nsx "nat$s" sysctl -qw net.ipv4.ip_forward=1 || return 1
  nat_rules "$type" "198.18.$i.2" "10.$i.0.2" "$signal" | nsx "nat$s" nft -f - || return 1
}
# Deleting the pub end first removes the veth pair at once; a deleted namespace's own links go asynchronously, and
# the next case would find "to$1" still there.
unside() { ip -n "$P-pub" link del "to$1" 2>/dev/null; drop_ns "$P-host$1"; drop_ns "$P-nat$1"; }

# coturn on the public side: long-term credentials, UDP on both addresses (the second one is what RFC 5780 NAT
# discovery needs), relays on 198.18.0.1. No TLS/DTLS listeners: nothing here uses them.
nsx pub timeout $((LIMIT + 10)) turnserver -n --listening-ip=198.18.0.1 --listening-ip=198.18.0.2 \
  --relay-ip=198.18.0.1 --listening-port=3478 --min-port=49160 --max-port=49400 --fingerprint --lt-cred-mech \
  --user=user:pass --realm=rtcpp.test --no-tls --no-dtls --no-cli --no-multicast-peers \
  --pidfile="$WORK/turnserver.pid" --userdb="$WORK/turndb" --log-file=stdout --simple-log \
  ${NAT_MATRIX_TURN_VERBOSE:+--verbose} >"$WORK/turn.log" 2>&1 &
turn_pid=$!
# Ready once a STUN binding from the public side comes back (the log says little about its listeners).
turn_up() { nsx pub timeout 2 turnutils_stunclient -p 3478 198.18.0.1 2>&1 | grep -q "UDP reflexive addr"; }
for _ in $(seq 100); do grep -q "Total General servers" "$WORK/turn.log" && break; sleep 0.05; done
for _ in $(seq 20); do turn_up && break; sleep 0.1; done
turn_up || { cat "$WORK/turn.log"; die "coturn did not answer STUN on 198.18.0.1:3478"; }
log "coturn up on 198.18.0.1:3478"

# Each NAT type behaves as named: mapping and filtering as coturn's RFC 5780 client sees them from the private host.
# (The three run side by side: natdiscovery waits out its unanswered filtering probes, about 6 s.)
if [ "${NAT_MATRIX_SKIP_DISCOVERY:-0}" != 1 ]; then
  i=10
  probes=()
  for type in full pr sym; do
    i=$((i + 1))
    side "$type" "$i" "$type" 0 || die "building the $type NAT"
    nsx "host$type" timeout 15 turnutils_natdiscovery -m -f 198.18.0.1 >"$WORK/discovery-$type.txt" 2>&1 &
    probes+=($!)
  done
  wait "${probes[@]}"
  for type in full pr sym; do
    unside "$type"
    case $type in
      full) want_map="Endpoint Independent Mapping"; want_filter="Endpoint Independent Filtering" ;;
      pr) want_map="Endpoint Independent Mapping"; want_filter="Address and Port Dependent Filtering" ;;
      sym) want_map="Address and Port Dependent Mapping"; want_filter="Address and Port Dependent Filtering" ;;
    esac
    if ! grep -q "$want_map" "$WORK/discovery-$type.txt" || ! grep -q "$want_filter" "$WORK/discovery-$type.txt"; then
      cat "$WORK/discovery-$type.txt"
      die "NAT '$type' is not '$want_map' + '$want_filter'"
    fi
    log "NAT $type: $want_map, $want_filter (turnutils_natdiscovery)"
  done
fi

head -c $((3 * 1024 * 1024)) /dev/urandom >"$WORK/in.bin"
ICE=(--ice-server stun:198.18.0.1:3478 --ice-server turn:user:pass@198.18.0.1:3478)
read -r -a EXTRA <<<"${NAT_MATRIX_PEER_ARGS:-}" # e.g. --verbose
CASE_TIMEOUT=${NAT_MATRIX_CASE_TIMEOUT:-12}

# expect A_TYPE B_TYPE: "LOCAL_A REMOTE_A LOCAL_B REMOTE_B" as extended regexps for the pair each side selects
# (A offers and sends the file, B answers and receives it). See the header for why.
expect() {
  local rx="(srflx|prflx)"
  case "$1:$2" in
    sym:full) echo "prflx srflx srflx prflx" ;;
    full:sym) echo "srflx prflx prflx srflx" ;;
    pr:sym | sym:pr | sym:sym) echo "relay" ;; # some candidate of the pair is a relay, on both sides
    *) echo "$rx $rx $rx $rx" ;;
  esac
}

# pair_of FILE: "LOCALTYPE REMOTETYPE" from rtcpp-peer's "selected pair <type> <addr> -> <type> <addr>" line.
pair_of() { sed -n 's/.*selected pair \([a-z]*\) [^ ]* -> \([a-z]*\) [^ ]*.*/\1 \2/p' "$1" | head -1; }
addrs_of() { sed -n 's/.*selected pair [a-z]* \([^ ]*\) -> [a-z]* \([^ ]*\).*/\1 -> \2/p' "$1" | head -1; }
connected_ms() { sed -n 's/^\[ *\([0-9.]*\) ms\] connection connected.*/\1/p' "$1" | head -1; }

failures=0
results=()
run_case() {
  local a=$1 b=$2 d="$WORK/$1-$2" ok=1 why=""
  mkdir -p "$d"
  side A 1 "$a" 0 && side B 2 "$b" 1 || die "building $a:$b"
  nsx hostB timeout $((CASE_TIMEOUT + 3)) "$PEER" --listen 10.2.0.2:8080 --bind 10.2.0.2 --receive-file "$d/out.bin" \
    "${ICE[@]}" "${EXTRA[@]}" --timeout "$CASE_TIMEOUT" --quiet >"$d/b.out" 2>"$d/b.err" &
  local bpid=$!
  for _ in $(seq 100); do grep -qs "listening on" "$d/b.err" && break; sleep 0.02; done
  local start
  start=$(date +%s%N)
  nsx hostA timeout $((CASE_TIMEOUT + 3)) "$PEER" --connect http://198.18.2.2:8080/offer --bind 10.1.0.2 \
    --send-file "$WORK/in.bin" "${ICE[@]}" "${EXTRA[@]}" --timeout "$CASE_TIMEOUT" --quiet >"$d/a.out" 2>"$d/a.err" &
  # (wait, not a foreground command: a signal's trap runs at once instead of after the child.)
  wait $!
  local rca=$?
  local wall
  wall=$(( ($(date +%s%N) - start) / 1000000 ))
  # The answerer ends by itself once the file is in (or its timeout passes); bounded either way.
  wait "$bpid"
  local rcb=$?
  unside A
  unside B

  local pa pb
  pa=$(pair_of "$d/a.err")
  pb=$(pair_of "$d/b.err")
  [ "$rca" = 0 ] || { ok=0; why+=" offerer exit $rca;"; }
  [ "$rcb" = 0 ] || { ok=0; why+=" answerer exit $rcb;"; }
  cmp -s "$WORK/in.bin" "$d/out.bin" || { ok=0; why+=" file differs or missing;"; }
  read -r -a want <<<"$(expect "$a" "$b")"
  if [ "${want[0]}" = relay ]; then
    [[ $pa == *relay* ]] || { ok=0; why+=" offerer pair '$pa' has no relay;"; }
    [[ $pb == *relay* ]] || { ok=0; why+=" answerer pair '$pb' has no relay;"; }
  else
    [[ $pa =~ ^${want[0]}\ ${want[1]}$ ]] || { ok=0; why+=" offerer pair '$pa', want '${want[0]} ${want[1]}';"; }
    [[ $pb =~ ^${want[2]}\ ${want[3]}$ ]] || { ok=0; why+=" answerer pair '$pb', want '${want[2]} ${want[3]}';"; }
  fi
  local setup
  setup=$(sed -n 's/^channel open: setup \([0-9.]*\) ms.*/\1/p' "$d/a.out" | head -1)
  local line
  line=$(printf '%-9s A[%s] %-26s B[%s] %-26s connected A %s ms B %s ms, open %s ms, run %d ms' "$a:$b" \
    "$(addrs_of "$d/a.err")" "${pa:-none}" "$(addrs_of "$d/b.err")" "${pb:-none}" "$(connected_ms "$d/a.err")" \
    "$(connected_ms "$d/b.err")" "${setup:--}" "$wall")
  if [ "$ok" = 1 ]; then
    log "PASS $line"
  else
    failures=$((failures + 1))
    log "FAIL $line:$why"
    for f in a.err b.err; do sed "s/^/    $f: /" "$d/$f" | tail -15; done
  fi
  results+=("$([ "$ok" = 1 ] && echo PASS || echo FAIL) $a:$b")
}

# Direct cases first (fast), relayed ones last. Both orders of each mixed pair: who offers decides the ICE roles.
CASES=${NAT_MATRIX_CASES:-"full:full full:pr pr:full pr:pr full:sym sym:full pr:sym sym:pr sym:sym"}
for c in $CASES; do run_case "${c%%:*}" "${c##*:}"; done

log "summary: ${results[*]}"
[ "$failures" = 0 ] || die "$failures of $(wc -w <<<"$CASES") NAT cases failed"
log "all $(wc -w <<<"$CASES") NAT cases passed"
