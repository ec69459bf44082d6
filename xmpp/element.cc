#include "xmpp/element.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "xmpp/utf8.h"
#include "xmpp/xml_syntax.h"

namespace talkcheck::xmpp {
namespace {

// Which bytes the escaping loop writes as references, one table lookup per
// byte.
enum : uint8_t {
  kEscapeInText = 1,       // in character data
  kEscapeInAttribute = 2,  // in an attribute value
};

struct ByteClasses {
  uint8_t bits[256] = {};
  constexpr ByteClasses() {
    bits[static_cast<int>('&')] = kEscapeInText | kEscapeInAttribute;
    bits[static_cast<int>('<')] = kEscapeInText | kEscapeInAttribute;
    // '>' only matters in "]]>", but escaping it always is simpler.
    bits[static_cast<int>('>')] = kEscapeInText | kEscapeInAttribute;
    bits[static_cast<int>('"')] = kEscapeInAttribute;
    // A parser turns literal tab and LF into spaces in attribute values, and CR
    // into LF everywhere; references survive both.
    bits[static_cast<int>('\t')] = kEscapeInAttribute;
    bits[static_cast<int>('\n')] = kEscapeInAttribute;
    bits[static_cast<int>('\r')] = kEscapeInText | kEscapeInAttribute;
    // What XML cannot carry at all (C0 controls) and what needs decoding to
    // tell (non-ASCII): looked at in both contexts.
    for (int c = 0; c < 0x20; ++c) {
      if (c != '\t' && c != '\n' && c != '\r') {
        bits[c] = kEscapeInText | kEscapeInAttribute;
      }
    }
    for (int c = 0x80; c < 0x100; ++c) {
      bits[c] = kEscapeInText | kEscapeInAttribute;
    }
  }
};
constexpr ByteClasses kBytes;

// U+FFFD REPLACEMENT CHARACTER, written for what XML cannot carry.
constexpr absl::string_view kReplacement = "\xEF\xBF\xBD";

// Escapes `in` for `escape_class`. Serialisation never writes what would not
// parse back: C0 controls other than tab, LF and CR, invalid UTF-8 and code
// points outside XML's Char (U+FFFE, U+FFFF) become U+FFFD. Parsed text never
// holds those; only text set in code can.
void AppendEscaped(absl::string_view in, uint8_t escape_class,
                   std::string& out) {
  size_t run = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(in[i]);
    if ((kBytes.bits[c] & escape_class) == 0) continue;
    if (c >= 0x80) {
      size_t next = i;
      uint32_t cp;
      const bool decoded = NextCodePoint(in, next, cp);
      if (decoded && internal::IsXmlChar(cp)) {
        i = next - 1;  // a valid character: part of the run
        continue;
      }
      // One replacement per undecodable byte, or per decodable non-character.
      out.append(in.data() + run, i - run);
      out.append(kReplacement.data(), kReplacement.size());
      if (decoded) i = next - 1;
      run = i + 1;
      continue;
    }
    out.append(in.data() + run, i - run);
    run = i + 1;
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      out.append(kReplacement.data(), kReplacement.size());
      continue;
    }
    switch (c) {
      case '&':
        out.append("&amp;");
        break;
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      case '"':
        out.append("&quot;");
        break;
      case '\t':
        out.append("&#9;");
        break;
      case '\n':
        out.append("&#10;");
        break;
      case '\r':
        out.append("&#13;");
        break;
    }
  }
  out.append(in.data() + run, in.size() - run);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Element

Element::Element(absl::string_view ns, absl::string_view name)
    : ns_(ns), name_(name) {}

Element::Element(const Element& other)
    : ns_(other.ns_),
      name_(other.name_),
      attributes_(other.attributes_),
      line_(other.line_) {
  nodes_.reserve(other.nodes_.size());
  for (const Node& node : other.nodes_) {
    Node& copy = nodes_.emplace_back();
    if (node.element != nullptr) {
      copy.element = std::make_unique<Element>(*node.element);
    } else {
      copy.text = node.text;
    }
  }
}

Element& Element::operator=(const Element& other) {
  // Copy first: `other` may be one of this element's own descendants.
  if (this != &other) *this = Element(other);
  return *this;
}

Element::~Element() = default;

const std::string* Element::Attr(absl::string_view name) const {
  return Attr(absl::string_view(), name);
}

const std::string* Element::Attr(absl::string_view ns,
                                 absl::string_view name) const {
  for (const Attribute& a : attributes_) {
    if (a.name == name && a.ns == ns) return &a.value;
  }
  return nullptr;
}

std::string Element::AttrOr(absl::string_view name,
                            absl::string_view fallback) const {
  const std::string* value = Attr(name);
  return value != nullptr ? *value : std::string(fallback);
}

Element& Element::SetAttr(absl::string_view name, absl::string_view value) {
  return SetAttr(absl::string_view(), name, value);
}

Element& Element::SetAttr(absl::string_view ns, absl::string_view name,
                          absl::string_view value) {
  for (Attribute& a : attributes_) {
    if (a.name == name && a.ns == ns) {
      a.value.assign(value.data(), value.size());
      return *this;
    }
  }
  // Elements built in code get their attributes one at a time (a candidate
  // has ten): room for four at once, not growth by 1, 2, 4.
  if (attributes_.capacity() == 0) attributes_.reserve(4);
  attributes_.emplace_back(internal::NewAttribute{ns, name, value});
  return *this;
}

bool Element::RemoveAttr(absl::string_view name) {
  for (auto it = attributes_.begin(); it != attributes_.end(); ++it) {
    if (it->ns.empty() && it->name == name) {
      attributes_.erase(it);
      return true;
    }
  }
  return false;
}

std::vector<const Element*> Element::Children() const {
  std::vector<const Element*> children;
  for (const Node& node : nodes_) {
    if (node.element != nullptr) children.push_back(node.element.get());
  }
  return children;
}

std::vector<Element*> Element::MutableChildren() {
  std::vector<Element*> children;
  for (Node& node : nodes_) {
    if (node.element != nullptr) children.push_back(node.element.get());
  }
  return children;
}

const Element* Element::FindChild(absl::string_view ns,
                                  absl::string_view name) const {
  for (const Node& node : nodes_) {
    if (node.element != nullptr && node.element->Is(ns, name)) {
      return node.element.get();
    }
  }
  return nullptr;
}

Element* Element::FindChild(absl::string_view ns, absl::string_view name) {
  return const_cast<Element*>(std::as_const(*this).FindChild(ns, name));
}

std::vector<const Element*> Element::FindChildren(
    absl::string_view ns, absl::string_view name) const {
  std::vector<const Element*> found;
  for (const Node& node : nodes_) {
    if (node.element != nullptr && node.element->Is(ns, name)) {
      found.push_back(node.element.get());
    }
  }
  return found;
}

const Element* Element::FirstChild() const {
  for (const Node& node : nodes_) {
    if (node.element != nullptr) return node.element.get();
  }
  return nullptr;
}

Element& Element::AddChild(Element child) {
  Node& node = nodes_.emplace_back();
  node.element = std::make_unique<Element>(std::move(child));
  return *node.element;
}

Element& Element::AddChild(absl::string_view ns, absl::string_view name) {
  Node& node = nodes_.emplace_back();
  node.element = std::make_unique<Element>(ns, name);
  return *node.element;
}

bool Element::RemoveChild(const Element* child) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].element.get() != child || child == nullptr) continue;
    nodes_.erase(nodes_.begin() + i);
    // Keep text runs merged: the runs on either side of the child now touch.
    if (i > 0 && i < nodes_.size() && nodes_[i - 1].element == nullptr &&
        nodes_[i].element == nullptr) {
      nodes_[i - 1].text += nodes_[i].text;
      nodes_.erase(nodes_.begin() + i);
    }
    return true;
  }
  return false;
}

void Element::ClearChildren() { nodes_.clear(); }

std::string Element::Text() const {
  std::string text;
  for (const Node& node : nodes_) {
    if (node.element == nullptr) text += node.text;
  }
  return text;
}

void Element::AddText(absl::string_view text) {
  if (text.empty()) return;
  if (nodes_.empty() || nodes_.back().element != nullptr) {
    nodes_.emplace_back();
  }
  nodes_.back().text.append(text.data(), text.size());
}

void Element::SetText(absl::string_view text) {
  nodes_.erase(
      std::remove_if(nodes_.begin(), nodes_.end(),
                     [](const Node& n) { return n.element == nullptr; }),
      nodes_.end());
  if (text.empty()) return;
  // Element children, if any, follow the text (the usual shape of mixed content
  // in XMPP is text-only leaves anyway).
  Node node;
  node.text.assign(text.data(), text.size());
  nodes_.insert(nodes_.begin(), std::move(node));
}

bool operator==(const Element& a, const Element& b) {
  if (a.ns_ != b.ns_ || a.name_ != b.name_ ||
      a.attributes_.size() != b.attributes_.size() ||
      a.nodes_.size() != b.nodes_.size()) {
    return false;
  }
  for (size_t i = 0; i < a.attributes_.size(); ++i) {
    const Attribute& x = a.attributes_[i];
    const Attribute& y = b.attributes_[i];
    if (x.ns != y.ns || x.name != y.name || x.value != y.value) return false;
  }
  for (size_t i = 0; i < a.nodes_.size(); ++i) {
    const Element::Node& x = a.nodes_[i];
    const Element::Node& y = b.nodes_[i];
    if ((x.element == nullptr) != (y.element == nullptr)) return false;
    if (x.element == nullptr ? x.text != y.text : *x.element != *y.element) {
      return false;
    }
  }
  return true;
}

std::string Element::ToString(absl::string_view parent_ns) const {
  std::string out;
  // Room for a typical stanza, so that it is not grown (and copied) five or
  // six times on the way.
  out.reserve(512);
  AppendTo(out, parent_ns);
  return out;
}

void Element::AppendTo(std::string& out, absl::string_view parent_ns) const {
  // Only what parses back is written: an element whose name is not an NCName,
  // or whose namespace no element may have, is left out with its subtree, and
  // so is an attribute whose name is not an NCName. The parser never makes
  // such elements; only code can.
  // As string_views, compared by length first: no strlen per comparison.
  // Sized from the arrays: absl::string_view's strlen is not a constant
  // expression in every build (--config=asan).
  constexpr absl::string_view kXmlnsNs(ns::kXmlns, sizeof(ns::kXmlns) - 1);
  constexpr absl::string_view kStreamNs(ns::kStream, sizeof(ns::kStream) - 1);
  constexpr absl::string_view kXmlNs(ns::kXml, sizeof(ns::kXml) - 1);
  const absl::string_view element_ns = ns_;
  if (!internal::IsNcName(name_) || element_ns == kXmlnsNs) return;
  // Stream elements borrow the `stream` prefix of the header and leave the
  // default namespace in scope for their children untouched; so do elements
  // in the xml namespace, whose prefix is predeclared and which no default
  // declaration may name.
  absl::string_view prefix;
  if (element_ns == kStreamNs) {
    prefix = "stream:";
  } else if (element_ns == kXmlNs) {
    prefix = "xml:";
  }
  absl::string_view child_ns = parent_ns;
  out.push_back('<');
  out.append(prefix.data(), prefix.size());
  out.append(name_);
  if (prefix.empty()) {
    if (ns_ != parent_ns) {
      out.append(" xmlns=\"");
      AppendEscaped(ns_, kEscapeInAttribute, out);
      out.push_back('"');
    }
    child_ns = ns_;
  }
  // Namespaces of attributes other than xml: get prefixes ns1, ns2... declared
  // here.
  absl::InlinedVector<absl::string_view, 2> prefixed;
  for (const Attribute& a : attributes_) {
    // Namespace declarations follow from ns(); they are never attributes.
    const absl::string_view attribute_ns = a.ns;
    if (attribute_ns == kXmlnsNs ||
        (attribute_ns.empty() && absl::string_view(a.name) == "xmlns")) {
      continue;
    }
    if (!internal::IsNcName(a.name)) continue;
    out.push_back(' ');
    if (attribute_ns == kXmlNs) {
      out.append("xml:");
    } else if (!a.ns.empty()) {
      size_t k = 0;
      while (k < prefixed.size() && prefixed[k] != a.ns) ++k;
      const std::string attribute_prefix = absl::StrCat("ns", k + 1);
      if (k == prefixed.size()) {
        prefixed.push_back(a.ns);
        absl::StrAppend(&out, "xmlns:", attribute_prefix, "=\"");
        AppendEscaped(a.ns, kEscapeInAttribute, out);
        out.append("\" ");
      }
      absl::StrAppend(&out, attribute_prefix, ":");
    }
    out.append(a.name);
    out.append("=\"");
    AppendEscaped(a.value, kEscapeInAttribute, out);
    out.push_back('"');
  }
  if (nodes_.empty()) {
    out.append("/>");
    return;
  }
  out.push_back('>');
  for (const Node& node : nodes_) {
    if (node.element != nullptr) {
      node.element->AppendTo(out, child_ns);
    } else {
      AppendEscaped(node.text, kEscapeInText, out);
    }
  }
  out.append("</");
  out.append(prefix.data(), prefix.size());
  out.append(name_);
  out.push_back('>');
}

// ---------------------------------------------------------------------------------------
// NamespaceScope

NamespaceScope::NamespaceScope() { bindings_.emplace("xml", ns::kXml); }

NamespaceScope NamespaceScope::ClientStream() {
  NamespaceScope scope;
  scope.Bind("", ns::kClient);
  scope.Bind("stream", ns::kStream);
  return scope;
}

const std::string* NamespaceScope::Lookup(absl::string_view prefix) const {
  auto it = bindings_.find(prefix);
  return it != bindings_.end() ? &it->second : nullptr;
}

void NamespaceScope::Bind(absl::string_view prefix, absl::string_view uri) {
  // Namespaces in XML fixes `xml` to its namespace; a stream header cannot move
  // it.
  if (prefix == "xml") return;
  bindings_.insert_or_assign(std::string(prefix), std::string(uri));
}

std::string EscapeText(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendEscaped(text, kEscapeInText, out);
  return out;
}

std::string EscapeAttribute(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  AppendEscaped(value, kEscapeInAttribute, out);
  return out;
}

}  // namespace talkcheck::xmpp
