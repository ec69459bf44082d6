#include "harness/run/process_state.h"

#include <dirent.h>

#include <cctype>
#include <fstream>
#include <sstream>

namespace talkcheck::harness {

bool ParseProcStat(const std::string& line, char& state, pid_t& group) {
  // "PID (COMM) STATE PPID PGRP ...": COMM may hold spaces and parentheses,
  // so the fields start after the last ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream fields(line.substr(close + 1));
  long ppid = 0;
  long pgrp = 0;
  if (!(fields >> state >> ppid >> pgrp)) return false;
  group = static_cast<pid_t>(pgrp);
  return true;
}

std::optional<pid_t> StoppedProcessInGroup(pid_t group) {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return std::nullopt;
  std::optional<pid_t> stopped;
  while (dirent* entry = readdir(proc)) {
    if (!std::isdigit(static_cast<unsigned char>(entry->d_name[0]))) continue;
    std::ifstream stat(std::string("/proc/") + entry->d_name + "/stat");
    std::string line;
    char state = 0;
    pid_t member_group = 0;
    if (std::getline(stat, line) && ParseProcStat(line, state, member_group) &&
        member_group == group && state == 'T') {
      stopped = static_cast<pid_t>(std::stol(entry->d_name));
      break;
    }
  }
  closedir(proc);
  return stopped;
}

}  // namespace talkcheck::harness
