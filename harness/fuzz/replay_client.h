// The client and profile of a replay file: what a campaign ran, written into
// its replays, and read back by `talkcheck replay`, so that a replay runs the
// same client in the same mode (faults, dialect, codecs, when it answers) and
// judges the scenario by the same profile.
#ifndef TALKCHECK_HARNESS_FUZZ_REPLAY_CLIENT_H_
#define TALKCHECK_HARNESS_FUZZ_REPLAY_CLIENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "harness/fuzz/fuzz.pb.h"
#include "harness/run/world.h"

namespace talkcheck::harness {

// Writes `client` (the reference client's options, or an external command
// with its time scale) and `profile` into `replay`.
void RecordClient(const ClientSpec& client, absl::string_view profile,
                  Replay& replay);

// The client `replay` recorded. kInvalidArgument for an answer_after that is
// not a duration.
absl::StatusOr<ClientSpec> ClientFromReplay(const Replay& replay);

// The profile `replay` was judged by: the default for files without one.
std::string ProfileFromReplay(const Replay& replay);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_FUZZ_REPLAY_CLIENT_H_
