// talkcheck's entry point: harness/talkcheck_cli.h says what it does.
#include "harness/talkcheck_cli.h"

int main(int argc, char** argv) {
  return talkcheck::harness::TalkcheckMain(argc, argv);
}
