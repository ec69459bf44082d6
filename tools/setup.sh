#!/usr/bin/env bash
# The one install step for talkcheck on Debian 12: every package the build, the tests, the
# benchmarks and CI need. Idempotent; when everything is installed it only asks dpkg and
# returns in well under a second.
set -euo pipefail

PACKAGES=(
  # Build: Bazel 4.2.3 (offline, WORKSPACE mode) and the C++ toolchain.
  bazel-bootstrap bazel-rules-java bazel-platforms g++ pkg-config clang-format
  # Capture files for Wireshark (talkcheck run --pcap).
  libpcap-dev
  # Libraries (fixed by the product card) and benchmarks.
  libgtest-dev libgmock-dev libbenchmark-dev libtinyxml2-dev libabsl-dev
  libprotobuf-dev protobuf-compiler libboost-dev libssl-dev openssl
  # tcmalloc for talkcheck and the fuzz benchmark: timeout fuzzing allocates a lot (stanzas,
  # timers, datagrams), and glibc's malloc cost ~20% of a schedule (docs/fuzzing.md).
  libtcmalloc-minimal4
  # Real third-party XMPP client driven by tests/ (run with /usr/bin/python3).
  python3-slixmpp
  # Real RTP peers and analysers for media_sim (tests/gstreamer_rtp_test,
  # tests/tshark_rtp_test): gst-launch-1.0 with the PCMU payloader, and tshark.
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good tshark
  # A real Google Talk voice client, libpurple, driven headless as the client under
  # test (tests/purple): its library and headers, GStreamer's headers, libnice's
  # GStreamer elements (Farstream's ICE), and ip for the test's network namespace.
  libpurple-dev libgstreamer1.0-dev gstreamer1.0-nice iproute2
  # A real browser for the HTML report (harness:html_report_chromium_test).
  chromium
  # libFuzzer targets (bazel build --config=fuzz, tools/fuzz.sh): Debian's clang and its
  # sanitizer and libFuzzer runtimes (only recommended by clang, so named here), and lld.
  clang libclang-rt-14-dev lld
  # The server tools/load_vs_prosody.sh compares the fake server with (issue 13 §7); the
  # script starts a private instance, so the system service is disabled below.
  prosody
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$pkg")
done

# Node.js runs the third-party XMPP client library the WebSocket test drives;
# an image may bring its own build, so only a missing `node` asks for Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup.sh: missing packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # wireshark-common (tshark) asks whether non-root users may capture: answer no
  # up front (the tests run tshark as root).
  echo "wireshark-common wireshark-common/install-setuid boolean false" |
    debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian enables and starts Prosody's system service on install (unless policy-rc.d
# forbids it, as in containers); the benchmark needs none, so stop and disable it. Without
# systemd running, systemctl only removes the unit's links; update-rc.d covers sysvinit.
if [[ $(id -u) -eq 0 && -e /lib/systemd/system/prosody.service ]]; then
  if [[ -e /etc/systemd/system/multi-user.target.wants/prosody.service ]]; then
    systemctl disable --now prosody >/dev/null 2>&1 ||
      rm -f /etc/systemd/system/multi-user.target.wants/prosody.service
  fi
  if [[ -x /etc/init.d/prosody ]] && ls /etc/rc[2-5].d/S*prosody >/dev/null 2>&1; then
    /etc/init.d/prosody stop >/dev/null 2>&1 || true
    update-rc.d prosody disable >/dev/null 2>&1 || true
  fi
fi

# npm packages (tools/npm/package-lock.json) in one place outside the clone,
# which tests find at a fixed path; reinstalled only when the lock changes.
npm_dir=/opt/talkcheck/npm
lock="$(dirname "$0")/npm/package-lock.json"
if ! cmp -s "$lock" "$npm_dir/package-lock.json" ||
  [[ ! -d "$npm_dir/node_modules/@xmpp/client" ]]; then
  echo "setup.sh: installing npm packages in $npm_dir" >&2
  mkdir -p "$npm_dir"
  cp "$(dirname "$0")/npm/package.json" "$lock" "$npm_dir/"
  (cd "$npm_dir" && npm ci --no-audit --no-fund --loglevel=error) ||
    { echo "setup.sh: npm ci failed" >&2; exit 1; }
fi
