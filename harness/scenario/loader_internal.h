// The scenario loader's working parts, shared by the files that implement it.
//
// One Loader reads one scenario file and the fragments it includes, collecting
// every error with its file:line:column. Its members are defined by concern:
//   scenario_loader.cc  the document: root, children, includes, <peer>, <var>,
//                       and the whole-file checks once everything is read
//   loader_checks.cc    parsing a file, positions of errors, attribute readers
//   loader_timing.cc    durations, timings and the `fuzz` attribute
//   loader_stanzas.cc   the stanza a step holds and its ${variable} references
//   loader_steps.cc     the steps (<send>, <expect>, ... <media>)
//
// Internal to the scenario loader; scenario_loader.h is the API.
#ifndef TALKCHECK_HARNESS_SCENARIO_LOADER_INTERNAL_H_
#define TALKCHECK_HARNESS_SCENARIO_LOADER_INTERNAL_H_

#include <tinyxml2.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "harness/scenario/scenario.pb.h"
#include "harness/scenario/scenario_loader.h"
#include "harness/scenario/source_map.h"
#include "xmpp/element.h"

namespace talkcheck::harness::scenario_internal {

// One parsed file; kept alive while its steps are read.
struct SourceFile {
  std::string path;  // as shown in messages
  std::string text;
  tinyxml2::XMLDocument doc;
  SourceMap map;
};

// A PeerBehaviour switch and the attribute that sets it (on <peer> and
// <peer-behaviour>).
struct BehaviourAttribute {
  const char* name;
  void (PeerBehaviour::*set)(bool);
};

inline constexpr BehaviourAttribute kBehaviourAttributes[] = {
    {"ack-session-iqs", &PeerBehaviour::set_ack_session_iqs},
    {"answer-disco", &PeerBehaviour::set_answer_disco},
    {"send-presence", &PeerBehaviour::set_send_presence},
    {"answer-pings", &PeerBehaviour::set_answer_pings},
    {"reject-unknown-sessions", &PeerBehaviour::set_reject_unknown_sessions},
    {"transport-accept", &PeerBehaviour::set_transport_accept},
    {"unknown-channel-error", &PeerBehaviour::set_unknown_channel_error},
};

// Whether `node` is character data that is not all whitespace.
bool HasText(const tinyxml2::XMLNode& node);

// Loads one scenario (LoadScenarioText); use each instance once.
// Does not take ownership of `options`, which must outlive it.
class Loader {
 public:
  explicit Loader(const LoadOptions& options) : options_(options) {}

  LoadResult Load(absl::string_view text, const std::string& path);

 private:
  using XMLElement = tinyxml2::XMLElement;
  using XMLNode = tinyxml2::XMLNode;

  // Where steps are read: a <scenario>, an included <fragment>, an
  // <any-order> (expects only), the rest of a one-of <branch>, a <repeat>.
  enum class Container { kScenario, kFragment, kAnyOrder, kBranch, kRepeat };

  // Errors
  LoadError At(const SourceFile& f, const XMLElement* e) const;
  LoadError AtAttribute(const SourceFile& f, const XMLElement* e,
                        absl::string_view attribute) const;
  void Error(const SourceFile& f, const XMLElement* e, std::string message);
  void AttributeError(const SourceFile& f, const XMLElement* e,
                      absl::string_view attribute, std::string message);
  // Warnings: printed like errors; they do not stop a run (LoadResult).
  void Warning(const SourceFile& f, const XMLElement* e, std::string message);
  void AttributeWarning(const SourceFile& f, const XMLElement* e,
                        absl::string_view attribute, std::string message);
  // The position of `value` in the content of step `e` (its first
  // occurrence), else in its start tag, else of `e`.
  LoadError AtValue(const SourceFile& f, const XMLElement* e,
                    absl::string_view value) const;
  void ValueError(const SourceFile& f, const XMLElement* e,
                  absl::string_view value, std::string message);

  // Parses f.text; false (reported) if it is not well-formed XML.
  bool Parse(SourceFile& f);

  // Attributes
  void CheckAttributes(const SourceFile& f, const XMLElement* e,
                       const std::vector<absl::string_view>& allowed);
  const char* Required(const SourceFile& f, const XMLElement* e,
                       const char* name);
  std::optional<bool> Bool(const SourceFile& f, const XMLElement* e,
                           const char* name);
  std::optional<Timing> TimingAttribute(const SourceFile& f,
                                        const XMLElement* e, const char* name,
                                        bool required);
  void CheckNoContent(const SourceFile& f, const XMLElement* e);
  // Stray character data `text` inside `parent`.
  void TextError(const SourceFile& f, const XMLNode& text,
                 const XMLElement* parent);

  // Structure
  // Reads the children of `parent` from `start` (its first child when null).
  void LoadChildren(SourceFile& f, const XMLElement* parent,
                    Container container,
                    google::protobuf::RepeatedPtrField<Step>& steps,
                    const XMLNode* start = nullptr);
  // <one-of> and <repeat> are flattened into `steps` (scenario.proto).
  void LoadOneOf(SourceFile& f, const XMLElement* e,
                 google::protobuf::RepeatedPtrField<Step>& steps);
  void LoadRepeat(SourceFile& f, const XMLElement* e,
                  google::protobuf::RepeatedPtrField<Step>& steps);
  // One <branch> of the one-of at steps[head_index]: its first expect into
  // the head, the rest of it flattened, then a jump to `end`.
  // `any_address`: the one-of's to="any", for every branch.
  void LoadBranch(SourceFile& f, const XMLElement* branch, int head_index,
                  const std::optional<Timing>& within, bool any_address,
                  const std::string& end,
                  google::protobuf::RepeatedPtrField<Step>& steps);
  // The <expect> that starts a one-of <branch>.
  void LoadBranchFirst(SourceFile& f, const XMLElement* e, Step& step);
  std::string NewAnchor() { return absl::StrCat("#", ++anchors_); }
  // Step numbers (Step.number): the next number at the current level, and
  // the level of a container's steps ("4.b." in branch b of one-of 4).
  std::string NextNumber() {
    return absl::StrCat(number_prefix_, ++number_count_);
  }
  struct NumberLevel {
    std::string prefix;
    int count;
  };
  NumberLevel EnterNumbers(std::string prefix) {
    NumberLevel outer{std::move(number_prefix_), number_count_};
    number_prefix_ = std::move(prefix);
    number_count_ = 0;
    return outer;
  }
  void LeaveNumbers(NumberLevel outer) {
    number_prefix_ = std::move(outer.prefix);
    number_count_ = outer.count;
  }
  void LoadInclude(SourceFile& f, const XMLElement* e,
                   google::protobuf::RepeatedPtrField<Step>& steps);
  void LoadPeer(const SourceFile& f, const XMLElement* e, PeerSpec& peer);
  // `peer="NAME"` on a step: a <peer> declared before it.
  void LoadStepPeer(const SourceFile& f, const XMLElement* e, Step& step);
  // `to="any|peer"` on an expect, expect-none or any-order: whether the step
  // matches every stanza the client sent. Refuses `peer=` next to "any".
  bool LoadAnyAddress(const SourceFile& f, const XMLElement* e);
  void LoadBehaviour(const SourceFile& f, const XMLElement* e,
                     PeerBehaviour& behaviour);
  void LoadVar(const SourceFile& f, const XMLElement* e);
  // Fills `step`; false if `e` is not a step (already reported).
  bool LoadStep(SourceFile& f, const XMLElement* e, Container container,
                Step& step);
  void LoadSend(SourceFile& f, const XMLElement* e, Step& step);
  void LoadExpect(SourceFile& f, const XMLElement* e, Step& step);
  // within, exact, next (unless `nested` in any-order) and the pattern.
  void LoadExpectBody(SourceFile& f, const XMLElement* e, bool nested,
                      ExpectStep& expect);
  void LoadExpectNone(SourceFile& f, const XMLElement* e, Step& step);
  void LoadDelay(SourceFile& f, const XMLElement* e, Step& step);
  void LoadEnd(SourceFile& f, const XMLElement* e, Step& step);
  void LoadAnyOrder(SourceFile& f, const XMLElement* e, Step& step);
  void LoadControl(SourceFile& f, const XMLElement* e, Step& step);
  void LoadPeerBehaviour(SourceFile& f, const XMLElement* e, Step& step);
  void LoadMedia(SourceFile& f, const XMLElement* e, Step& step);
  // location, optional, and (unless `nested`) label and on-timeout (if
  // `timed`).
  void LoadCommon(const SourceFile& f, const XMLElement* e, bool timed,
                  bool nested, Step& step);
  // The stanza (or pattern) a send/expect/expect-none holds; nullopt if none.
  std::optional<std::string> Stanza(const SourceFile& f, const XMLElement* e,
                                    bool required);

  // Variables
  bool IsDefined(const std::string& name) const;
  // A defined, built-in or captured name one typo away from `name`, if any.
  std::optional<std::string> NearbyName(const std::string& name) const;
  // Reports invalid names, unterminated references, and undefined names
  // unless `captures` collects them. False if the text cannot be substituted.
  bool CheckReferences(const SourceFile& f, const XMLElement* e,
                       absl::string_view text,
                       std::vector<std::string>* captures);
  // CheckReferences, then whether the stanza parses with dummy values.
  // Returns the stanza parsed with dummy values when it parses.
  std::optional<xmpp::Element> CheckStanza(const SourceFile& f,
                                           const XMLElement* e,
                                           absl::string_view stanza,
                                           std::vector<std::string>* captures);
  // Pattern values: regexes compile, variables in regexes and negations are
  // set before the step. Returns the names regexes and negations refer to
  // (never captures).
  std::vector<std::string> CheckPatternValues(const SourceFile& f,
                                              const XMLElement* e,
                                              absl::string_view pattern);
  // The matcher's own attributes (kPatternNs) in `pattern`: known, valid,
  // and never on an element that could leave a capture unset.
  void CheckMatcherAttributes(const SourceFile& f, const XMLElement* e,
                              const xmpp::Element& pattern, bool root);
  // Google session elements in an unknown namespace (warnings).
  void CheckGoogleNamespaces(const SourceFile& f, const XMLElement* e,
                             const xmpp::Element& stanza);
  // Records new captures of an expect: misspelling and unused-capture
  // warnings.
  void NoteCaptures(const SourceFile& f, const XMLElement* e,
                    const std::vector<std::string>& captures);
  // Whether the stanza a peer sends starts a call (ringing at the client).
  static bool IsInitiate(const xmpp::Element& stanza);

  const LoadOptions& options_;
  std::vector<LoadError> errors_;
  std::vector<LoadError> warnings_;
  // Included files, read and parsed once each (by canonical path).
  std::map<std::string, std::unique_ptr<SourceFile>> files_;
  int includes_ = 0;      // include elements expanded (kMaxIncludes)
  bool too_big_ = false;  // a count limit was hit: stop reading
  int anchors_ = 0;
  std::string number_prefix_;
  int number_count_ = 0;
  // The least time the steps read so far take (delays, expect-none periods).
  int64_t min_ms_ = 0;
  // Whether an earlier send holds an initiate / a control calls.
  bool initiate_sent_ = false;
  bool call_made_ = false;
  // The expanded size of each <var> (kMaxVariableBytes).
  std::map<std::string, size_t> var_sizes_;
  // Captures: where each was first made, and whether a later step uses it.
  struct CaptureSite {
    LoadError where;
    bool used = false;
  };
  std::map<std::string, CaptureSite> captures_;
  int branch_depth_ = 0;  // one-of branches being read
  // Labels of expects, with the branch depth they were read at.
  std::map<std::string, int> expect_label_depth_;
  std::set<std::string> defined_;  // <var>s and captures so far
  std::map<std::string, LoadError> labels_;
  std::vector<std::pair<std::string, LoadError>> gotos_;
  // The files being read, outermost first: canonical paths and display paths.
  std::vector<std::string> include_keys_;
  std::vector<std::string> include_paths_;
  // The <include> elements of the current chain, outermost first: steps of a
  // fragment carry them (SourceLocation.included_from).
  std::vector<SourceLocation> include_sites_;
  Scenario* scenario_ = nullptr;
  bool seen_description_ = false;
  bool seen_peer_ = false;
  // Names of the <peer>s declared so far, and their JIDs' user/resource.
  std::set<std::string> peer_names_;
  std::set<std::string> peer_jids_;
};

}  // namespace talkcheck::harness::scenario_internal

#endif  // TALKCHECK_HARNESS_SCENARIO_LOADER_INTERNAL_H_
