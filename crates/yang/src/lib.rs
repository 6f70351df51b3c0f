//! The one libyang wrapper of tsn-cp.
//!
//! The product's own YANG modules (`yang/` at the repository root) are embedded here with
//! `include_str!` ([`modules`]) and loaded into a libyang context ([`Schema`]); documents
//! in RFC 7951 JSON or XML are parsed and validated as one of the [`DataKind`]s and printed
//! back in either encoding. libyang's errors become [`YangError`]s carrying the data path,
//! the message and the `error-app-tag`, plus a coarse [`ErrorClass`] that protocol layers
//! (RESTCONF, NETCONF) map onto their own error tags.
//!
//! libyang 2.1 (Debian's libyang2) is linked dynamically through the `yang2` crate, with
//! bindings generated from the installed headers.
//!
//! Known upstream leaks of yang2 0.7 (listed in `fuzz/restconf.lsan.supp`): the text of each
//! embedded module is leaked once per [`Schema::new`] (its import callback forgets the
//! `CString`), and every [`DataKind::RpcInput`], [`DataKind::ActionInput`] or
//! [`DataKind::Notification`] parse leaks libyang's 64-byte `ly_in` handle
//! (`DataTree::parse_op_string` never frees it). A [`Schema`] is `Send + Sync`: libyang
//! allows concurrent parsing in one context as long as no module is loaded meanwhile, and
//! [`Schema`] loads every module in its constructor.

use std::collections::BTreeMap;
use std::sync::Arc;

use yang2::context::{Context, ContextFlags, EmbeddedModuleKey, EmbeddedModules};
use yang2::data::{Data, DataFormat, DataOperation, DataParserFlags, DataPrinterFlags, DataTree, DataValidationFlags};
use yang2::schema::{DataValueType, SchemaNodeKind, SchemaPathFormat};

pub mod modules;

pub use modules::YangModule;

/// Largest document accepted by [`Schema::parse`], in bytes. Callers enforce their own,
/// usually smaller, limits before parsing; this one protects the library itself.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// Encoding of instance data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// RFC 7951 JSON.
    Json,
    /// XML (RFC 7950 §7 encoding, as NETCONF uses it).
    Xml,
}

impl Encoding {
    fn format(self) -> DataFormat {
        match self {
            Encoding::Json => DataFormat::JSON,
            Encoding::Xml => DataFormat::XML,
        }
    }
}

/// What a document is, which decides how it is parsed and validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// A complete configuration datastore: config-false nodes are rejected, every
    /// constraint (mandatory, min/max-elements, must, when, leafref, unique) is checked.
    Config,
    /// A complete datastore with state (config-false) nodes, as a GET returns it.
    Data,
    /// Part of a configuration, e.g. the body of an edit: node names, namespaces and leaf
    /// values are checked and config-false nodes are rejected, but completeness
    /// (mandatory nodes, min-elements, leafref targets) is not, because the rest of the
    /// datastore is missing. Validate the edited datastore as [`DataKind::Config`].
    ConfigFragment,
    /// Part of a datastore with state: node names, namespaces and values are checked,
    /// nothing else (for re-encoding documents the server built itself).
    DataFragment,
    /// The input of an RPC, as `{"module:rpc": {...input...}}` (RFC 7951) or the XML
    /// `<rpc-name xmlns=...>` element.
    RpcInput,
    /// The input of an action, with all the action's ancestors (list keys included).
    ActionInput,
    /// A notification (its top-level node, or with ancestors for a nested one).
    Notification,
}

/// Coarse class of a libyang error, for mapping to protocol error tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The text is not well-formed JSON/XML.
    Syntax,
    /// A node name does not exist in the schema at that place.
    UnknownNode,
    /// A namespace/module prefix is not known.
    UnknownNamespace,
    /// A value does not fit the node's type (range, length, pattern, enum, ...).
    InvalidValue,
    /// A config-false node appears in configuration.
    StateNode,
    /// A mandatory node or list entries required by min-elements are missing.
    Missing,
    /// A list entry or leaf appears twice.
    Duplicate,
    /// A leafref, instance-identifier or `when`/`must` condition is not satisfied.
    Constraint,
    /// Anything else (internal libyang errors, resource limits).
    Other,
}

/// One libyang error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", path.as_deref().map(|p| format!(" (at {p})")).unwrap_or_default())]
pub struct YangError {
    /// Coarse class of the error.
    pub class: ErrorClass,
    /// libyang's message.
    pub message: String,
    /// The data path of the offending node (an XPath instance identifier), when known.
    pub path: Option<String>,
    /// The YANG `error-app-tag` (e.g. `too-few-elements`, `instance-required`), when any.
    pub app_tag: Option<String>,
}

impl YangError {
    fn other(message: impl Into<String>) -> Self {
        YangError { class: ErrorClass::Other, message: message.into(), path: None, app_tag: None }
    }

    fn from_libyang(err: yang2::Error) -> Self {
        let message = err.msg.clone().unwrap_or_else(|| format!("libyang error {}", err.errcode));
        let class = classify(&message, err.apptag.as_deref());
        // libyang 2.1 stores the location as `Data location "/a/b[k='v']", line number 3.`
        // (or `Schema location ...` when no data node exists yet, or `Path "..."`); only a
        // data location is an instance identifier.
        let path = err.path.as_deref().and_then(|p| {
            let rest = p.strip_prefix("Data location \"").or_else(|| p.strip_prefix("Path \""))?;
            let end = rest.find('"')?;
            Some(rest[..end].to_owned()).filter(|p| p.starts_with('/'))
        });
        YangError { class, message, path, app_tag: err.apptag }
    }
}

/// Classifies a libyang 2.1 message. libyang exposes a validation code (`LY_VECODE`), but
/// it puts most errors under the same `LYVE_DATA`; the messages are stable within 2.1 and
/// tell the classes apart.
fn classify(message: &str, app_tag: Option<&str>) -> ErrorClass {
    let m = message;
    match app_tag {
        Some("too-few-elements") | Some("missing-choice") => return ErrorClass::Missing,
        Some("too-many-elements") | Some("data-not-unique") => return ErrorClass::Duplicate,
        Some("instance-required") | Some("must-violation") => return ErrorClass::Constraint,
        _ => {}
    }
    if m.contains("syntax error")
        || m.contains("Invalid character")
        || m.contains("Unexpected end-of-input")
        || m.contains("Invalid JSON")
        || m.contains("unexpected end")
        || m.contains("Invalid UTF-8")
        || m.contains("Empty input")
        || m.starts_with("Invalid character sequence")
        || m.contains("Unexpected character")
        || m.contains("Invalid JSON value")
        || m.contains("not valid JSON")
        || m.contains("Mixed opening and closing")
    {
        return ErrorClass::Syntax;
    }
    if m.contains("Expected top-level JSON object") {
        return ErrorClass::Syntax;
    }
    if m.contains("must be namespace-qualified") {
        return ErrorClass::UnknownNamespace;
    }
    if m.contains("state node") || m.contains("Unexpected data state") {
        return ErrorClass::StateNode;
    }
    if m.contains("No module named") || m.contains("unknown prefix") || m.contains("No module with namespace") {
        return ErrorClass::UnknownNamespace;
    }
    if m.contains("not found") && (m.contains("Node") || m.contains("node")) {
        return ErrorClass::UnknownNode;
    }
    if m.contains("Duplicate instance") || m.contains("Duplicate") {
        return ErrorClass::Duplicate;
    }
    if m.contains("Mandatory node") || m.contains("Too few") || m.contains("List instance is missing its key") {
        return ErrorClass::Missing;
    }
    if m.contains("Invalid leafref")
        || m.contains("Invalid instance-identifier")
        || m.contains("When condition")
        || m.contains("Must condition")
        || m.contains("required instance")
    {
        return ErrorClass::Constraint;
    }
    if m.starts_with("Invalid")
        || m.contains("does not satisfy")
        || m.contains("Value \"")
        || m.contains("out of")
        || m.contains("Unsatisfied")
        || m.contains("pattern")
        || m.contains("Expected")
    {
        return ErrorClass::InvalidValue;
    }
    ErrorClass::Other
}

/// Information about one list of the schema, for tools that edit documents by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaNodeInfo {
    /// Data path of the node with module prefixes on every step, e.g.
    /// `/ieee802-dot1q-cnc-config:cnc-config/domain/cuc`.
    pub path: String,
    /// Name of the module that defines the node.
    pub module: String,
    /// What the node is.
    pub kind: NodeKind,
    /// Whether the node is configuration (false for state data, RPC/notification content).
    pub config: bool,
    /// List keys, in order (empty for anything but a list).
    pub keys: Vec<String>,
    /// How RFC 7951 encodes the value of a leaf or leaf-list (None for other nodes).
    pub json: Option<JsonKind>,
}

/// How RFC 7951 encodes a leaf value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonKind {
    /// A JSON number (8-, 16- and 32-bit integers).
    Number,
    /// `true`/`false`.
    Boolean,
    /// `[null]` (type empty).
    Empty,
    /// A JSON string (everything else, including 64-bit integers and decimal64).
    String,
}

/// Kind of a schema node (choice and case are transparent in data and not reported).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// A container.
    Container,
    /// A leaf.
    Leaf,
    /// A leaf-list.
    LeafList,
    /// A list.
    List,
    /// anydata/anyxml.
    Any,
    /// An RPC.
    Rpc,
    /// An action.
    Action,
    /// A notification.
    Notification,
}

/// A module loaded into a [`Schema`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    /// Module name.
    pub name: String,
    /// Revision, when the module has one.
    pub revision: Option<String>,
    /// XML namespace.
    pub namespace: String,
    /// Whether the module is implemented (its data nodes are usable) or only imported.
    pub implemented: bool,
    /// Enabled features (only for modules loaded with features).
    pub features: Vec<String>,
}

/// A libyang context holding a fixed set of embedded modules.
#[derive(Clone)]
pub struct Schema {
    ctx: Arc<Context>,
    nodes: Arc<BTreeMap<String, SchemaNodeInfo>>,
    modules: Arc<Vec<ModuleInfo>>,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schema").field("modules", &self.modules).finish_non_exhaustive()
    }
}

impl Schema {
    /// A context with `available` modules embedded (for imports) and the modules named in
    /// `implement` loaded as implemented, with the given features enabled (`"*"` = all).
    ///
    /// Nothing is read from the file system: only libyang's built-in modules (among them
    /// `ietf-inet-types`, `ietf-yang-types` 2013-07-15 and `ietf-yang-library`) and
    /// `available` exist for it. `ietf-yang-library` (2019-01-04) is implemented, so that a
    /// server can validate the library data it returns.
    pub fn new(available: &[YangModule], implement: &[(&str, &[&str])]) -> Result<Self, YangError> {
        let mut ctx = Context::new(ContextFlags::DISABLE_SEARCHDIR_CWD).map_err(YangError::from_libyang)?;
        let _ = ctx.unset_searchdirs();
        let mut embedded = EmbeddedModules::new();
        for m in available {
            embedded.insert(EmbeddedModuleKey::new(m.name, Some(m.revision), None, None), m.text);
        }
        ctx.set_embedded_modules(&embedded);
        let mut features_of = BTreeMap::new();
        for (name, features) in implement {
            check_c_string(name)?;
            for f in features.iter() {
                check_c_string(f)?;
            }
            let revision = available.iter().find(|m| m.name == *name).map(|m| m.revision);
            ctx.load_module(name, revision, features).map_err(YangError::from_libyang)?;
            features_of.insert(name.to_string(), features.iter().map(|f| f.to_string()).collect::<Vec<_>>());
        }
        // The import callback holds a pointer to `embedded`, which dies with this function.
        ctx.unset_embedded_modules();
        let modules = ctx
            .modules(false)
            .map(|m| ModuleInfo {
                name: m.name().to_owned(),
                revision: m.revision().map(str::to_owned),
                namespace: m.namespace().to_owned(),
                implemented: m.is_implemented(),
                features: features_of.get(m.name()).cloned().unwrap_or_default(),
            })
            .collect();
        let mut nodes = BTreeMap::new();
        // Actions and nested notifications are not reached by traversal (yang2 0.7 reads
        // their linked lists as arrays, so `SchemaNode::actions` must not be used); they are
        // looked up by path on demand in `Schema::node`.
        let data: Vec<_> = ctx.traverse().collect();
        let ops: Vec<_> = ctx
            .modules(true)
            .filter(|m| m.is_implemented())
            .flat_map(|m| m.rpcs().chain(m.notifications()).flat_map(|op| op.traverse()).collect::<Vec<_>>())
            .collect();
        for node in data.into_iter().chain(ops) {
            if let Some(info) = node_info(&node) {
                nodes.insert(info.path.clone(), info);
            }
        }
        Ok(Schema { ctx: Arc::new(ctx), nodes: Arc::new(nodes), modules: Arc::new(modules) })
    }

    /// The product's UNI schema: `ieee802-dot1q-cnc-config` (and `ieee802-dot1q-tsn-types`).
    pub fn cnc_config() -> Result<Self, YangError> {
        Schema::new(modules::ALL, &[(modules::CNC_CONFIG.name, &[])])
    }

    /// The modules of the context, libyang's built-in ones included.
    pub fn modules(&self) -> &[ModuleInfo] {
        &self.modules
    }

    /// Every data, RPC and top-level notification node of the implemented modules, by
    /// [`SchemaNodeInfo::path`] (choices and cases skipped; input/output children appear
    /// below the RPC/action path directly).
    pub fn nodes(&self) -> &BTreeMap<String, SchemaNodeInfo> {
        &self.nodes
    }

    /// The node at a fully qualified data path (as in [`SchemaNodeInfo::path`]), if any;
    /// actions and nested notifications are found too.
    pub fn node(&self, path: &str) -> Option<SchemaNodeInfo> {
        if let Some(n) = self.nodes.get(path) {
            return Some(n.clone());
        }
        if check_c_string(path).is_err() || !path.starts_with('/') {
            return None;
        }
        let node = self.ctx.find_path(path).ok()?;
        node_info(&node).filter(|info| info.path == path)
    }

    /// Parses and validates `text` as `kind`.
    pub fn parse(&self, text: &str, encoding: Encoding, kind: DataKind) -> Result<Document, YangError> {
        if text.len() > MAX_DOCUMENT_BYTES {
            return Err(YangError::other(format!("document larger than {MAX_DOCUMENT_BYTES} bytes")));
        }
        check_c_string(text)?;
        if encoding == Encoding::Json {
            // libyang 2.1 accepts some truncated documents (`{"x":` parses as empty), so JSON
            // is checked for well-formedness first.
            if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
                return Err(YangError {
                    class: ErrorClass::Syntax,
                    message: format!("malformed JSON: {e}"),
                    path: None,
                    app_tag: None,
                });
            }
        }
        let format = encoding.format();
        let tree = match kind {
            DataKind::Config => DataTree::parse_string(
                &self.ctx,
                text,
                format,
                DataParserFlags::STRICT | DataParserFlags::NO_STATE,
                DataValidationFlags::NO_STATE | DataValidationFlags::PRESENT,
            ),
            DataKind::Data => {
                DataTree::parse_string(&self.ctx, text, format, DataParserFlags::STRICT, DataValidationFlags::PRESENT)
            }
            DataKind::ConfigFragment => DataTree::parse_string(
                &self.ctx,
                text,
                format,
                DataParserFlags::STRICT | DataParserFlags::NO_STATE | DataParserFlags::NO_VALIDATION,
                DataValidationFlags::empty(),
            ),
            DataKind::DataFragment => DataTree::parse_string(
                &self.ctx,
                text,
                format,
                DataParserFlags::STRICT | DataParserFlags::NO_VALIDATION,
                DataValidationFlags::empty(),
            ),
            DataKind::RpcInput | DataKind::ActionInput => {
                DataTree::parse_op_string(&self.ctx, text, format, DataOperation::RpcYang)
            }
            DataKind::Notification => {
                DataTree::parse_op_string(&self.ctx, text, format, DataOperation::NotificationYang)
            }
        }
        .map_err(YangError::from_libyang)?;
        if matches!(kind, DataKind::RpcInput | DataKind::ActionInput | DataKind::Notification)
            && tree.reference().is_none()
        {
            return Err(YangError {
                class: ErrorClass::Missing,
                message: "the document holds no operation".into(),
                path: None,
                app_tag: None,
            });
        }
        Ok(Document { tree, kind })
    }

    /// Parses `text` as `kind` and prints it back in `to` (canonical values, RFC 7951
    /// member names), or returns the first error.
    pub fn convert(&self, text: &str, from: Encoding, kind: DataKind, to: Encoding) -> Result<String, YangError> {
        self.parse(text, from, kind)?.print(to)
    }
}

fn check_c_string(s: &str) -> Result<(), YangError> {
    if s.as_bytes().contains(&0) {
        return Err(YangError {
            class: ErrorClass::Syntax,
            message: "the document contains a NUL character".into(),
            path: None,
            app_tag: None,
        });
    }
    Ok(())
}

fn node_info(node: &yang2::schema::SchemaNode<'_>) -> Option<SchemaNodeInfo> {
    let kind = match node.kind() {
        SchemaNodeKind::Container => NodeKind::Container,
        SchemaNodeKind::Leaf => NodeKind::Leaf,
        SchemaNodeKind::LeafList => NodeKind::LeafList,
        SchemaNodeKind::List => NodeKind::List,
        SchemaNodeKind::AnyData => NodeKind::Any,
        SchemaNodeKind::Rpc => NodeKind::Rpc,
        SchemaNodeKind::Action => NodeKind::Action,
        SchemaNodeKind::Notification => NodeKind::Notification,
        _ => return None,
    };
    Some(SchemaNodeInfo {
        path: qualified_path(node),
        module: node.module().name().to_owned(),
        kind,
        config: node.is_config(),
        keys: node.list_keys().map(|k| k.name().to_owned()).collect(),
        json: match kind {
            NodeKind::Leaf | NodeKind::LeafList => Some(match node.base_type() {
                Some(
                    DataValueType::Int8
                    | DataValueType::Int16
                    | DataValueType::Int32
                    | DataValueType::Uint8
                    | DataValueType::Uint16
                    | DataValueType::Uint32,
                ) => JsonKind::Number,
                Some(DataValueType::Bool) => JsonKind::Boolean,
                Some(DataValueType::Empty) => JsonKind::Empty,
                _ => JsonKind::String,
            }),
            _ => None,
        },
    })
}

/// `/mod:a/b/c`, with the module prefix repeated only where the module changes, as RFC
/// 7951 member names do; choice/case and input/output steps skipped.
fn qualified_path(node: &yang2::schema::SchemaNode<'_>) -> String {
    let mut steps = Vec::new();
    for a in node.inclusive_ancestors() {
        match a.kind() {
            SchemaNodeKind::Choice | SchemaNodeKind::Case | SchemaNodeKind::Input | SchemaNodeKind::Output => {}
            _ => steps.push((a.module().name().to_owned(), a.name().to_owned())),
        }
    }
    steps.reverse();
    let mut out = String::new();
    let mut prev: Option<&str> = None;
    for (module, name) in &steps {
        out.push('/');
        if prev != Some(module.as_str()) {
            out.push_str(module);
            out.push(':');
        }
        out.push_str(name);
        prev = Some(module);
    }
    // SchemaPathFormat is kept for callers that want libyang's own rendering.
    let _ = SchemaPathFormat::DATA;
    out
}

/// A parsed (and, depending on its [`DataKind`], validated) document.
pub struct Document {
    tree: DataTree,
    kind: DataKind,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document").field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl Document {
    /// How the document was parsed.
    pub fn kind(&self) -> DataKind {
        self.kind
    }

    /// Whether the document holds no data node.
    pub fn is_empty(&self) -> bool {
        self.tree.reference().is_none()
    }

    /// Prints the document (all top-level siblings) in `encoding`, compact.
    pub fn print(&self, encoding: Encoding) -> Result<String, YangError> {
        if self.is_empty() {
            return Ok(match encoding {
                Encoding::Json => "{}".to_owned(),
                Encoding::Xml => String::new(),
            });
        }
        let text = self
            .tree
            .print_string(encoding.format(), DataPrinterFlags::WITH_SIBLINGS | DataPrinterFlags::SHRINK)
            .map_err(YangError::from_libyang)?;
        Ok(text.unwrap_or_default())
    }

    /// Prints the node at `path` (a libyang data path) with its subtree, without siblings;
    /// None when no such node exists.
    pub fn print_node(&self, path: &str, encoding: Encoding) -> Result<Option<String>, YangError> {
        if check_c_string(path).is_err() || self.is_empty() {
            return Ok(None);
        }
        let Ok(node) = self.tree.find_path(path) else { return Ok(None) };
        node.print_string(encoding.format(), DataPrinterFlags::SHRINK).map_err(YangError::from_libyang)
    }

    /// Data paths of every node of the document, in document order (for tests and diffs).
    pub fn paths(&self) -> Vec<String> {
        self.tree.traverse().map(|n| n.path()).collect()
    }

    /// Whether a node exists at `path` (a libyang data path such as
    /// `/mod:top/list[key='v']/leaf`).
    pub fn exists(&self, path: &str) -> bool {
        if check_c_string(path).is_err() || self.is_empty() {
            return false;
        }
        self.tree.find_path(path).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_of_known_messages() {
        assert_eq!(classify("Unexpected data state node \"stream-status\" found.", None), ErrorClass::StateNode);
        assert_eq!(
            classify("Too few \"end-station-interfaces\" instances.", Some("too-few-elements")),
            ErrorClass::Missing
        );
        assert_eq!(classify("No module named \"foo\" in the context.", None), ErrorClass::UnknownNamespace);
        assert_eq!(classify("Duplicate instance of \"stream\".", None), ErrorClass::Duplicate);
    }
}
