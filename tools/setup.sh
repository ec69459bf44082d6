#!/usr/bin/env bash
# The one install step for talkcheck on Debian 12: every package the build, the tests, the
# benchmarks and CI need. Idempotent; when everything is installed it only asks dpkg and
# returns in well under a second.
set -euo pipefail

PACKAGES=(
  # Build: Bazel 4.2.3 (offline, WORKSPACE mode) and the C++ toolchain.
  bazel-bootstrap bazel-rules-java bazel-platforms g++ pkg-config clang-format
  # Libraries (fixed by the product card) and benchmarks.
  libgtest-dev libgmock-dev libbenchmark-dev libtinyxml2-dev libabsl-dev
  libprotobuf-dev protobuf-compiler libboost-dev libssl-dev openssl
  # Real third-party XMPP client driven by tests/ (run with /usr/bin/python3).
  python3-slixmpp
  # Real RTP peers and analysers for media_sim (tests/gstreamer_rtp_test,
  # tests/tshark_rtp_test): gst-launch-1.0 with the PCMU payloader, and tshark.
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good tshark
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

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
