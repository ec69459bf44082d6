#include "harness/run/process_state.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>

#include "gtest/gtest.h"

namespace talkcheck::harness {
namespace {

// Verifies the state and process group are read after the last ')', whatever
// the command name holds.
TEST(ProcessStateTest, ParsesStatLines) {
  char state = 0;
  pid_t group = 0;
  ASSERT_TRUE(
      ParseProcStat("4242 (my client) T 1 4240 4240 0 -1", state, group));
  EXPECT_EQ(state, 'T');
  EXPECT_EQ(group, 4240);
  ASSERT_TRUE(ParseProcStat("7 (a) b) (c)) S 1 7 7", state, group));
  EXPECT_EQ(state, 'S');
  EXPECT_EQ(group, 7);
  EXPECT_FALSE(ParseProcStat("no parenthesis here", state, group));
  EXPECT_FALSE(ParseProcStat("1 (x)", state, group));
}

// Verifies a child of its own process group is found once it stops itself,
// and not while it runs.
TEST(ProcessStateTest, FindsAStoppedChild) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    setpgid(0, 0);
    char go = 0;
    if (read(ready[0], &go, 1) != 1) _exit(1);
    raise(SIGSTOP);
    _exit(0);
  }
  setpgid(child, child);  // either side may win the race; both set the same
  EXPECT_EQ(StoppedProcessInGroup(child), std::nullopt);
  ASSERT_EQ(write(ready[1], "g", 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, WUNTRACED), child);
  ASSERT_TRUE(WIFSTOPPED(status));
  EXPECT_EQ(StoppedProcessInGroup(child), child);
  kill(child, SIGKILL);
  waitpid(child, &status, 0);
  close(ready[0]);
  close(ready[1]);
}

}  // namespace
}  // namespace talkcheck::harness
