#!/usr/bin/env bash
# The project's client: here talkcheck's reference client, found in the
# runfiles, started with the arguments talkcheck gives (--server, --jid,
# --password) and its timers scaled like the scenarios (--time_scale=0.1).
here=$(cd "$(dirname "$0")" && pwd)
for candidate in "$here/my_client.runfiles/talkcheck/reference_client/reference_client" \
  "${RUNFILES_DIR:-/nonexistent}/talkcheck/reference_client/reference_client" \
  "$PWD/external/talkcheck/reference_client/reference_client" \
  "$PWD/../talkcheck/reference_client/reference_client"; do
  if [[ -x "$candidate" ]]; then exec "$candidate" --time_scale=0.1 "$@"; fi
done
echo "my_client: reference_client not found in the runfiles" >&2
exit 1
