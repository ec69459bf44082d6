#include "harness/fuzz/replay_client.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "harness/scenario/profiles.h"

namespace talkcheck::harness {

void RecordClient(const ClientSpec& client, absl::string_view profile,
                  Replay& replay) {
  replay.set_client(client.Describe());
  if (profile != kDefaultProfile) replay.set_profile(std::string(profile));
  if (client.external()) {
    replay.set_client_cmd(client.command);
    if (client.time_scale != 1) replay.set_time_scale(client.time_scale);
    return;
  }
  for (absl::string_view f :
       absl::StrSplit(client.faults, ',', absl::SkipEmpty())) {
    replay.add_faults(std::string(f));
  }
  replay.set_dialect(client.dialect);
  replay.set_codecs(client.codecs);
  if (client.answer_after != absl::InfiniteDuration())
    replay.set_answer_after(absl::FormatDuration(client.answer_after));
}

absl::StatusOr<ClientSpec> ClientFromReplay(const Replay& replay) {
  ClientSpec client;
  client.faults = absl::StrJoin(replay.faults(), ",");
  if (!replay.dialect().empty()) client.dialect = replay.dialect();
  client.codecs = replay.codecs();
  if (!replay.answer_after().empty() &&
      !absl::ParseDuration(replay.answer_after(), &client.answer_after)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "answer_after \"", replay.answer_after(), "\" is not a duration"));
  }
  client.command = replay.client_cmd();
  if (replay.time_scale() > 0) client.time_scale = replay.time_scale();
  return client;
}

std::string ProfileFromReplay(const Replay& replay) {
  return replay.profile().empty() ? kDefaultProfile : replay.profile();
}

}  // namespace talkcheck::harness
