//! The API server's request handling: one function from an HTTP request to a response.
//!
//! Order for every API request (anything outside `/sim/`): route (pure) → count in
//! metrics → injected faults (latency, hang, failure) → authenticate (+ impersonation)
//! → authorize (scenario RBAC + `forbid` faults) → serve. `/sim/` admin requests skip
//! all of that (see [`admin`]).

pub mod admin;
pub mod discovery;
pub mod eviction;
pub mod managed;
pub mod patch;
pub mod podlogs;
pub mod protobuf;
pub mod route;
pub mod selectors;
pub mod subresources;
pub mod tables;
pub mod validate;
pub mod verbs;
pub mod watch;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use serde_json::Value;

use super::auth::{self, Attributes, Auth, Identity};
use super::error::ApiError;
use super::faults::Faults;
use super::logs::LogStore;
use super::metrics::Metrics;
use super::store::Store;
use route::{Route, Target, Verb};

/// Response bodies: whole JSON documents, or chunked streams (watches, log follows).
pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// Largest request body accepted (the real API server allows 3 MiB objects).
const MAX_BODY: usize = 3 * 1024 * 1024;

/// Everything a request handler may touch.
pub struct ApiState {
    pub store: Arc<Store>,
    pub logs: Arc<LogStore>,
    pub faults: Arc<Faults>,
    pub metrics: Metrics,
    pub auth: Auth,
    /// How often a watch that allows bookmarks gets one.
    pub bookmark_interval: Duration,
    /// The address clients reach us at (for `/api`'s serverAddressByClientCIDRs).
    pub addr: SocketAddr,
    /// The churn source's rate (`/sim/churn`).
    pub churn: Arc<crate::sim::churn::ChurnRate>,
}

/// A request with its body read and its query decoded.
pub struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl ApiRequest {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.param(key), Some("true" | "1"))
    }

    /// `dryRun=All` (the only value the API defines).
    pub fn dry_run(&self) -> bool {
        self.query.iter().any(|(k, v)| k == "dryRun" && v == "All")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub fn json_body(&self) -> Result<Value, ApiError> {
        if self.body.is_empty() {
            return Err(ApiError::bad_request("the request body is empty"));
        }
        let content_type = self.header("content-type");
        if protobuf::is_protobuf(content_type) {
            return Err(ApiError::unsupported_media_type(content_type));
        }
        if content_type.contains("yaml") {
            let text = std::str::from_utf8(&self.body).map_err(|_| ApiError::bad_request("the body is not UTF-8"))?;
            return serde_saphyr::from_str(text)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}")))
    }
}

pub fn decode_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 3 <= bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn full_body(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never: Infallible| match never {}).boxed_unsync()
}

/// A chunked body fed by a channel; the sender sees the channel close when the client
/// goes away.
pub fn stream_body(rx: tokio::sync::mpsc::Receiver<Bytes>) -> Body {
    let chunks = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (Ok(hyper::body::Frame::data(chunk)), rx))
    });
    http_body_util::StreamBody::new(chunks).boxed_unsync()
}

pub fn json_response(status: u16, value: &Value) -> Response<Body> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut resp = Response::new(full_body(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

pub fn error_response(err: &ApiError) -> Response<Body> {
    let mut resp = json_response(err.code, &err.to_status());
    if let Some(secs) = err.retry_after {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

fn text_response(status: u16, text: &'static str) -> Response<Body> {
    let mut resp = Response::new(full_body(text));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    resp
}

/// The form a read answers in, from the Accept header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Plain,
    Table(tables::IncludeObject),
    Metadata,
}

impl Output {
    /// How `/sim/metrics` names the form (`by_form`).
    pub fn form(self) -> &'static str {
        match self {
            Output::Plain => "object",
            Output::Table(_) => "table",
            Output::Metadata => "metadata",
        }
    }
}

pub fn negotiate(req: &ApiRequest) -> Output {
    for media in req.header("accept").split(',') {
        let params: Vec<&str> = media.split(';').map(str::trim).collect();
        let is = |p: &str| params.contains(&p);
        if !is("g=meta.k8s.io") {
            continue;
        }
        if is("as=Table") {
            return Output::Table(tables::IncludeObject::parse(req.param("includeObject")));
        }
        if is("as=PartialObjectMetadata") || is("as=PartialObjectMetadataList") {
            return Output::Metadata;
        }
    }
    Output::Plain
}

/// Entry point from the HTTP server.
pub async fn handle(state: Arc<ApiState>, req: http::Request<hyper::body::Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return error_response(&ApiError::bad_request("the request body is too large or was cut off")),
    };
    let req = ApiRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: decode_query(parts.uri.query().unwrap_or("")),
        headers: parts.headers,
        body,
    };
    if req.path == "/sim" || req.path.starts_with("/sim/") {
        return admin::handle(&state, &req);
    }
    match serve(&state, &req).await {
        Ok(resp) => resp,
        Err(err) => error_response(&err),
    }
}

async fn serve(state: &Arc<ApiState>, req: &ApiRequest) -> Result<Response<Body>, ApiError> {
    let route = route::route(&req.path, &state.store);
    let resource_verb = match &route {
        Route::Resource(target) => {
            let verb = route::verb(&req.method, target, req.flag("watch"));
            state.metrics.record(verb.map_or("unknown", Verb::as_str), &target.resource_path());
            if let Some(read @ (Verb::Get | Verb::List | Verb::Watch)) = verb {
                state.metrics.record_form(read.as_str(), &target.resource_path(), negotiate(req).form());
            }
            Some(verb)
        }
        _ => {
            state.metrics.record("get", "discovery");
            None
        }
    };
    state.faults.before_request().await?;
    let identity = state.auth.authenticate(&req.headers)?;
    let Route::Resource(target) = route else {
        if req.method != Method::GET {
            return Err(ApiError::method_not_allowed(format!("the server does not allow this method on {}", req.path)));
        }
        return serve_discovery(state, &route, &req.path);
    };
    let Some(verb) = resource_verb.flatten() else {
        return Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({} {})",
            req.method, req.path
        )));
    };
    authorize(state, &identity, &target, verb)?;
    if target.subresource.is_none() && !target.rt.supports(verb.as_str()) {
        return Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({})",
            target.rt.plural
        )));
    }
    dispatch(state, req, &target, verb, &identity).await
}

fn serve_discovery(state: &ApiState, route: &Route, path: &str) -> Result<Response<Body>, ApiError> {
    let types = state.store.served();
    let doc = match route {
        Route::Version => Some(discovery::version()),
        Route::Health => return Ok(text_response(200, "ok")),
        Route::CoreVersions => Some(discovery::core_versions(&state.addr.to_string())),
        Route::Groups => Some(discovery::groups(&types)),
        Route::Group(g) => discovery::group(&types, g),
        Route::Resources { group, version } => discovery::resources(&types, group, version),
        Route::OpenApiV3Root => Some(discovery::openapi_root(&types)),
        Route::OpenApiV3 { group, version } => discovery::openapi_group_version(&types, group, version),
        Route::Resource(_) | Route::NotFound => None,
    };
    doc.map(|d| json_response(200, &d)).ok_or_else(|| ApiError::path_not_found(path))
}

/// The one authorization check, shared with SelfSubjectAccessReview.
pub fn allowed(state: &ApiState, who: &Identity, what: &Attributes) -> bool {
    state.auth.allows(who, what) && !state.faults.forbids(&who.name, what.verb, what.resource, what.subresource)
}

fn authorize(state: &ApiState, who: &Identity, target: &Target, verb: Verb) -> Result<(), ApiError> {
    // As in Kubernetes (system:basic-user), anyone authenticated may ask what they may do.
    if target.rt.group == "authorization.k8s.io" && target.rt.plural.starts_with("selfsubject") && verb == Verb::Create
    {
        return Ok(());
    }
    let what = Attributes {
        verb: verb.as_str(),
        resource: target.rt.plural,
        subresource: target.subresource.as_deref(),
        namespace: target.namespace_or_empty(),
    };
    if allowed(state, who, &what) {
        Ok(())
    } else {
        Err(auth::forbidden(who, &what, target.rt, target.name.as_deref()))
    }
}

async fn dispatch(
    state: &Arc<ApiState>,
    req: &ApiRequest,
    target: &Target,
    verb: Verb,
    who: &Identity,
) -> Result<Response<Body>, ApiError> {
    match (target.subresource.as_deref(), verb) {
        (None, Verb::Create) if target.rt.is("authorization.k8s.io", "selfsubjectaccessreviews") => {
            subresources::access_review(state, req, who)
        }
        (None, Verb::Create) if target.rt.is("authorization.k8s.io", "selfsubjectrulesreviews") => {
            subresources::rules_review(state, req, who)
        }
        (None, Verb::Get) => verbs::get(state, req, target),
        (None, Verb::List) => verbs::list(state, req, target),
        (None, Verb::Watch) => watch::watch(state, req, target),
        (None, Verb::Create) => verbs::create(state, req, target),
        (None, Verb::Update) => verbs::update(state, req, target),
        (None, Verb::Patch) => verbs::patch(state, req, target),
        (None, Verb::Delete) => verbs::delete(state, req, target),
        (None, Verb::DeleteCollection) => verbs::delete_collection(state, req, target),
        (Some("log"), Verb::Get) => podlogs::logs(state, req, target),
        (Some("eviction"), Verb::Create) => eviction::evict(state, req, target),
        (Some("scale"), Verb::Get | Verb::Update | Verb::Patch) => subresources::scale(state, req, target, verb),
        (Some("status"), Verb::Get | Verb::Update | Verb::Patch) => subresources::status(state, req, target, verb),
        _ => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({})",
            target.resource_path()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode() {
        let q = decode_query("labelSelector=app%3Dapi%2Ctier+in+(a%2Cb)&watch=1&empty=&bad=%zz");
        assert_eq!(q[0], ("labelSelector".to_string(), "app=api,tier in (a,b)".to_string()));
        assert_eq!(q[1], ("watch".to_string(), "1".to_string()));
        assert_eq!(q[2], ("empty".to_string(), String::new()));
        assert_eq!(q[3].1, "%zz");
    }
}
