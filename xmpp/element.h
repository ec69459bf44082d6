// The stanza model: an XML element tree with namespaces resolved.
//
// Parsing is one pass over the text (element_parser.cc): every element and
// attribute gets its namespace URI (default namespaces inherited, prefixes
// resolved against the enclosing scope, the stream header's `jabber:client`
// implied). Matching and routing compare (namespace, local name) pairs and
// never strings of XML, so `<c xmlns="...caps"/>` and
// `<caps:c xmlns:caps="...caps"/>` are the same element.
//
// Serialisation writes the minimal form: default-namespace declarations only
// where an element's namespace differs from its parent's, prefixes only for
// namespaced attributes
// (`xml:lang`), character data and attribute values escaped.
//
// Example:
//   absl::StatusOr<Element> iq = ParseElement("<iq type='get' id='1'><query "
//                                             "xmlns='google:jingleinfo'/></iq>");
//   if (iq.ok() && iq->FindChild(ns::kJingleInfo, "query") != nullptr) { ... }
//   Element reply(ns::kClient, "iq");
//   reply.SetAttr("type", "result").SetAttr("id", *iq->Attr("id"));
//   std::string wire = reply.ToString();  // <iq type="result" id="1"/>
#ifndef TALKCHECK_XMPP_ELEMENT_H_
#define TALKCHECK_XMPP_ELEMENT_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "xmpp/namespaces.h"

namespace talkcheck::xmpp {
namespace internal {
class NamespaceBindings;  // namespace_bindings.h
}  // namespace internal

// One attribute after resolution. Unprefixed attributes are in no namespace (ns
// empty).
struct Attribute {
  std::string ns;
  std::string name;   // local name
  std::string value;  // unescaped
};

namespace internal {
// Builds an Attribute where a vector stores it: emplace_back converts
// through this, and the conversion's result needs no move (C++17), which
// is a fifth of what an attribute costs.
struct NewAttribute {
  absl::string_view ns, name, value;
  operator Attribute() const {  // NOLINT: implicit on purpose
    return Attribute{
        ns.empty() ? std::string() : std::string(ns.data(), ns.size()),
        std::string(name.data(), name.size()),
        value.empty() ? std::string()
                      : std::string(value.data(), value.size())};
  }
};
}  // namespace internal

// An element with its namespace resolved, its attributes, and its children
// (elements and character data, in document order). A value type: copies are
// deep.
class Element {
 public:
  Element(absl::string_view ns, absl::string_view name);
  Element(const Element& other);
  Element& operator=(const Element& other);
  Element(Element&&) noexcept = default;
  Element& operator=(Element&&) noexcept = default;
  ~Element();

  const std::string& ns() const { return ns_; }
  const std::string& name() const { return name_; }
  bool Is(absl::string_view ns, absl::string_view name) const {
    return name_ == name && ns_ == ns;
  }

  // Attributes. The one-argument forms address attributes in no namespace.
  const std::vector<Attribute>& attributes() const { return attributes_; }
  const std::string* Attr(absl::string_view name) const;  // nullptr when absent
  const std::string* Attr(absl::string_view ns, absl::string_view name) const;
  std::string AttrOr(absl::string_view name, absl::string_view fallback) const;
  Element& SetAttr(absl::string_view name, absl::string_view value);
  Element& SetAttr(absl::string_view ns, absl::string_view name,
                   absl::string_view value);
  bool RemoveAttr(absl::string_view name);

  // Element children, in document order.
  std::vector<const Element*> Children() const;
  std::vector<Element*> MutableChildren();
  const Element* FindChild(absl::string_view ns, absl::string_view name) const;
  Element* FindChild(absl::string_view ns, absl::string_view name);
  std::vector<const Element*> FindChildren(absl::string_view ns,
                                           absl::string_view name) const;
  // The first element child, or nullptr.
  const Element* FirstChild() const;

  // Appends and returns a reference to the stored child (valid until the child
  // is removed or this element is destroyed).
  Element& AddChild(Element child);
  Element& AddChild(absl::string_view ns, absl::string_view name);
  // Removes `child` (a pointer obtained from this element). Returns false if
  // not a child.
  bool RemoveChild(const Element* child);
  void ClearChildren();  // removes element children and text

  // Character data directly inside this element (not its descendants),
  // concatenated.
  std::string Text() const;
  void AddText(absl::string_view text);
  // Replaces all direct character data with `text`, keeping element children.
  void SetText(absl::string_view text);

  // Structural equality: namespace, name, attributes in order, and children
  // and character data in document order. Ignores line().
  friend bool operator==(const Element& a, const Element& b);
  friend bool operator!=(const Element& a, const Element& b) {
    return !(a == b);
  }

  // The line of the start tag in the parsed text (1-based), or 0 if built in
  // code.
  int line() const { return line_; }
  void set_line(int line) { line_ = line; }

  // Serialises the element. `parent_ns` is the default namespace already in
  // scope where the text will be placed (jabber:client inside a client stream).
  // Elements in the streams namespace are written with the `stream:` prefix the
  // stream header declares.
  std::string ToString(absl::string_view parent_ns = ns::kClient) const;
  // Appends to `out` (for writers that batch).
  void AppendTo(std::string& out,
                absl::string_view parent_ns = ns::kClient) const;

 private:
  // The parsers (element_parser.cc, and the tinyxml2-based one the tests
  // compare it with) write the members directly so a parse costs no lookups or
  // re-validation.
  friend class ElementParser;
  friend class Tinyxml2ElementBuilder;

  // A child is either an element or a run of character data. Adjacent runs are
  // kept merged and never empty, so equal trees have equal node lists.
  struct Node {
    std::unique_ptr<Element> element;  // null for text
    std::string text;
  };

  std::string ns_;
  std::string name_;
  std::vector<Attribute> attributes_;
  std::vector<Node> nodes_;
  int line_ = 0;
};

// The namespace bindings in force where a fragment of XML is parsed: the
// default namespace (prefix "") and prefixed ones.
class NamespaceScope {
 public:
  // An empty scope: no default namespace, only the predefined `xml` prefix.
  NamespaceScope();

  // The scope inside a client stream: default `jabber:client`, prefix `stream`
  // bound to the streams namespace.
  static NamespaceScope ClientStream();

  // The URI bound to `prefix` ("" is the default namespace), or nullptr when
  // unbound.
  const std::string* Lookup(absl::string_view prefix) const;
  void Bind(absl::string_view prefix, absl::string_view uri);

 private:
  // The parsers read the bindings once per parse.
  friend class internal::NamespaceBindings;

  std::map<std::string, std::string, std::less<>> bindings_;
};

// Parses one complete element (a stanza, or any fragment with a single root)
// with the bindings of `scope` in force. Returns a stream error status (see
// stream_error.h): not-well-formed for malformed XML, bad-namespace-prefix for
// an undeclared prefix, restricted-xml for comments, processing instructions,
// DTDs and entity references other than the five predefined ones and character
// references, policy-violation for a start tag (not an empty-element tag)
// 99 elements deep (the tinyxml2 parser's limit, kept). Lines count LF only (a
// lone CR does not end one). Refuses as not-well-formed, where the
// tinyxml2-based parser it replaced accepted: \v or \f in a tag, anything but
// whitespace between an end tag's name and its '>', U+FFFE and U+FFFF (XML 1.0
// §2.2, §2.3, §3.1); and takes LF followed by a lone CR as two line ends
// (§2.11), not one.
absl::StatusOr<Element> ParseElement(
    absl::string_view xml,
    const NamespaceScope& scope = NamespaceScope::ClientStream());

// Escapes character data (`&`, `<`, `>`, and CR, which a parser would turn into
// LF) or an attribute value (also `"`, tab and LF, which a parser would turn
// into spaces; `'` is left as is because values are written in double quotes)
// for XML output.
std::string EscapeText(absl::string_view text);
std::string EscapeAttribute(absl::string_view value);

}  // namespace talkcheck::xmpp

#endif  // TALKCHECK_XMPP_ELEMENT_H_
