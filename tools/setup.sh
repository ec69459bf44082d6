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
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
