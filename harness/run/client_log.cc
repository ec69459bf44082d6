#include "harness/run/client_log.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"

namespace talkcheck::harness {

ClientLog::ClientLog(std::string shared) : shared_(std::move(shared)) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/talkcheck-log-XXXXXX");
  const int fd = mkstemp(pattern.data());
  if (fd < 0) return;
  close(fd);
  path_ = pattern;
}

ClientLog::~ClientLog() {
  if (!path_.empty()) std::remove(path_.c_str());
}

std::string ClientLog::Finish(const std::string& header) {
  if (path_.empty()) return "";
  std::ifstream in(path_, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!shared_.empty()) {
    static std::mutex* const shared_mu = new std::mutex;
    std::lock_guard<std::mutex> lock(*shared_mu);
    std::ofstream out(shared_, std::ios::binary | std::ios::app);
    out << "=== talkcheck: " << header << " ===\n" << text.str();
  }
  return text.str();
}

}  // namespace talkcheck::harness
