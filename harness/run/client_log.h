// The output of one run's external client: the client writes to a file of its
// own, and when the run ends the whole is appended to the shared --client_log
// under a header line, so that runs going on at once never interleave their
// lines; the text also goes into the run's report.
#ifndef TALKCHECK_HARNESS_RUN_CLIENT_LOG_H_
#define TALKCHECK_HARNESS_RUN_CLIENT_LOG_H_

#include <string>

namespace talkcheck::harness {

class ClientLog {
 public:
  // `shared`: the --client_log file (empty: none, the output is only kept).
  explicit ClientLog(std::string shared);
  ~ClientLog();
  ClientLog(const ClientLog&) = delete;
  ClientLog& operator=(const ClientLog&) = delete;

  // Where the client writes (empty when no temporary file could be made).
  const std::string& path() const { return path_; }

  // Appends the output to the shared log under "=== talkcheck: HEADER ===" and
  // returns it. Appends from every thread of the process are serialised.
  std::string Finish(const std::string& header);

 private:
  std::string shared_;
  std::string path_;
};

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_RUN_CLIENT_LOG_H_
