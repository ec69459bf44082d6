// Scenario files -> Scenario protos, every problem reported at
// file:line:column.
//
// tinyxml2 builds the tree; a scanner over the same text (SourceMap) finds
// where each element and attribute starts and where each element's content
// begins and ends, which tinyxml2 does not record, and reports the malformed
// markup tinyxml2 lets through. Stanzas are kept as the exact text between a
// step's tags (comments removed), so what an author pasted from a capture is
// what the runner sends.
// The Loader's parts are listed in loader_internal.h; this file reads the
// document (root, children, includes, <peer>, <var>) and runs the whole-file
// checks once everything is read.
//
// Decisions the header leaves open (for scenarios/README.md):
// - Columns count UTF-8 code points from 1; a tab is one column.
// - A plain timing sets ms = min_ms = max_ms. A range "A..B" sets is_range,
//   min_ms = A, max_ms = B and ms = B (the upper bound: a `within` range never
//   fails earlier than its most patient draw). `fuzz="A..B"` next to a plain
//   timing keeps ms from the timing and takes the bounds from fuzz.
// - `within` is required on expect, any-order and media; `for` on delay and
//   expect-none. An expect inside any-order may omit `within` (it gets the
//   group's) and takes no label, next or on-timeout.
// - on-timeout is accepted on the steps that can time out: expect, any-order,
//   media.
// - A `${x}` in an expect pattern that is not yet defined is a capture: it
//   defines x for the steps after the expect (after the whole group for
//   any-order). expect-none patterns never capture (a match is a failure).
// - Errors are grouped by file (in the order files first have one), each group
//   in line and column order.
#include "harness/scenario/scenario_loader.h"

#include <arpa/inet.h>
#include <tinyxml2.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "harness/scenario/loader_internal.h"
#include "harness/scenario/profiles.h"
#include "harness/scenario/variables.h"

namespace talkcheck::harness {
namespace {

// Reads a regular file of at most kMaxScenarioFileBytes. Devices, FIFOs and
// sockets are refused before they are opened: /dev/zero never ends and a FIFO
// blocks the open.
absl::StatusOr<std::string> ReadFile(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec) return absl::NotFoundError(ec.message());
  if (fs::is_directory(status)) {
    return absl::FailedPreconditionError("is a directory");
  }
  if (!fs::is_regular_file(status)) {
    return absl::FailedPreconditionError(
        "is not a regular file (a device, FIFO or socket)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(std::strerror(errno));
  // In pieces, up to one byte past the limit: a buffer of the limit's size,
  // zeroed for every file and fragment, cost more than the parse (the loader
  // fuzzer spent half its time in the page faults of its memset).
  std::string text;
  char piece[1 << 14];
  while (text.size() <= kMaxScenarioFileBytes && in) {
    in.read(piece,
            static_cast<std::streamsize>(std::min(
                sizeof(piece), kMaxScenarioFileBytes + 1 - text.size())));
    text.append(piece, static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return absl::DataLossError(std::strerror(errno));
  if (text.size() > kMaxScenarioFileBytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("larger than ", kMaxScenarioFileBytes,
                     " bytes (kMaxScenarioFileBytes)"));
  }
  return text;
}

}  // namespace

namespace scenario_internal {

using tinyxml2::XMLElement;
using tinyxml2::XMLNode;

void Loader::LoadBehaviour(const SourceFile& f, const XMLElement* e,
                           PeerBehaviour& behaviour) {
  for (const BehaviourAttribute& attribute : kBehaviourAttributes) {
    if (std::optional<bool> value = Bool(f, e, attribute.name)) {
      (behaviour.*attribute.set)(*value);
    }
  }
}

void SetPeerDefaults(PeerSpec& peer) {
  peer.set_user("peer");
  peer.set_resource("Talk.v104");
  peer.set_caps_node("http://www.google.com/xmpp/client/caps");
  peer.set_caps_ver("1.0.0.104");
  peer.add_caps_ext("voice-v1");
  peer.mutable_behaviour();
}

void Loader::LoadPeer(const SourceFile& f, const XMLElement* e,
                      PeerSpec& peer) {
  std::vector<absl::string_view> allowed = {
      "name",      "user",     "resource", "role",         "dialect",
      "caps-node", "caps-ver", "caps-ext", "media-address"};
  for (const BehaviourAttribute& a : kBehaviourAttributes) {
    allowed.push_back(a.name);
  }
  CheckAttributes(f, e, allowed);
  CheckNoContent(f, e);
  for (const char* name :
       {"user", "resource", "caps-node", "caps-ver", "media-address"}) {
    const char* value = e->Attribute(name);
    if (value == nullptr) continue;
    if (*value == '\0') {
      AttributeError(f, e, name, absl::StrCat(name, " must not be empty"));
    } else if (std::strcmp(name, "media-address") == 0) {
      in6_addr v6;
      in_addr v4;
      if (inet_pton(AF_INET, value, &v4) != 1 &&
          inet_pton(AF_INET6, value, &v6) != 1) {
        AttributeError(f, e, name,
                       absl::StrCat("media-address must be an IPv4 or IPv6 "
                                    "literal, got \"",
                                    value, "\""));
      } else {
        peer.set_media_address(value);
      }
    } else if (std::strcmp(name, "user") == 0) {
      peer.set_user(value);
    } else if (std::strcmp(name, "resource") == 0) {
      peer.set_resource(value);
    } else if (std::strcmp(name, "caps-node") == 0) {
      peer.set_caps_node(value);
    } else {
      peer.set_caps_ver(value);
    }
  }
  if (const char* role = e->Attribute("role")) {
    if (std::strcmp(role, "caller") == 0) {
      peer.set_role(ROLE_CALLER);
    } else if (std::strcmp(role, "callee") == 0) {
      peer.set_role(ROLE_CALLEE);
    } else {
      AttributeError(
          f, e, "role",
          absl::StrCat("role must be \"caller\" or \"callee\", got \"", role,
                       "\""));
    }
  }
  if (const char* dialect = e->Attribute("dialect")) {
    static const std::map<std::string, Dialect>* const kDialects =
        new std::map<std::string, Dialect>{
            {"g1", DIALECT_G1}, {"g2", DIALECT_G2}, {"g3", DIALECT_G3}};
    if (auto it = kDialects->find(dialect); it != kDialects->end()) {
      peer.set_dialect(it->second);
    } else {
      AttributeError(
          f, e, "dialect",
          absl::StrCat("dialect must be g1, g2 or g3, got \"", dialect, "\""));
    }
  }
  if (const char* ext = e->Attribute("caps-ext")) {
    peer.clear_caps_ext();
    for (absl::string_view token :
         absl::StrSplit(ext, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty())) {
      peer.add_caps_ext(std::string(token));
    }
  }
  LoadBehaviour(f, e, *peer.mutable_behaviour());
  const char* name = e->Attribute("name");
  peer.set_name(name != nullptr ? name : peer.user());
  if (name != nullptr && (!IsValidVariableName(peer.name()) ||
                          absl::StrContains(peer.name(), ':'))) {
    AttributeError(
        f, e, "name",
        absl::StrCat("peer name \"", peer.name(),
                     "\" is not a valid variable name part (letters, digits, "
                     "'_', '-', '.')"));
  } else if (!peer_names_.insert(peer.name()).second) {
    const std::string message = absl::StrCat(
        "a second <peer> named \"", peer.name(),
        "\": give each <peer> its own name= (it defaults to user)");
    if (name != nullptr) {
      AttributeError(f, e, "name", message);
    } else {
      Error(f, e, message);
    }
  } else if (!peer_jids_.insert(absl::StrCat(peer.user(), "/", peer.resource()))
                  .second) {
    Error(f, e,
          absl::StrCat("a second <peer> with the JID ", peer.user(), "@.../",
                       peer.resource(),
                       ": each peer needs its own user or resource"));
  }
}

void Loader::LoadStepPeer(const SourceFile& f, const XMLElement* e,
                          Step& step) {
  const char* name = e->Attribute("peer");
  if (name == nullptr) return;
  if (peer_names_.count(name) == 0) {
    AttributeError(f, e, "peer",
                   absl::StrCat("peer=\"", name,
                                "\" names no <peer> declared before this step; "
                                "declared: ",
                                peer_names_.empty()
                                    ? std::string("none (the default peer is "
                                                  "named \"peer\")")
                                    : absl::StrJoin(peer_names_, ", ")));
    return;
  }
  step.set_peer(name);
}

bool Loader::LoadAnyAddress(const SourceFile& f, const XMLElement* e) {
  const char* to = e->Attribute("to");
  if (to == nullptr || std::strcmp(to, "peer") == 0) return false;
  if (std::strcmp(to, "any") != 0) {
    AttributeError(
        f, e, "to",
        absl::StrCat("to must be \"any\" (every stanza the client sends) or "
                     "\"peer\" (what reaches the step's peer), got \"",
                     to, "\""));
    return false;
  }
  if (e->Attribute("peer") != nullptr) {
    AttributeError(f, e, "peer",
                   "to=\"any\" matches what the client sends to any address: "
                   "peer= cannot narrow it (match the stanza's to= instead)");
  }
  return true;
}

void Loader::LoadVar(const SourceFile& f, const XMLElement* e) {
  CheckAttributes(f, e, {"name", "value"});
  CheckNoContent(f, e);
  const char* name = Required(f, e, "name");
  const char* value = Required(f, e, "value");
  if (name == nullptr || value == nullptr) return;
  const std::vector<std::string>& builtins = BuiltinVariableNames();
  if (!IsValidVariableName(name)) {
    AttributeError(f, e, "name",
                   absl::StrCat("invalid variable name \"", name, "\""));
  } else if (std::find(builtins.begin(), builtins.end(), name) !=
                 builtins.end() ||
             absl::StartsWith(name, "candidates:")) {
    AttributeError(f, e, "name",
                   absl::StrCat("${", name, "} is set by the runner"));
  } else if (!defined_.insert(name).second) {
    // The same fragment included twice declares its variables again.
    const auto same = std::find_if(
        scenario_->variables().begin(), scenario_->variables().end(),
        [&](const Variable& v) { return v.name() == name; });
    if (same == scenario_->variables().end() || same->value() != value) {
      AttributeError(f, e, "name",
                     absl::StrCat("variable ${", name, "} is already defined"));
    }
  } else {
    Variable* variable = scenario_->add_variables();
    variable->set_name(name);
    variable->set_value(value);
    // The runner expands values in declaration order: bound the result, so a
    // value that doubles on itself is an error here, not a bad_alloc there.
    constexpr size_t kBuiltinBytes = 256;  // a JID, an id
    size_t size = 0;
    for (const std::string& ref : ReferencedVariables(value)) {
      auto it = var_sizes_.find(ref);
      const size_t each = it != var_sizes_.end() ? it->second : kBuiltinBytes;
      size_t occurrences = 0;
      const std::string token = absl::StrCat("${", ref, "}");
      for (size_t at = absl::string_view(value).find(token);
           at != absl::string_view::npos;
           at = absl::string_view(value).find(token, at + token.size())) {
        ++occurrences;
      }
      size = std::min(size + std::min(each, kMaxVariableBytes + 1) *
                                 std::min(occurrences, kMaxVariableBytes + 1),
                      kMaxVariableBytes + 1);
    }
    size = std::min(size + std::strlen(value), kMaxVariableBytes + 1);
    var_sizes_[name] = size;
    if (size > kMaxVariableBytes) {
      AttributeError(
          f, e, "value",
          absl::StrCat("${", name, "} expands to more than ", kMaxVariableBytes,
                       " bytes (kMaxVariableBytes)"));
    }
  }
}

void Loader::LoadChildren(SourceFile& f, const XMLElement* parent,
                          Container container,
                          google::protobuf::RepeatedPtrField<Step>& steps,
                          const XMLNode* start) {
  for (const XMLNode* node = start ? start : parent->FirstChild();
       node != nullptr && !too_big_; node = node->NextSibling()) {
    if (HasText(*node)) {
      TextError(f, *node, parent);
      continue;
    }
    const XMLElement* e = node->ToElement();
    if (e == nullptr) continue;
    const absl::string_view kind = e->Name();
    if (container != Container::kAnyOrder) {
      if ((container == Container::kBranch ||
           container == Container::kRepeat) &&
          (kind == "description" || kind == "peer" || kind == "var")) {
        Error(f, e,
              absl::StrCat("<", kind, "> belongs in <scenario>, not in <",
                           parent->Name(), ">"));
        continue;
      }
      if (kind == "description" || kind == "peer") {
        if (container == Container::kFragment) {
          Error(f, e,
                absl::StrCat("<", kind,
                             "> belongs in <scenario>, not in an included "
                             "<fragment>"));
          continue;
        }
        if (kind == "peer") {
          // Several peers: the first is the default; the others follow it
          // with the same defaults (scenarios/README.md, "Several peers").
          if (!seen_peer_) {
            seen_peer_ = true;
            LoadPeer(f, e, *scenario_->mutable_peer());
          } else {
            PeerSpec& more = *scenario_->add_more_peers();
            SetPeerDefaults(more);
            LoadPeer(f, e, more);
          }
          continue;
        }
        if (seen_description_) {
          Error(f, e, absl::StrCat("a second <", kind, ">"));
          continue;
        }
        seen_description_ = true;
        CheckAttributes(f, e, {});
        std::vector<std::string> words;
        for (const XMLNode* child = e->FirstChild(); child != nullptr;
             child = child->NextSibling()) {
          if (child->ToElement() != nullptr) {
            Error(f, e, "<description> holds text only");
            break;
          }
          if (child->ToText() == nullptr) continue;
          for (absl::string_view word :
               absl::StrSplit(child->Value(), absl::ByAnyChar(" \t\r\n"),
                              absl::SkipEmpty())) {
            words.emplace_back(word);
          }
        }
        scenario_->set_description(absl::StrJoin(words, " "));
        continue;
      }
      if (kind == "var") {
        LoadVar(f, e);
        continue;
      }
      if (kind == "include") {
        LoadInclude(f, e, steps);
        continue;
      }
      if (kind == "one-of") {
        LoadOneOf(f, e, steps);
        continue;
      }
      if (kind == "repeat") {
        LoadRepeat(f, e, steps);
        continue;
      }
    }
    if (steps.size() >= kMaxSteps) {
      Error(f, e,
            absl::StrCat("more than ", kMaxSteps,
                         " steps (kMaxSteps); is a fragment included from too "
                         "many places?"));
      too_big_ = true;
      return;
    }
    Step step;
    step.set_number(NextNumber());
    // An any-order's members are numbered under it ("3.1", "3.2").
    NumberLevel outer = EnterNumbers(absl::StrCat(step.number(), "."));
    const bool loaded = LoadStep(f, e, container, step);
    LeaveNumbers(std::move(outer));
    if (!loaded) continue;
    if (step.has_delay()) min_ms_ += step.delay().duration().ms();
    if (step.has_expect_none()) min_ms_ += step.expect_none().period().ms();
    steps.Add(std::move(step));
  }
}

void Loader::LoadInclude(SourceFile& f, const XMLElement* e,
                         google::protobuf::RepeatedPtrField<Step>& steps) {
  CheckAttributes(f, e, {"file"});
  CheckNoContent(f, e);
  const char* file = Required(f, e, "file");
  if (file == nullptr) return;
  namespace fs = std::filesystem;
  SourceFile included;
  included.path =
      (fs::path(f.path).parent_path() / file).lexically_normal().string();
  std::error_code ec;
  const std::string key = fs::weakly_canonical(included.path, ec).string();
  if (auto it = std::find(include_keys_.begin(), include_keys_.end(), key);
      it != include_keys_.end()) {
    std::vector<std::string> chain(
        include_paths_.begin() + (it - include_keys_.begin()),
        include_paths_.end());
    chain.push_back(included.path);
    AttributeError(
        f, e, "file",
        absl::StrCat("include cycle: ", absl::StrJoin(chain, " -> ")));
    return;
  }
  if (++includes_ > kMaxIncludes) {
    AttributeError(f, e, "file",
                   absl::StrCat("more than ", kMaxIncludes,
                                " includes (kMaxIncludes); do fragments "
                                "include each other many times over?"));
    too_big_ = true;
    return;
  }
  // Each file is read and parsed once, however often it is included.
  auto [cached, first_time] = files_.try_emplace(key);
  if (first_time) {
    auto file_ptr = std::make_unique<SourceFile>();
    file_ptr->path = included.path;
    absl::StatusOr<std::string> text = ReadFile(included.path);
    if (!text.ok()) {
      AttributeError(
          f, e, "file",
          absl::StrCat("cannot read included file \"", file, "\" (",
                       included.path, "): ", text.status().message()));
      return;
    }
    file_ptr->text = *std::move(text);
    if (Parse(*file_ptr)) cached->second = std::move(file_ptr);
  }
  if (cached->second == nullptr) return;  // reported the first time
  SourceFile& fragment = *cached->second;
  const XMLElement* root = fragment.doc.RootElement();
  if (root == nullptr || std::strcmp(root->Name(), "fragment") != 0) {
    errors_.push_back(LoadError{
        fragment.path, 1, 1,
        absl::StrCat("an included file's root must be <fragment>, found <",
                     root == nullptr ? "" : root->Name(), ">")});
    if (root != nullptr) {
      errors_.back().line = fragment.map.ElementPosition(root).first;
      errors_.back().column = fragment.map.ElementPosition(root).second;
    }
    return;
  }
  CheckAttributes(fragment, root, {});
  include_keys_.push_back(key);
  include_paths_.push_back(fragment.path);
  const LoadError site = At(f, e);
  SourceLocation& where = include_sites_.emplace_back();
  where.set_file(site.file);
  where.set_line(site.line);
  where.set_column(site.column);
  LoadChildren(fragment, root, Container::kFragment, steps);
  include_keys_.pop_back();
  include_paths_.pop_back();
  include_sites_.pop_back();
}

LoadResult Loader::Load(absl::string_view text, const std::string& path) {
  LoadResult result;
  Scenario& s = result.scenario;
  scenario_ = &s;
  SourceFile f;
  f.path = path;
  f.text = std::string(text);
  if (Parse(f)) {
    const XMLElement* root = f.doc.RootElement();
    if (root == nullptr) {
      errors_.push_back(LoadError{path, 1, 1, "no <scenario> element"});
    } else if (std::strcmp(root->Name(), "scenario") != 0) {
      Error(f, root,
            absl::StrCat("the root element must be <scenario>, found <",
                         root->Name(), ">"));
    } else {
      for (const XMLElement* extra = root->NextSiblingElement();
           extra != nullptr; extra = extra->NextSiblingElement()) {
        Error(f, extra,
              absl::StrCat("<", extra->Name(), "> after the <scenario> root"));
      }
      const LoadError at = At(f, root);
      s.mutable_location()->set_file(at.file);
      s.mutable_location()->set_line(at.line);
      s.mutable_location()->set_column(at.column);
      CheckAttributes(f, root, {"name", "timeout", "tags", "profile"});
      if (const char* name = Required(f, root, "name")) {
        if (*name == '\0') {
          AttributeError(f, root, "name", "name must not be empty");
        }
        s.set_name(name);
      }
      *s.mutable_timeout() = *ParseTiming("120s");
      if (auto timeout = TimingAttribute(f, root, "timeout", false)) {
        if (timeout->is_range()) {
          AttributeError(f, root, "timeout",
                         "timeout cannot be a range: it is a fixed deadline");
        } else {
          *s.mutable_timeout() = *timeout;
        }
      }
      if (const char* tags = root->Attribute("tags")) {
        for (absl::string_view tag : absl::StrSplit(
                 tags, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty())) {
          s.add_tags(std::string(tag));
        }
      }
      SetPeerDefaults(*s.mutable_peer());
      std::error_code ec;
      include_keys_.push_back(
          std::filesystem::weakly_canonical(path, ec).string());
      include_paths_.push_back(path);
      LoadChildren(f, root, Container::kScenario, *s.mutable_steps());
      if (min_ms_ > s.timeout().ms()) {
        const std::string message = absl::StrCat(
            "the scenario timeout ", s.timeout().ms(),
            "ms is shorter than the ", min_ms_,
            "ms its delays and expect-none periods take at least: it can "
            "never pass");
        if (root->Attribute("timeout") != nullptr) {
          AttributeError(f, root, "timeout", message);
        } else {
          Error(f, root, absl::StrCat(message, " (120s by default)"));
        }
      }
      // A scenario that checks one implementation's habit as a whole: its
      // steps take the scenario's profiles unless they name their own.
      if (const char* profiles = root->Attribute("profile")) {
        std::vector<std::string> names;
        for (absl::string_view name : absl::StrSplit(
                 profiles, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty())) {
          if (!IsKnownProfile(name)) {
            AttributeError(f, root, "profile",
                           absl::StrCat("unknown profile \"", name,
                                        "\"; known: ", KnownProfiles()));
          }
          names.emplace_back(name);
        }
        for (Step& step : *s.mutable_steps()) {
          if (step.profiles().empty()) {
            for (const std::string& name : names) step.add_profiles(name);
          }
        }
      }
    }
  }
  for (const auto& [name, site] : captures_) {
    if (site.used) continue;
    warnings_.push_back(site.where);
    warnings_.back().message = absl::StrCat(
        "capture ${", name,
        "} is never used after this step: it matches any value (write \"*\" "
        "for that; a misspelt name?)");
  }
  for (const auto& [label, where] : gotos_) {
    if (labels_.count(label) == 0) {
      errors_.push_back(where);
      errors_.back().message =
          absl::StrCat("on-timeout goes to unknown label \"", label, "\"");
    }
  }
  // Files in the order they first appear, each in line and column order.
  // A fragment included twice reports its errors once.
  std::map<std::string, size_t> file_order;
  for (std::vector<LoadError>* list : {&errors_, &warnings_}) {
    for (const LoadError& error : *list) {
      file_order.emplace(error.file, file_order.size());
    }
    std::stable_sort(
        list->begin(), list->end(),
        [&](const LoadError& a, const LoadError& b) {
          return std::make_tuple(file_order[a.file], a.line, a.column) <
                 std::make_tuple(file_order[b.file], b.line, b.column);
        });
    list->erase(std::unique(list->begin(), list->end(),
                            [](const LoadError& a, const LoadError& b) {
                              return a.ToString() == b.ToString();
                            }),
                list->end());
  }
  result.errors = std::move(errors_);
  result.warnings = std::move(warnings_);
  return result;
}

}  // namespace scenario_internal

std::string LoadError::ToString() const {
  if (line <= 0) return absl::StrCat(file, ": ", message);
  return absl::StrCat(file, ":", line, ":", column, ": ", message);
}

std::string LoadError::ToWarningString() const {
  LoadError warning = *this;
  warning.message = absl::StrCat("warning: ", message);
  return warning.ToString();
}

LoadResult LoadScenarioFile(const std::string& path,
                            const LoadOptions& options) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    LoadResult result;
    result.errors.push_back(LoadError{
        path, 0, 0,
        absl::StrCat("cannot read the file: ", text.status().message())});
    return result;
  }
  return LoadScenarioText(*text, path, options);
}

LoadResult LoadScenarioText(absl::string_view text, const std::string& path,
                            const LoadOptions& options) {
  return scenario_internal::Loader(options).Load(text, path);
}

const std::vector<std::string>& BuiltinVariableNames() {
  static const std::vector<std::string>* const kNames =
      new std::vector<std::string>{"cut",    "cut_bare", "peer", "peer_bare",
                                   "server", "sid",      "iq",   "last_id"};
  return *kNames;
}

}  // namespace talkcheck::harness
