// FUZZ_CHECK(cond, message): a property of a fuzz target. When it does not
// hold, prints the message and aborts, which libFuzzer reports as a crash (and
// saves the input) and the corpus test (corpus_driver.cc) as a failure.
//
// Example:
//   FUZZ_CHECK(*first == *second, "round trip changed " << wire);
#ifndef TALKCHECK_TESTS_FUZZ_FUZZ_CHECK_H_
#define TALKCHECK_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdlib>
#include <iostream>

#define FUZZ_CHECK(cond, message)                                       \
  do {                                                                  \
    if (!(cond)) {                                                      \
      std::cerr << __FILE__ << ":" << __LINE__ << ": FUZZ_CHECK(" #cond \
                << ") failed: " << message << std::endl;                \
      std::abort();                                                     \
    }                                                                   \
  } while (0)

#endif  // TALKCHECK_TESTS_FUZZ_FUZZ_CHECK_H_
