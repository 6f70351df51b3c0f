//! A small owned XML element tree: parsed with `roxmltree` (no DTDs, bounded depth),
//! written with explicit namespace declarations. NETCONF payloads are namespace-qualified
//! element trees with text leaves; this is all the crate needs.

use std::fmt::Write as _;

use crate::error::XmlError;

/// The NETCONF base namespace.
pub const NC_NS: &str = "urn:ietf:params:xml:ns:netconf:base:1.0";

/// The namespace of the `xml:` prefix (always bound, never declared).
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Deepest element nesting accepted from the wire.
pub const MAX_DEPTH: usize = 128;

/// An attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attr {
    /// Namespace URI, `None` for unqualified attributes.
    pub ns: Option<String>,
    /// Local name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// An element with its namespace, attributes, child elements and text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    /// Namespace URI (`None` = no namespace).
    pub ns: Option<String>,
    /// Local name.
    pub name: String,
    /// Attributes other than namespace declarations.
    pub attrs: Vec<Attr>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// Concatenated character data of this element (not of its children).
    pub text: String,
    /// When the text is a qualified name (`prefix:local`, an identityref), the prefix and
    /// the namespace it was bound to, so the value survives re-serialization.
    pub text_ns: Option<(String, String)>,
}

impl Element {
    /// An element `name` in namespace `ns`.
    pub fn new(ns: Option<&str>, name: &str) -> Self {
        Element { ns: ns.map(str::to_owned), name: name.to_owned(), ..Default::default() }
    }

    /// Builder: adds a child.
    pub fn with_child(mut self, child: Element) -> Self {
        self.children.push(child);
        self
    }

    /// Builder: sets the text.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = text.into();
        self
    }

    /// Builder: a leaf child `name` (same namespace) with `text`.
    pub fn with_leaf(self, name: &str, text: impl ToString) -> Self {
        let ns = self.ns.clone();
        self.with_child(Element { ns, name: name.to_owned(), text: text.to_string(), ..Default::default() })
    }

    /// Builder: adds an attribute.
    pub fn with_attr(mut self, ns: Option<&str>, name: &str, value: &str) -> Self {
        self.attrs.push(Attr { ns: ns.map(str::to_owned), name: name.to_owned(), value: value.to_owned() });
        self
    }

    /// Whether this element is `name` in `ns`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.name == name && self.ns.as_deref() == Some(ns)
    }

    /// The first child called `name` (any namespace).
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The first child called `name` in `ns`.
    pub fn child_ns(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    /// Text of the first child called `name`, trimmed.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    /// The value of attribute `name` (unqualified or in any namespace).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|a| a.name == name).map(|a| a.value.as_str())
    }

    /// The value of attribute `name` in namespace `ns`.
    pub fn attr_ns(&self, ns: &str, name: &str) -> Option<&str> {
        self.attrs.iter().find(|a| a.name == name && a.ns.as_deref() == Some(ns)).map(|a| a.value.as_str())
    }

    /// The text, trimmed, with the identity prefix replaced by nothing: `sched:x` → `x`.
    pub fn local_text(&self) -> &str {
        let t = self.text.trim();
        match &self.text_ns {
            Some((prefix, _)) => t.strip_prefix(prefix.as_str()).and_then(|r| r.strip_prefix(':')).unwrap_or(t),
            None => t,
        }
    }

    /// Parses a document; its root element.
    pub fn parse(text: &str) -> Result<Element, XmlError> {
        let opts = roxmltree::ParsingOptions { allow_dtd: false, nodes_limit: 1_000_000 };
        let doc = roxmltree::Document::parse_with_options(text, opts).map_err(|e| XmlError::Parse(e.to_string()))?;
        convert(doc.root_element(), 0)
    }

    /// Serializes without an XML declaration.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        write_element(self, None, &mut out);
        out
    }
}

fn convert(node: roxmltree::Node<'_, '_>, depth: usize) -> Result<Element, XmlError> {
    if depth > MAX_DEPTH {
        return Err(XmlError::TooDeep(MAX_DEPTH));
    }
    let tag = node.tag_name();
    // roxmltree reports an undeclared default namespace (xmlns="") as Some("").
    let mut el = Element::new(tag.namespace().filter(|ns| !ns.is_empty()), tag.name());
    el.attrs = node
        .attributes()
        .map(|a| Attr { ns: a.namespace().map(str::to_owned), name: a.name().to_owned(), value: a.value().to_owned() })
        .collect();
    for child in node.children() {
        if child.is_element() {
            el.children.push(convert(child, depth + 1)?);
        } else if child.is_text() {
            el.text.push_str(child.text().unwrap_or_default());
        }
    }
    if el.children.is_empty() {
        if let Some((prefix, local)) = el.text.trim().split_once(':') {
            let is_name = |s: &str| {
                !s.is_empty()
                    && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    && !s.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
            };
            if is_name(prefix) && is_name(local) {
                if let Some(ns) = node.lookup_namespace_uri(Some(prefix)) {
                    el.text_ns = Some((prefix.to_owned(), ns.to_owned()));
                }
            }
        }
    }
    Ok(el)
}

/// Escapes character data / attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
    out
}

fn write_element(el: &Element, parent_ns: Option<&str>, out: &mut String) {
    out.push('<');
    out.push_str(&el.name);
    if el.ns.as_deref() != parent_ns {
        let _ = write!(out, " xmlns=\"{}\"", escape(el.ns.as_deref().unwrap_or("")));
    }
    for (i, a) in el.attrs.iter().enumerate() {
        match &a.ns {
            Some(ns) if ns == XML_NS => {
                let _ = write!(out, " xml:{}=\"{}\"", a.name, escape(&a.value));
            }
            Some(ns) => {
                let _ = write!(out, " xmlns:a{i}=\"{}\" a{i}:{}=\"{}\"", escape(ns), a.name, escape(&a.value));
            }
            None => {
                let _ = write!(out, " {}=\"{}\"", a.name, escape(&a.value));
            }
        }
    }
    if let Some((prefix, ns)) = el.text_ns.as_ref().filter(|(p, _)| p != "xml") {
        let _ = write!(out, " xmlns:{prefix}=\"{}\"", escape(ns));
    }
    if el.children.is_empty() && el.text.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    out.push_str(&escape(&el.text));
    for c in &el.children {
        write_element(c, el.ns.as_deref(), out);
    }
    let _ = write!(out, "</{}>", el.name);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_keeps_namespaces_and_identity_prefixes() {
        let doc = r#"<a xmlns="urn:a" xmlns:s="urn:s" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0">
            <b nc:operation="replace"><s:c>v &amp; w</s:c><op>s:set-gate-states</op></b></a>"#;
        let el = Element::parse(doc).unwrap();
        let again = Element::parse(&el.to_xml()).unwrap();
        assert_eq!(el, again);
        let b = el.child("b").unwrap();
        assert_eq!(b.attr_ns(NC_NS, "operation"), Some("replace"));
        assert_eq!(b.child_ns("urn:s", "c").unwrap().text, "v & w");
        let op = b.child("op").unwrap();
        assert_eq!(op.text_ns, Some(("s".into(), "urn:s".into())));
        assert_eq!(op.local_text(), "set-gate-states");
    }

    #[test]
    fn dtds_and_deep_nesting_are_refused() {
        assert!(Element::parse("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>").is_err());
        let deep = "<a>".repeat(MAX_DEPTH + 2) + &"</a>".repeat(MAX_DEPTH + 2);
        assert_eq!(Element::parse(&deep), Err(XmlError::TooDeep(MAX_DEPTH)));
    }

    fn arb_element() -> impl Strategy<Value = Element> {
        let leaf = ("[a-z][a-z0-9-]{0,6}", proptest::option::of("urn:[a-z]{1,4}"), "[ -~]{0,12}")
            .prop_map(|(name, ns, text)| Element { ns, name, text, ..Default::default() });
        leaf.prop_recursive(4, 24, 4, |inner| {
            ("[a-z][a-z0-9-]{0,6}", proptest::option::of("urn:[a-z]{1,4}"), proptest::collection::vec(inner, 1..4))
                .prop_map(|(name, ns, children)| Element { ns, name, children, ..Default::default() })
        })
    }

    proptest! {
        #[test]
        fn writer_output_parses_back(el in arb_element()) {
            let back = Element::parse(&el.to_xml()).unwrap();
            // Text that looks like prefix:local is only qualified when the prefix is bound,
            // which generated text never is.
            prop_assert_eq!(back, el);
        }

        #[test]
        fn parser_never_panics(s in "[<>/a-z:=\" &;#x0-9\\]\\[!?-]{0,200}") {
            let _ = Element::parse(&s);
        }
    }
}
