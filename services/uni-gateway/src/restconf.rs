//! The RFC 8040 resources: root discovery, the datastore and data resources, operations,
//! the event stream, plus `/healthz` and `/metrics`.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Extension, Router};
use serde_json::{json, Map, Value};
use tsn_yang::{DataKind, NodeKind};

use crate::app::App;
use crate::auth::{authenticate, PeerIdentity, Principal};
use crate::doc::{self, MODULE, TOP};
use crate::error::{xml_escape, ErrorTag, ErrorType, RestconfError};
use crate::media::{body_media, negotiate, Media};
use crate::notify;
use crate::ops;
use crate::path::{parse_api_path, resolve, Step, Target};
use crate::query::{self, Content};
use crate::store::{Scope, Snapshot};
use crate::tree;

/// `ietf-yang-library` revision the server implements.
pub const YANG_LIBRARY_VERSION: &str = "2019-01-04";
const DATA_ALLOW: &str = "GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE";

/// The router of every resource.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/.well-known/host-meta", get(host_meta))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/restconf", any(root))
        .route("/restconf/", any(root))
        .route("/restconf/yang-library-version", any(yang_library_version))
        .route("/restconf/operations", any(operations_list))
        .route("/restconf/operations/{op}", any(operation))
        .route("/restconf/data", any(data))
        .route("/restconf/data/", any(data))
        .route("/restconf/data/{*path}", any(data))
        .route("/restconf/streams/{*name}", any(stream))
        .route("/viz", any(crate::viz::page_handler))
        .route("/viz/", any(crate::viz::page_handler))
        .route("/viz/api/network", any(crate::viz::network_handler))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(app.clone(), count))
        .with_state(app)
}

async fn count(State(app): State<Arc<App>>, req: Request, next: axum::middleware::Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    app.metrics.status(resp.status().as_u16());
    tracing::debug!(%method, path, status = resp.status().as_u16(), "request");
    resp
}

async fn not_found() -> Response {
    RestconfError::not_found("no such resource").into_response()
}

async fn host_meta() -> Response {
    (
        [("content-type", "application/xrd+xml")],
        "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n  <Link rel='restconf' href='/restconf'/>\n</XRD>\n",
    )
        .into_response()
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    if app.store.ping().await {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "store unreachable\n").into_response()
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let (streams, pending) = app.store.counts().await.unwrap_or((-1, -1));
    let backlog = app.store.outbox_backlog().await.unwrap_or(-1);
    let text = app.metrics.render(&[
        ("uni_gateway_streams", "Streams in the datastore.", streams),
        ("uni_gateway_pending_requests", "Compute requests waiting for their outcome.", pending),
        ("uni_gateway_outbox_backlog", "Outbox messages not yet published.", backlog),
        ("uni_gateway_sse_clients", "Connected event-stream clients.", app.hub.clients() as i64),
    ]);
    ([("content-type", "text/plain; version=0.0.4")], text).into_response()
}

/// Authentication and content negotiation common to every RESTCONF resource.
fn prelude(app: &App, headers: &HeaderMap, peer: Option<&PeerIdentity>) -> Result<(Principal, Media), Box<Response>> {
    let media = negotiate(headers).map_err(|e| Box::new(e.into_response_in(Media::Json)))?;
    let principal = authenticate(&app.config.auth, headers, peer.unwrap_or(&PeerIdentity::default()))
        .map_err(|e| Box::new(e.into_response_in(media)))?;
    Ok((principal, media))
}

fn json_response(status: StatusCode, media: Media, value: &Value, app: &App, head: bool) -> Response {
    let body = match media {
        Media::Json => value.to_string(),
        Media::Xml => match to_xml(app, value) {
            Ok(x) => x,
            Err(e) => return e.into_response_in(media),
        },
    };
    let mut resp = if head { (status, Body::empty()).into_response() } else { (status, body).into_response() };
    resp.headers_mut().insert("content-type", HeaderValue::from_static(media.content_type()));
    resp
}

/// XML of a document that is one top-level member (`{"module:name": value}`) without a
/// schema (restconf root, yang-library-version, operation output).
fn to_xml(app: &App, value: &Value) -> Result<String, RestconfError> {
    let Some((name, v)) = value.as_object().and_then(|m| m.iter().next()) else { return Ok(String::new()) };
    let (module, local) = name.split_once(':').unwrap_or(("", name));
    let ns = match module {
        "ietf-restconf" => "urn:ietf:params:xml:ns:yang:ietf-restconf".to_owned(),
        "ietf-restconf-monitoring" => "urn:ietf:params:xml:ns:yang:ietf-restconf-monitoring".to_owned(),
        m => app.schema.modules().iter().find(|x| x.name == m).map(|x| x.namespace.clone()).unwrap_or_default(),
    };
    fn write(out: &mut String, name: &str, v: &Value, ns: Option<&str>) {
        let open = match ns {
            Some(ns) => format!("<{name} xmlns=\"{}\">", xml_escape(ns)),
            None => format!("<{name}>"),
        };
        match v {
            Value::Array(items) => {
                for i in items {
                    write(out, name, i, ns);
                }
            }
            Value::Object(m) => {
                out.push_str(&open);
                for (k, c) in m {
                    let (_, local) = k.split_once(':').unwrap_or(("", k));
                    write(out, local, c, None);
                }
                out.push_str(&format!("</{name}>"));
            }
            Value::Null => out.push_str(&open.replace('>', "/>")),
            Value::String(s) => out.push_str(&format!("{open}{}</{name}>", xml_escape(s))),
            other => out.push_str(&format!("{open}{other}</{name}>")),
        }
    }
    let mut out = String::new();
    write(&mut out, local, v, Some(&ns));
    Ok(out)
}

async fn root(State(app): State<Arc<App>>, peer: Option<Extension<PeerIdentity>>, req: Request) -> Response {
    let (_, media) = match prelude(&app, req.headers(), peer.as_deref()) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    if let Err(e) = method_allowed(req.method(), &[Method::GET, Method::HEAD]) {
        return e.into_response_in(media);
    }
    let v =
        json!({"ietf-restconf:restconf": {"data": {}, "operations": {}, "yang-library-version": YANG_LIBRARY_VERSION}});
    json_response(StatusCode::OK, media, &v, &app, req.method() == Method::HEAD)
}

async fn yang_library_version(
    State(app): State<Arc<App>>,
    peer: Option<Extension<PeerIdentity>>,
    req: Request,
) -> Response {
    let (_, media) = match prelude(&app, req.headers(), peer.as_deref()) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    if let Err(e) = method_allowed(req.method(), &[Method::GET, Method::HEAD]) {
        return e.into_response_in(media);
    }
    let v = json!({"ietf-restconf:yang-library-version": YANG_LIBRARY_VERSION});
    json_response(StatusCode::OK, media, &v, &app, req.method() == Method::HEAD)
}

fn method_allowed(m: &Method, allowed: &[Method]) -> Result<(), RestconfError> {
    if allowed.contains(m) {
        return Ok(());
    }
    let list = allowed.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
    Err(RestconfError::new(
        ErrorType::Protocol,
        ErrorTag::OperationNotSupported,
        format!("method {m} is not allowed here"),
    )
    .header("allow", list))
}

async fn operations_list(State(app): State<Arc<App>>, peer: Option<Extension<PeerIdentity>>, req: Request) -> Response {
    let (_, media) = match prelude(&app, req.headers(), peer.as_deref()) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    if let Err(e) = method_allowed(req.method(), &[Method::GET, Method::HEAD]) {
        return e.into_response_in(media);
    }
    let mut ops = Map::new();
    for (path, node) in app.schema.nodes() {
        if node.kind == NodeKind::Rpc {
            ops.insert(path.trim_start_matches('/').to_owned(), json!([null]));
        }
    }
    json_response(StatusCode::OK, media, &json!({"ietf-restconf:operations": ops}), &app, req.method() == Method::HEAD)
}

async fn read_body(app: &App, body: Body) -> Result<Bytes, RestconfError> {
    axum::body::to_bytes(body, app.config.max_body_bytes).await.map_err(|_| {
        RestconfError::new(
            ErrorType::Transport,
            ErrorTag::TooBig,
            format!("the request body exceeds {} bytes", app.config.max_body_bytes),
        )
    })
}

fn body_text(bytes: &Bytes) -> Result<&str, RestconfError> {
    std::str::from_utf8(bytes)
        .map_err(|_| RestconfError::new(ErrorType::Rpc, ErrorTag::MalformedMessage, "the body is not UTF-8"))
}

async fn operation(
    State(app): State<Arc<App>>,
    peer: Option<Extension<PeerIdentity>>,
    axum::extract::Path(op): axum::extract::Path<String>,
    req: Request,
) -> Response {
    let (principal, media) = match prelude(&app, req.headers(), peer.as_deref()) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let result: Result<Response, RestconfError> = async {
        if req.method() == Method::OPTIONS {
            return Ok(allow_response("POST, OPTIONS"));
        }
        method_allowed(req.method(), &[Method::POST])?;
        query::only(&query::split_query(req.uri().query())?, &[], "POST")?;
        let path = format!("/{op}");
        let node = app.schema.node(&path).filter(|n| n.kind == NodeKind::Rpc).ok_or_else(|| {
            RestconfError::new(ErrorType::Protocol, ErrorTag::UnknownElement, format!("no operation {op:?}"))
                .status(StatusCode::NOT_FOUND)
        })?;
        let (module, name) = op.split_once(':').unwrap_or((MODULE, op.as_str()));
        let headers = req.headers().clone();
        let bytes = read_body(&app, req.into_body()).await?;
        let input = parse_input(
            &app,
            &headers,
            &bytes,
            module,
            name,
            |input| json!({ format!("{module}:{name}"): input }),
            DataKind::RpcInput,
            &[],
        )?;
        let input = input.get(format!("{module}:{name}")).cloned().unwrap_or(json!({}));
        let _ = node;
        Ok(match ops::rpc(&app, &principal, name, &input).await? {
            Some(output) => json_response(StatusCode::OK, media, &output, &app, false),
            None => StatusCode::NO_CONTENT.into_response(),
        })
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => e.into_response_in(media),
    }
}

/// Parses an operation's input body (`{"module:input": {...}}` or `<input xmlns=...>`),
/// validates it with libyang as `kind` after `wrap` puts it into place, and returns the
/// validated document as JSON. An empty body is an empty input.
#[allow(clippy::too_many_arguments)]
fn parse_input(
    app: &App,
    headers: &HeaderMap,
    bytes: &Bytes,
    module: &str,
    op_name: &str,
    wrap: impl Fn(Value) -> Value,
    kind: DataKind,
    xml_ancestors: &[Step],
) -> Result<Value, RestconfError> {
    let input = if bytes.is_empty() {
        json!({})
    } else {
        let media = body_media(headers)?;
        let text = body_text(bytes)?;
        match media {
            Media::Json => {
                let v = tree::parse_json_strict(text)?;
                let m = v.as_object().filter(|m| m.len() == 1).ok_or_else(|| {
                    RestconfError::new(
                        ErrorType::Protocol,
                        ErrorTag::MalformedMessage,
                        "the body must be one object member named module:input",
                    )
                })?;
                let (k, v) = m.iter().next().expect("one member");
                if k != &format!("{module}:input") {
                    let tag = if k.contains(':') && !k.starts_with(&format!("{module}:")) {
                        ErrorTag::UnknownNamespace
                    } else {
                        ErrorTag::UnknownElement
                    };
                    return Err(RestconfError::new(
                        ErrorType::Protocol,
                        tag,
                        format!("the body must hold {module}:input, not {k:?}"),
                    ));
                }
                v.clone()
            }
            Media::Xml => {
                // Re-encode through libyang: the <input> element becomes the operation node.
                let ns = namespace(app, module)?;
                let inner = strip_xml_element(text, "input").ok_or_else(|| {
                    RestconfError::new(
                        ErrorType::Protocol,
                        ErrorTag::MalformedMessage,
                        "the body must be one <input> element",
                    )
                })?;
                let mut xml = String::new();
                let mut closes = Vec::new();
                for (i, s) in xml_ancestors.iter().enumerate() {
                    open_xml(&mut xml, s, if i == 0 { Some(&ns) } else { None });
                    closes.push(s.name.clone());
                }
                let op = op_name;
                let mut full = xml.clone();
                if xml_ancestors.is_empty() {
                    full.push_str(&format!("<{op} xmlns=\"{}\">{inner}</{op}>", xml_escape(&ns)));
                } else {
                    full.push_str(&format!("<{op}>{inner}</{op}>"));
                }
                for c in closes.iter().rev() {
                    full.push_str(&format!("</{c}>"));
                }
                let doc =
                    app.schema.parse(&full, tsn_yang::Encoding::Xml, kind).map_err(|e| RestconfError::from_yang(&e))?;
                let text = doc.print(tsn_yang::Encoding::Json).map_err(|e| RestconfError::from_yang(&e))?;
                let v: Value = serde_json::from_str(&text).map_err(|e| RestconfError::internal(e.to_string()))?;
                return Ok(v);
            }
        }
    };
    let doc = wrap(input);
    app.schema.parse(&doc.to_string(), tsn_yang::Encoding::Json, kind).map_err(|e| RestconfError::from_yang(&e))?;
    Ok(doc)
}

fn namespace(app: &App, module: &str) -> Result<String, RestconfError> {
    app.schema.modules().iter().find(|m| m.name == module).map(|m| m.namespace.clone()).ok_or_else(|| {
        RestconfError::new(ErrorType::Protocol, ErrorTag::UnknownNamespace, format!("no module {module:?}"))
    })
}

/// The content of a single top-level XML element named `name` (any prefix/namespace
/// declaration on it is dropped; libyang checks the namespaces of the content).
fn strip_xml_element(text: &str, name: &str) -> Option<String> {
    let t = text.trim();
    let t = if t.starts_with("<?xml") { t[t.find("?>")? + 2..].trim() } else { t };
    let open_end = t.find('>')?;
    let open = &t[1..open_end];
    let tag = open.split_whitespace().next()?.trim_end_matches('/');
    if tag.rsplit(':').next()? != name {
        return None;
    }
    if open.ends_with('/') {
        return Some(String::new());
    }
    let close = format!("</{tag}>");
    let body = t[open_end + 1..].strip_suffix(close.as_str())?;
    Some(body.to_owned())
}

fn open_xml(out: &mut String, step: &Step, ns: Option<&str>) {
    match ns {
        Some(ns) => out.push_str(&format!("<{} xmlns=\"{}\">", step.name, xml_escape(ns))),
        None => out.push_str(&format!("<{}>", step.name)),
    }
    for (k, v) in &step.keys {
        out.push_str(&format!("<{k}>{}</{k}>", xml_escape(v)));
    }
}

fn allow_response(allow: &'static str) -> Response {
    let mut r = StatusCode::OK.into_response();
    r.headers_mut().insert("allow", HeaderValue::from_static(allow));
    r.headers_mut()
        .insert("accept-patch", HeaderValue::from_static("application/yang-data+json, application/yang-data+xml"));
    r
}

async fn data(State(app): State<Arc<App>>, peer: Option<Extension<PeerIdentity>>, req: Request) -> Response {
    let (principal, media) = match prelude(&app, req.headers(), peer.as_deref()) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    match data_inner(&app, &principal, media, req).await {
        Ok(r) => r,
        Err(e) => {
            if e.status.is_server_error() {
                tracing::error!(error = %e, "request failed");
            }
            e.into_response_in(media)
        }
    }
}

async fn data_inner(app: &App, principal: &Principal, media: Media, req: Request) -> Result<Response, RestconfError> {
    let method = req.method().clone();
    let raw = req.uri().path().strip_prefix("/restconf/data").unwrap_or("");
    let raw = raw.strip_prefix('/').unwrap_or(raw);
    let segments = parse_api_path(raw)?;
    let params = query::split_query(req.uri().query())?;
    let special = segments.first().and_then(|s| s.module.clone());
    match special.as_deref() {
        Some("ietf-yang-library") | Some("ietf-restconf-monitoring") => {
            method_allowed(&method, &[Method::GET, Method::HEAD])?;
            let q = query::data_query(&params)?;
            let doc =
                if special.as_deref() == Some("ietf-yang-library") { yang_library(app) } else { monitoring(app).await };
            let Some((member, value)) = doc
                .as_object()
                .and_then(|m| m.iter().find(|(k, _)| k.split(':').nth(1) == Some(segments[0].name.as_str())))
                .map(|(k, v)| (k.clone(), v.clone()))
                .filter(|_| segments.len() == 1 && segments[0].keys.is_none())
            else {
                return Err(RestconfError::not_found("only the top-level containers of this module are served"));
            };
            let value = filter(app, &value, &q, &format!("/{member}"), &[]);
            let body = json!({ member: value });
            if media == Media::Xml && special.as_deref() == Some("ietf-yang-library") {
                let doc = app
                    .schema
                    .parse(&body.to_string(), tsn_yang::Encoding::Json, DataKind::DataFragment)
                    .map_err(|e| RestconfError::internal(e.to_string()))?;
                let xml = doc.print(tsn_yang::Encoding::Xml).map_err(|e| RestconfError::internal(e.to_string()))?;
                let mut r = if method == Method::HEAD {
                    (StatusCode::OK, Body::empty()).into_response()
                } else {
                    (StatusCode::OK, xml).into_response()
                };
                r.headers_mut().insert("content-type", HeaderValue::from_static(media.content_type()));
                return Ok(r);
            }
            return Ok(json_response(StatusCode::OK, media, &body, app, method == Method::HEAD));
        }
        _ => {}
    }
    let target = resolve(&app.schema, &segments)?;
    if let Some(cuc) = target.key_of("cuc") {
        principal.check(cuc)?;
    }
    let headers = req.headers().clone();
    match method {
        Method::OPTIONS => Ok(allow_response(DATA_ALLOW)),
        Method::GET | Method::HEAD => {
            read(app, principal, &target, &params, media, method == Method::HEAD, &headers).await
        }
        Method::POST if target.node().is_some_and(|n| n.kind == NodeKind::Action) => {
            query::only(&params, &[], "POST")?;
            let bytes = read_body(app, req.into_body()).await?;
            action(app, principal, &target, &headers, &bytes, media).await
        }
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE => {
            query::only(&params, &[], method.as_str())?;
            let bytes = read_body(app, req.into_body()).await?;
            edit(app, principal, &target, &method, &headers, &bytes, media).await
        }
        _ => Err(method_allowed(
            &method,
            &[Method::GET, Method::HEAD, Method::OPTIONS, Method::POST, Method::PUT, Method::PATCH, Method::DELETE],
        )
        .expect_err("not an allowed method")),
    }
}

/// Datastore scope of a target (plus the key of a child created by POST).
fn scope_of(target: &Target, child: Option<(&str, &str)>) -> Scope {
    let mut s = Scope {
        domain: target.key_of("domain").map(str::to_owned),
        cuc: target.key_of("cuc").map(str::to_owned),
        stream: target.key_of("stream").map(str::to_owned),
    };
    if let Some((list, key)) = child {
        match list {
            "domain" if s.domain.is_none() => s.domain = Some(key.to_owned()),
            "cuc" if s.domain.is_some() && s.cuc.is_none() => s.cuc = Some(key.to_owned()),
            "stream" if s.cuc.is_some() && s.stream.is_none() => s.stream = Some(key.to_owned()),
            _ => {}
        }
    }
    s
}

fn etag_of(v: &Value) -> String {
    let mut h = DefaultHasher::new();
    v.to_string().hash(&mut h);
    format!("\"{:016x}\"", h.finish())
}

fn http_date(ms: i64) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64))
}

fn keys_closure<'a>(app: &'a App, base: String) -> impl Fn(&str) -> Vec<String> + 'a {
    move |rel: &str| app.schema.node(&format!("{base}/{rel}")).map(|n| n.keys).unwrap_or_default()
}

fn filter(app: &App, value: &Value, q: &query::DataQuery, base: &str, own_keys: &[String]) -> Value {
    let keys = keys_closure(app, base.to_owned());
    let mut v = value.clone();
    if let Some(f) = &q.fields {
        v = query::apply_fields(&v, f, &keys);
    }
    if let Some(d) = q.depth {
        v = query::apply_depth(&v, d, &keys, own_keys);
    }
    v
}

async fn read(
    app: &App,
    principal: &Principal,
    target: &Target,
    params: &[(String, String)],
    media: Media,
    head: bool,
    headers: &HeaderMap,
) -> Result<Response, RestconfError> {
    let q = query::data_query(params)?;
    let scope = scope_of(target, None);
    let mut tx = app.store.begin(false).await?;
    let snap = app.store.load(&mut tx, &scope).await?;
    tx.commit().await?;
    let config_doc = doc::build(&snap, Content::Config, Some(principal));
    let content_doc =
        if q.content == Content::Config { config_doc.clone() } else { doc::build(&snap, q.content, Some(principal)) };
    if app.config.validate_responses && q.content != Content::Nonconfig {
        let kind = if q.content == Content::Config { DataKind::Config } else { DataKind::Data };
        if let Err(e) = app.schema.parse(&content_doc.to_string(), tsn_yang::Encoding::Json, kind) {
            tracing::error!(error = %e, "the datastore does not validate; answering anyway");
        }
    }
    let (value, etag) = if target.steps.is_empty() {
        (content_doc.clone(), etag_of(&config_doc))
    } else {
        let v = tree::get(&content_doc, &target.steps)
            .cloned()
            .ok_or_else(|| RestconfError::not_found(format!("{} does not exist", target.xpath())))?;
        let e = tree::get(&config_doc, &target.steps).map(etag_of).unwrap_or_else(|| etag_of(&v));
        (v, e)
    };
    if let Some(inm) = headers.get("if-none-match").and_then(|v| v.to_str().ok()) {
        if inm.split(',').any(|t| t.trim() == etag || t.trim() == "*") {
            let mut r = StatusCode::NOT_MODIFIED.into_response();
            r.headers_mut().insert("etag", HeaderValue::from_str(&etag).expect("hex etag"));
            return Ok(r);
        }
    }
    let body = match target.steps.last() {
        None => {
            let base = format!("/{TOP}");
            let inner = value.get(TOP).cloned().unwrap_or(json!({}));
            json!({ TOP: filter(app, &inner, &q, &base, &[]) })
        }
        Some(last) => {
            let own = if last.node.kind == NodeKind::List { last.node.keys.clone() } else { Vec::new() };
            let filtered = filter(app, &value, &q, &last.node.path, &own);
            let member = format!("{}:{}", last.node.module, last.name);
            let v = if last.is_entry() { Value::Array(vec![filtered]) } else { filtered };
            json!({ member: v })
        }
    };
    let text = match media {
        Media::Json => body.to_string(),
        Media::Xml => data_xml(app, target, &body)?,
    };
    let mut resp =
        if head { (StatusCode::OK, Body::empty()).into_response() } else { (StatusCode::OK, text).into_response() };
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static(media.content_type()));
    h.insert("etag", HeaderValue::from_str(&etag).expect("hex etag"));
    if let Ok(v) = HeaderValue::from_str(&http_date(snap.last_modified_ms)) {
        h.insert("last-modified", v);
    }
    Ok(resp)
}

/// XML of a response body `{"module:name": value}` for `target`: the value is put back
/// into its ancestors, parsed by libyang, and the target subtree printed.
fn data_xml(app: &App, target: &Target, body: &Value) -> Result<String, RestconfError> {
    let Some(last) = target.steps.last() else {
        let doc = app
            .schema
            .parse(&body.to_string(), tsn_yang::Encoding::Json, DataKind::DataFragment)
            .map_err(|e| RestconfError::internal(e.to_string()))?;
        return doc.print(tsn_yang::Encoding::Xml).map_err(|e| RestconfError::internal(e.to_string()));
    };
    let value = body.as_object().and_then(|m| m.values().next()).cloned().unwrap_or(Value::Null);
    let mut full = json!({});
    let parent = tree::parent_mut(&app.schema, &mut full, &target.steps, true)?
        .ok_or_else(|| RestconfError::internal("no parent"))?;
    parent.insert(last.member.clone(), value.clone());
    let doc = app
        .schema
        .parse(&full.to_string(), tsn_yang::Encoding::Json, DataKind::DataFragment)
        .map_err(|e| RestconfError::internal(e.to_string()))?;
    let parent_xpath: String =
        target.steps[..target.steps.len() - 1].iter().map(|s| format!("/{}", s.xpath())).collect();
    let mut out = String::new();
    let entries: Vec<String> = match (&value, last.node.kind) {
        (Value::Array(items), NodeKind::List) => items
            .iter()
            .map(|e| {
                let keys: String = last
                    .node
                    .keys
                    .iter()
                    .map(|k| {
                        let v = e.get(k).and_then(tree::key_text).unwrap_or_default();
                        format!("[{k}='{v}']")
                    })
                    .collect();
                format!("{parent_xpath}/{}{keys}", last.member)
            })
            .collect(),
        _ => vec![format!("{parent_xpath}/{}", last.member)],
    };
    for xp in entries {
        if let Some(x) =
            doc.print_node(&xp, tsn_yang::Encoding::Xml).map_err(|e| RestconfError::internal(e.to_string()))?
        {
            out.push_str(&x);
        }
    }
    Ok(out)
}

/// The request body of an edit, as the member it adds at its position.
struct EditBody {
    member: String,
    value: Value,
}

/// Parses an edit body. `position` is the steps of the object the body's member goes into
/// (the target for POST, its parent otherwise).
fn parse_edit_body(
    app: &App,
    headers: &HeaderMap,
    bytes: &Bytes,
    position: &[Step],
) -> Result<EditBody, RestconfError> {
    let media = body_media(headers)?;
    let text = body_text(bytes)?;
    let position_module = position.last().map(|s| s.node.module.clone());
    let base = position.last().map(|s| s.node.path.clone()).unwrap_or_default();
    let v = match media {
        Media::Json => tree::parse_json_strict(text)?,
        Media::Xml => {
            // Wrap the element into its ancestors, let libyang check names, namespaces and
            // values, and continue with its JSON.
            let top_ns = match position.first() {
                Some(s) => namespace(app, &s.node.module)?,
                None => String::new(),
            };
            let t = text.trim();
            let t = if t.starts_with("<?xml") { t.find("?>").map(|i| t[i + 2..].trim()).unwrap_or(t) } else { t };
            let mut xml = String::new();
            for (i, s) in position.iter().enumerate() {
                open_xml(&mut xml, s, if i == 0 { Some(&top_ns) } else { None });
            }
            xml.push_str(t);
            for s in position.iter().rev() {
                xml.push_str(&format!("</{}>", s.name));
            }
            let doc = app
                .schema
                .parse(&xml, tsn_yang::Encoding::Xml, DataKind::ConfigFragment)
                .map_err(|e| RestconfError::from_yang(&e))?;
            let json_text = doc.print(tsn_yang::Encoding::Json).map_err(|e| RestconfError::from_yang(&e))?;
            let full: Value = serde_json::from_str(&json_text).map_err(|e| RestconfError::internal(e.to_string()))?;
            if position.is_empty() {
                full
            } else {
                let obj = tree::get(&full, position).and_then(Value::as_object).cloned().unwrap_or_default();
                let keys: Vec<&String> =
                    position.last().map(|s| s.keys.iter().map(|(k, _)| k).collect()).unwrap_or_default();
                let members: Map<String, Value> = obj
                    .into_iter()
                    .filter(|(k, _)| !keys.contains(&k))
                    .map(|(k, v)| {
                        // Name it as a JSON client would (qualified).
                        let module = app.schema.node(&format!("{base}/{k}")).map(|n| n.module).unwrap_or_default();
                        let name = if k.contains(':') { k } else { format!("{module}:{k}") };
                        (name, v)
                    })
                    .collect();
                Value::Object(members)
            }
        }
    };
    let map = v.as_object().ok_or_else(|| {
        RestconfError::new(ErrorType::Protocol, ErrorTag::MalformedMessage, "the body must be a JSON object")
    })?;
    if map.len() != 1 {
        return Err(RestconfError::new(
            ErrorType::Protocol,
            ErrorTag::MalformedMessage,
            format!("the body must hold exactly one data node, it holds {}", map.len()),
        ));
    }
    let (name, value) = map.iter().next().expect("one member");
    let Some((module, local)) = name.split_once(':') else {
        return Err(RestconfError::new(
            ErrorType::Protocol,
            ErrorTag::UnknownNamespace,
            format!("the member {name:?} must be qualified with its module name"),
        ));
    };
    if !app.schema.modules().iter().any(|m| m.name == module && m.implemented) {
        return Err(RestconfError::new(
            ErrorType::Application,
            ErrorTag::UnknownNamespace,
            format!("no module named {module:?}"),
        ));
    }
    let member =
        if position.is_empty() || position_module.as_deref() != Some(module) { name.clone() } else { local.to_owned() };
    let node = app.schema.node(&format!("{base}/{member}")).ok_or_else(|| {
        RestconfError::new(
            ErrorType::Application,
            ErrorTag::UnknownElement,
            format!("{name:?} is not a child of {}", if base.is_empty() { "the datastore" } else { &base }),
        )
    })?;
    if !node.config {
        return Err(RestconfError::new(
            ErrorType::Application,
            ErrorTag::BadElement,
            format!("{name:?} is config false: it is filled in by the network and cannot be written"),
        )
        .path(node.path));
    }
    Ok(EditBody { member, value: value.clone() })
}

fn check_if_match(headers: &HeaderMap, current: Option<&Value>) -> Result<(), RestconfError> {
    let Some(im) = headers.get("if-match").and_then(|v| v.to_str().ok()) else { return Ok(()) };
    let ok = match current {
        None => false,
        Some(v) => {
            let tag = etag_of(v);
            im.split(',').any(|t| t.trim() == "*" || t.trim() == tag)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(RestconfError::new(
            ErrorType::Protocol,
            ErrorTag::OperationFailed,
            "If-Match does not match the current entity tag",
        )
        .status(StatusCode::PRECONDITION_FAILED))
    }
}

/// The single list entry of `value` for a list node, checked against the URI keys.
fn single_entry(value: &Value, step_keys: &[(String, String)], what: &str) -> Result<Value, RestconfError> {
    let entries = value.as_array().filter(|a| a.len() == 1).ok_or_else(|| {
        RestconfError::new(
            ErrorType::Protocol,
            ErrorTag::InvalidValue,
            format!("{what} must hold exactly one list entry"),
        )
    })?;
    let entry = entries[0].clone();
    for (k, v) in step_keys {
        if entry.get(k).and_then(tree::key_text).as_deref() != Some(v.as_str()) {
            return Err(RestconfError::new(
                ErrorType::Protocol,
                ErrorTag::InvalidValue,
                format!("the key {k} in the body does not match the resource ({v:?})"),
            ));
        }
    }
    Ok(entry)
}

#[allow(clippy::too_many_arguments)]
async fn edit(
    app: &App,
    principal: &Principal,
    target: &Target,
    method: &Method,
    headers: &HeaderMap,
    bytes: &Bytes,
    media: Media,
) -> Result<Response, RestconfError> {
    if target.steps.is_empty() && (method == Method::DELETE || method == Method::PATCH) {
        return Err(method_allowed(method, &[Method::GET, Method::HEAD, Method::OPTIONS, Method::POST, Method::PUT])
            .expect_err("not allowed"));
    }
    let body = if method == Method::DELETE {
        if !bytes.is_empty() {
            return Err(RestconfError::bad_request("DELETE takes no body"));
        }
        None
    } else {
        if bytes.is_empty() {
            return Err(RestconfError::new(
                ErrorType::Protocol,
                ErrorTag::MalformedMessage,
                format!("{method} needs a body"),
            ));
        }
        let position: &[Step] =
            if method == Method::POST { &target.steps } else { &target.steps[..target.steps.len().saturating_sub(1)] };
        Some(parse_edit_body(app, headers, bytes, position)?)
    };
    // The child a POST creates.
    let mut child: Option<Step> = None;
    if let (&Method::POST, Some(b)) = (method, &body) {
        let base = target.steps.last().map(|s| s.node.path.clone()).unwrap_or_default();
        let node = app.schema.node(&format!("{base}/{}", b.member)).expect("checked by parse_edit_body");
        let keys = if node.kind == NodeKind::List {
            let entry = single_entry(&b.value, &[], "a POST body for a list")?;
            let mut keys = Vec::new();
            for k in &node.keys {
                let v = entry.get(k).and_then(tree::key_text).ok_or_else(|| {
                    RestconfError::new(
                        ErrorType::Application,
                        ErrorTag::MissingElement,
                        format!("the new {} entry has no key {k}", b.member),
                    )
                })?;
                keys.push((k.clone(), v));
            }
            keys
        } else {
            Vec::new()
        };
        let name = b.member.rsplit(':').next().unwrap_or(&b.member).to_owned();
        child = Some(Step { node, name, member: b.member.clone(), keys });
    } else if let (Some(b), Some(last)) = (&body, target.steps.last()) {
        if b.member != last.member {
            return Err(RestconfError::new(
                ErrorType::Protocol,
                ErrorTag::InvalidValue,
                format!("the body holds {:?} but the resource is {:?}", b.member, last.member),
            ));
        }
    }
    if let Some(c) = &child {
        if c.name == "cuc" {
            if let Some((_, cuc)) = c.keys.first() {
                principal.check(cuc)?;
            }
        }
    }
    let scope =
        scope_of(target, child.as_ref().and_then(|c| c.keys.first().map(|(_, v)| (c.name.as_str(), v.as_str()))));

    let _guard = app.store.write_lock.lock().await;
    let mut tx = app.store.begin(true).await?;
    let old = app.store.load(&mut tx, &scope).await?;
    let mut doc = doc::build(&old, Content::Config, None);
    let current = if target.steps.is_empty() { Some(doc.clone()) } else { tree::get(&doc, &target.steps).cloned() };
    check_if_match(headers, current.as_ref())?;
    let mut status = StatusCode::NO_CONTENT;
    let mut location = None;
    match (method, body) {
        (&Method::POST, Some(b)) => {
            let c = child.expect("set for POST");
            // List entries on the way must exist; containers are implicit.
            for i in 0..target.steps.len() {
                if target.steps[i].is_entry() && tree::get(&doc, &target.steps[..=i]).is_none() {
                    return Err(RestconfError::not_found(format!(
                        "{} does not exist",
                        Target { steps: target.steps[..=i].to_vec() }.xpath()
                    )));
                }
            }
            let mut steps = target.steps.clone();
            steps.push(c.clone());
            // An empty non-presence container does not count as existing.
            let np_empty = |v: &Value| c.node.kind == NodeKind::Container && v.as_object().is_some_and(Map::is_empty);
            if tree::get(&doc, &steps).is_some_and(|v| !np_empty(v)) {
                return Err(RestconfError::new(
                    ErrorType::Protocol,
                    ErrorTag::DataExists,
                    format!("{} already exists", Target { steps: steps.clone() }.xpath()),
                )
                .path(Target { steps: steps.clone() }.xpath()));
            }
            let value =
                if c.node.kind == NodeKind::List { single_entry(&b.value, &c.keys, "the body")? } else { b.value };
            let parent = tree::parent_mut(&app.schema, &mut doc, &steps, true)?.expect("created");
            tree::check_unique(&app.schema, &value, &c.node.path)?;
            tree::put_in(parent, &c, value);
            status = StatusCode::CREATED;
            location = Some(format!("/restconf/data/{}", Target { steps }.api_path()));
        }
        (&Method::PUT, Some(b)) => {
            if target.steps.is_empty() {
                tree::check_unique(&app.schema, &b.value, &format!("/{}", b.member))?;
                if old.domains.is_empty() {
                    status = StatusCode::CREATED;
                }
                doc = json!({ b.member: b.value });
            } else {
                let last = target.steps.last().expect("non-empty");
                let value = if last.is_entry() { single_entry(&b.value, &last.keys, "the body")? } else { b.value };
                tree::check_unique(&app.schema, &value, &last.node.path)?;
                if current.is_none() {
                    status = StatusCode::CREATED;
                }
                let parent = tree::parent_mut(&app.schema, &mut doc, &target.steps, true)?.expect("created");
                tree::put_in(parent, last, value);
            }
        }
        (&Method::PATCH, Some(b)) => {
            let last = target.steps.last().expect("non-empty");
            if current.is_none() {
                return Err(RestconfError::new(
                    ErrorType::Protocol,
                    ErrorTag::DataMissing,
                    format!("{} does not exist", target.xpath()),
                )
                .status(StatusCode::NOT_FOUND));
            }
            let value = if last.is_entry() { single_entry(&b.value, &last.keys, "the body")? } else { b.value };
            let parent = tree::parent_mut(&app.schema, &mut doc, &target.steps, false)?.expect("exists");
            let mut slot = json!({ last.member.clone(): if last.is_entry() { Value::Array(vec![current.clone().unwrap_or_default()]) } else { current.clone().unwrap_or_default() } });
            let patch = json!({ last.member.clone(): if last.is_entry() { Value::Array(vec![value]) } else { value } });
            let parent_path = last.node.path.rsplit_once('/').map(|(p, _)| p.to_owned()).unwrap_or_default();
            tree::merge(&app.schema, &mut slot, &patch, &parent_path)?;
            let merged = slot.get(&last.member).cloned().unwrap_or_default();
            let merged = if last.is_entry() {
                merged.as_array().and_then(|a| a.first()).cloned().unwrap_or_default()
            } else {
                merged
            };
            tree::put_in(parent, last, merged);
        }
        (&Method::DELETE, None) => {
            let last = target.steps.last().expect("non-empty");
            if current.is_none() {
                return Err(RestconfError::new(
                    ErrorType::Protocol,
                    ErrorTag::DataMissing,
                    format!("{} does not exist", target.xpath()),
                )
                .status(StatusCode::NOT_FOUND));
            }
            let parent = tree::parent_mut(&app.schema, &mut doc, &target.steps, false)?.expect("exists");
            tree::remove_in(parent, last);
        }
        _ => return Err(RestconfError::internal("unexpected edit")),
    }
    // The whole edited scope must be valid configuration.
    let text = doc.to_string();
    app.schema.parse(&text, tsn_yang::Encoding::Json, DataKind::Config).map_err(|e| RestconfError::from_yang(&e))?;
    let mut new = doc::split(&doc)?;
    authorize_changes(principal, &old, &new)?;
    // Stream status follows the config: new streams are planned, changed configured ones
    // become modified; deleted streams the network runs are removed from it.
    for s in &mut new.streams {
        if let Some(o) = old
            .streams
            .iter()
            .find(|o| o.domain_id == s.domain_id && o.cuc_id == s.cuc_id && o.stream_id == s.stream_id)
        {
            s.stream_status = if o.config != s.config && o.stream_status != "planned" {
                "modified".into()
            } else {
                o.stream_status.clone()
            };
        }
    }
    let removed: Vec<_> = old
        .streams
        .iter()
        .filter(|o| {
            o.stream_status != "planned"
                && !new
                    .streams
                    .iter()
                    .any(|s| s.domain_id == o.domain_id && s.cuc_id == o.cuc_id && s.stream_id == o.stream_id)
        })
        .cloned()
        .collect();
    app.store.save(&mut tx, &old, &new).await?;
    let mut by_cuc: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
    for r in removed {
        by_cuc.entry((r.domain_id, r.cuc_id)).or_default().push(r.stream_id);
    }
    for ((d, c), ids) in by_cuc {
        ops::enqueue_remove(app, &mut tx, &d, &c, ids).await?;
    }
    tx.commit().await?;
    drop(_guard);
    app.outbox_wake.notify_one();
    app.metrics.inc(&app.metrics.edits);
    let mut resp = status.into_response();
    if let Some(l) = location {
        if let Ok(v) = HeaderValue::from_str(&l) {
            resp.headers_mut().insert("location", v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&http_date(crate::store::now_ms())) {
        resp.headers_mut().insert("last-modified", v);
    }
    if method != Method::DELETE && !target.steps.is_empty() {
        if let Some(v) = tree::get(&doc, &target.steps) {
            if let Ok(h) = HeaderValue::from_str(&etag_of(v)) {
                resp.headers_mut().insert("etag", h);
            }
        }
    }
    let _ = media;
    Ok(resp)
}

/// Non-admins may change only streams and CUCs they own, and may create (not change or
/// delete) domains.
fn authorize_changes(p: &Principal, old: &Snapshot, new: &Snapshot) -> Result<(), RestconfError> {
    if p.admin {
        return Ok(());
    }
    for (id, cfg) in &new.domains {
        match old.domains.iter().find(|(o, _)| o == id) {
            Some((_, ocfg)) if ocfg != cfg => {
                return Err(RestconfError::forbidden(format!("{} may not change domain {id:?}", p.name)))
            }
            None if !cfg.is_empty() => {
                return Err(RestconfError::forbidden(format!("{} may not configure domain {id:?}", p.name)))
            }
            _ => {}
        }
    }
    for (id, _) in &old.domains {
        if !new.domains.iter().any(|(n, _)| n == id) {
            return Err(RestconfError::forbidden(format!("{} may not delete domain {id:?}", p.name)));
        }
    }
    for (_, c) in
        old.cucs.iter().filter(|x| !new.cucs.contains(x)).chain(new.cucs.iter().filter(|x| !old.cucs.contains(x)))
    {
        p.check(c)?;
    }
    for s in &new.streams {
        let changed = !old.streams.iter().any(|o| {
            o.domain_id == s.domain_id && o.cuc_id == s.cuc_id && o.stream_id == s.stream_id && o.config == s.config
        });
        if changed {
            p.check(&s.cuc_id)?;
        }
    }
    for o in &old.streams {
        if !new.streams.iter().any(|s| s.domain_id == o.domain_id && s.cuc_id == o.cuc_id && s.stream_id == o.stream_id)
        {
            p.check(&o.cuc_id)?;
        }
    }
    Ok(())
}

async fn action(
    app: &App,
    principal: &Principal,
    target: &Target,
    headers: &HeaderMap,
    bytes: &Bytes,
    media: Media,
) -> Result<Response, RestconfError> {
    let last = target.steps.last().expect("an action target");
    let parents = &target.steps[..target.steps.len() - 1];
    let member = last.member.clone();
    let wrap = |input: Value| {
        let mut full = json!({});
        if let Ok(Some(parent)) = tree::parent_mut(&app.schema, &mut full, &target.steps, true) {
            parent.insert(member.clone(), input);
        }
        full
    };
    let doc = parse_input(app, headers, bytes, &last.node.module, &last.name, wrap, DataKind::ActionInput, parents)?;
    let input = tree::get(&doc, &target.steps).cloned().unwrap_or(json!({}));
    let out = ops::action(app, principal, target, &last.name, &input).await?;
    Ok(json_response(StatusCode::OK, media, &out, app, false))
}

async fn stream(
    State(app): State<Arc<App>>,
    peer: Option<Extension<PeerIdentity>>,
    axum::extract::Path(name): axum::extract::Path<String>,
    req: Request,
) -> Response {
    let media = Media::Json;
    let principal =
        match authenticate(&app.config.auth, req.headers(), peer.as_deref().unwrap_or(&PeerIdentity::default())) {
            Ok(p) => p,
            Err(e) => return e.into_response_in(media),
        };
    let result = (|| {
        method_allowed(req.method(), &[Method::GET])?;
        let stream_name = name.trim_end_matches("/json");
        if stream_name != notify::STREAM_NAME {
            return Err(RestconfError::not_found(format!("no event stream {name:?}")));
        }
        if let Some(accept) = req.headers().get("accept").and_then(|v| v.to_str().ok()) {
            if !accept.contains("text/event-stream") && !accept.contains("*/*") {
                return Err(RestconfError::new(
                    ErrorType::Protocol,
                    ErrorTag::InvalidValue,
                    "the event stream is text/event-stream",
                )
                .status(StatusCode::NOT_ACCEPTABLE));
            }
        }
        let params = query::split_query(req.uri().query())?;
        query::only(&params, &["start-time"], "GET")?;
        let start =
            match params.iter().find(|(k, _)| k == "start-time") {
                Some((_, v)) => Some(notify::parse_rfc3339(v).ok_or_else(|| {
                    RestconfError::bad_request(format!("start-time {v:?} is not an RFC 3339 date-time"))
                })?),
                None => None,
            };
        let last_id = match req.headers().get("last-event-id").and_then(|v| v.to_str().ok()) {
            Some(v) => {
                Some(v.trim().parse::<i64>().map_err(|_| RestconfError::bad_request("Last-Event-ID is not a number"))?)
            }
            None => None,
        };
        Ok((start, last_id))
    })();
    match result {
        Ok((start, last_id)) => {
            notify::event_stream(app.store.clone(), app.hub.clone(), principal, last_id, start, app.shutdown.clone())
                .into_response()
        }
        Err(e) => e.into_response_in(media),
    }
}

/// `ietf-yang-library` data (RFC 8525 `yang-library` and RFC 7895 `modules-state`) of the
/// server's schema.
pub fn yang_library(app: &App) -> Value {
    let mut modules = Vec::new();
    let mut imports = Vec::new();
    for m in app.schema.modules() {
        let mut e = json!({"name": m.name, "namespace": m.namespace});
        if let Some(r) = &m.revision {
            e["revision"] = json!(r);
        }
        if m.implemented {
            if !m.features.is_empty() {
                e["feature"] = json!(m.features);
            }
            modules.push(e);
        } else {
            imports.push(e);
        }
    }
    let mut h = DefaultHasher::new();
    format!("{modules:?}{imports:?}").hash(&mut h);
    let content_id = format!("{:016x}", h.finish());
    // RFC 7895 modules-state (deprecated, still mandatory in the 2019-01-04 module).
    let legacy: Vec<Value> = app
        .schema
        .modules()
        .iter()
        .map(|m| {
            json!({"name": m.name, "revision": m.revision.clone().unwrap_or_default(), "namespace": m.namespace,
                   "conformance-type": if m.implemented { "implement" } else { "import" }})
        })
        .collect();
    json!({"ietf-yang-library:modules-state": {"module-set-id": content_id, "module": legacy},
        "ietf-yang-library:yang-library": {
        "module-set": [{"name": "complete", "module": modules, "import-only-module": imports}],
        "schema": [{"name": "complete", "module-set": ["complete"]}],
        "datastore": [
            {"name": "ietf-datastores:running", "schema": "complete"},
            {"name": "ietf-datastores:operational", "schema": "complete"}
        ],
        "content-id": content_id
    }})
}

/// `ietf-restconf-monitoring` data (RFC 8040 §9).
pub async fn monitoring(app: &App) -> Value {
    let replay_since = app.store.first_notification_ms().await.ok().flatten().unwrap_or(app.started_ms);
    json!({"ietf-restconf-monitoring:restconf-state": {
        "capabilities": {"capability": [
            "urn:ietf:params:restconf:capability:depth:1.0",
            "urn:ietf:params:restconf:capability:fields:1.0",
            "urn:ietf:params:restconf:capability:replay:1.0",
            "urn:ietf:params:restconf:capability:with-defaults:1.0?basic-mode=explicit"
        ]},
        "streams": {"stream": [{
            "name": notify::STREAM_NAME,
            "description": "ieee802-dot1q-cnc-config notifications (compute/configure/remove completed)",
            "replay-support": true,
            "replay-log-creation-time": notify::rfc3339(replay_since),
            "access": [{"encoding": "json", "location": format!("/restconf/streams/{}", notify::STREAM_NAME)}]
        }]}
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_element_stripping() {
        assert_eq!(strip_xml_element("<input xmlns=\"x\"><a>1</a></input>", "input").as_deref(), Some("<a>1</a>"));
        assert_eq!(
            strip_xml_element("<?xml version=\"1.0\"?>\n<p:input xmlns:p=\"x\"/>", "input").as_deref(),
            Some("")
        );
        assert_eq!(strip_xml_element("<output/>", "input"), None);
        assert_eq!(strip_xml_element("", "input"), None);
    }
}
