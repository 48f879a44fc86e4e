//! Lists and watch lines decoded once, straight into the kind.
//!
//! kube's `Api::list` and `Api::watch` over a `DeserializeGuard<K>` (what keeps one
//! malformed object from killing a watch) decode every object into a generic value tree,
//! clone it, and decode it again: under churn that was most of the cost of an event. Here
//! a watch line is read as `{type, object}` with the object kept as raw JSON (in either
//! order of the two fields), then decoded once; only an object that does not decode is
//! read again, for its metadata (its resourceVersion moves the watch on all the same).
//! The requests, the end-of-stream handling and the errors are kube's.

use std::borrow::Cow;

use futures::stream::BoxStream;
use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ListMeta, ObjectMeta};
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::core::error_boundary::InvalidObject;
use kube::core::{DeserializeGuard, Request, Status};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// One page of a list: its objects (checked one by one, see [`DeserializeGuard`]) and its
/// list metadata (resourceVersion, continue token).
pub(super) type Page<K> = (Vec<DeserializeGuard<K>>, ListMeta);
/// The events of one open watch, bookmarks included.
pub(super) type EventStream<K> = BoxStream<'static, kube::Result<WatchEvent<DeserializeGuard<K>>>>;

/// One line of a watch: what happened, and the object as the server wrote it.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    object: &'a RawValue,
}

/// One page of a list, its items left as the server wrote them.
#[derive(Deserialize)]
struct RawList<'a> {
    #[serde(default)]
    metadata: ListMeta,
    #[serde(borrow, default)]
    items: Option<Vec<&'a RawValue>>,
}

/// What is read of an object that does not decode as its kind.
#[derive(Deserialize)]
struct MetadataOnly {
    #[serde(default)]
    metadata: ObjectMeta,
}

/// An object decoded as `K`, or, when it is not one, the error and whatever metadata it
/// carries.
pub fn guarded<K: DeserializeOwned>(raw: &str) -> DeserializeGuard<K> {
    match serde_json::from_str::<K>(raw) {
        Ok(obj) => DeserializeGuard(Ok(obj)),
        Err(error) => {
            let metadata = serde_json::from_str::<MetadataOnly>(raw).map(|m| m.metadata).unwrap_or_default();
            DeserializeGuard(Err(InvalidObject { error: error.to_string(), metadata }))
        }
    }
}

/// One watch line as an event; `None` for a line cut short by the stream's end (kube
/// ignores those too).
pub fn event_of<K: DeserializeOwned>(text: &str) -> Option<kube::Result<WatchEvent<DeserializeGuard<K>>>> {
    let line: Line = match serde_json::from_str(text) {
        Ok(line) => line,
        Err(error) if error.is_eof() => return None,
        Err(error) => {
            return Some(Err(match serde_json::from_str::<Status>(text) {
                Ok(status) => kube::Error::Api(status.boxed()),
                Err(_) => kube::Error::SerdeError(error),
            }));
        }
    };
    let object = line.object.get();
    let event = match &*line.kind {
        "ADDED" => WatchEvent::Added(guarded(object)),
        "MODIFIED" => WatchEvent::Modified(guarded(object)),
        "DELETED" => WatchEvent::Deleted(guarded(object)),
        "BOOKMARK" => match serde_json::from_str(object) {
            Ok(bookmark) => WatchEvent::Bookmark(bookmark),
            Err(error) => return Some(Err(kube::Error::SerdeError(error))),
        },
        "ERROR" => match serde_json::from_str::<Status>(object) {
            Ok(status) => WatchEvent::Error(status.boxed()),
            Err(error) => return Some(Err(kube::Error::SerdeError(error))),
        },
        other => {
            let error = <serde_json::Error as serde::de::Error>::unknown_variant(
                other,
                &["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"],
            );
            return Some(Err(kube::Error::SerdeError(error)));
        }
    };
    Some(Ok(event))
}

/// One page of a list, each item decoded on its own.
pub fn page_of<K: DeserializeOwned>(text: &str) -> kube::Result<Page<K>> {
    let list: RawList = serde_json::from_str(text).map_err(kube::Error::SerdeError)?;
    let items = list.items.unwrap_or_default().into_iter().map(|raw| guarded(raw.get())).collect();
    Ok((items, list.metadata))
}

/// Lists one page of `api`'s kind, as `Api::list` asks for it.
pub async fn list<K>(api: &Api<DeserializeGuard<K>>, params: &ListParams) -> kube::Result<Page<K>>
where
    K: kube::Resource + DeserializeOwned + Clone,
{
    let mut request = Request::new(api.resource_url()).list(params).map_err(kube::Error::BuildRequest)?;
    request.extensions_mut().insert("list");
    let text = api.clone().into_client().request_text(request).await?;
    page_of(&text)
}

/// Opens a watch of `api`'s kind from `version`, as `Api::watch` does.
pub async fn watch<K>(
    api: &Api<DeserializeGuard<K>>,
    params: &WatchParams,
    version: &str,
) -> kube::Result<EventStream<K>>
where
    K: kube::Resource + DeserializeOwned + Clone + Send + 'static,
{
    let mut request = Request::new(api.resource_url()).watch(params, version).map_err(kube::Error::BuildRequest)?;
    request.extensions_mut().insert("watch");
    // As kube does: a server that gzips a watch per event would not be decoded.
    request.headers_mut().entry(http::header::ACCEPT_ENCODING).or_insert(http::HeaderValue::from_static("identity"));
    let body = api.clone().into_client().request_stream(request).await?;
    let events = body.lines().take_while(|line| std::future::ready(!ended(line))).filter_map(|line| {
        std::future::ready(match line {
            Ok(text) => event_of::<K>(&text),
            Err(error) => Some(Err(kube::Error::ReadEvents(error))),
        })
    });
    Ok(events.into_stream().boxed())
}

/// A read that ends the watch as the server ending it would: a connection closed mid-chunk
/// after a long watch, or the client's own timeout. The loop watches again from the last
/// version heard (kube's watch stream ends on these too).
fn ended(line: &std::io::Result<String>) -> bool {
    let Err(error) = line else { return false };
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = next {
        let io = e.downcast_ref::<std::io::Error>();
        if io.is_some_and(|io| matches!(io.kind(), std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::TimedOut))
            || e.to_string().contains("unexpected EOF")
        {
            return true;
        }
        // An io::Error wrapping another error hands on the wrapped one's source, not it.
        next = io.and_then(|io| io.get_ref()).map(|inner| inner as &(dyn std::error::Error + 'static)).or(e.source());
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;

    fn pod_line(first: &str) -> String {
        let object = r#"{"metadata":{"name":"api-1","namespace":"shop","resourceVersion":"42"},"spec":{"containers":[{"name":"api"}]}}"#;
        match first {
            "type" => format!(r#"{{"type":"MODIFIED","object":{object}}}"#),
            _ => format!(r#"{{"object":{object},"type":"MODIFIED"}}"#),
        }
    }

    #[test]
    fn a_watch_line_decodes_whichever_field_comes_first() {
        for first in ["type", "object"] {
            let Some(Ok(WatchEvent::Modified(DeserializeGuard(Ok(pod))))) = event_of::<Pod>(&pod_line(first)) else {
                panic!("{first} first: not a decoded modification");
            };
            assert_eq!(pod.metadata.name.as_deref(), Some("api-1"));
            assert_eq!(pod.metadata.resource_version.as_deref(), Some("42"));
        }
    }

    #[test]
    fn a_malformed_object_keeps_its_metadata_and_the_watch_goes_on() {
        let line = r#"{"type":"ADDED","object":{"metadata":{"name":"bad","resourceVersion":"7"},"spec":{"containers":"not a list"}}}"#;
        let Some(Ok(WatchEvent::Added(DeserializeGuard(Err(invalid))))) = event_of::<Pod>(line) else {
            panic!("a malformed pod must be an event carrying the error");
        };
        assert_eq!(invalid.metadata.resource_version.as_deref(), Some("7"));
        assert!(invalid.error.contains("containers") || invalid.error.contains("sequence"), "{}", invalid.error);
    }

    #[test]
    fn bookmarks_errors_and_cut_lines() {
        let bookmark =
            r#"{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"99"}}}"#;
        let Some(Ok(WatchEvent::Bookmark(b))) = event_of::<Pod>(bookmark) else { panic!("a bookmark") };
        assert_eq!(b.metadata.resource_version, "99");
        let gone = r#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version","reason":"Expired","code":410}}"#;
        let Some(Ok(WatchEvent::Error(status))) = event_of::<Pod>(gone) else { panic!("an error event") };
        assert_eq!(status.code, 410);
        assert!(event_of::<Pod>(r#"{"type":"ADDED","object":{"metadata":"#).is_none(), "a line cut by the end");
        assert!(matches!(event_of::<Pod>(r#"{"type":"SHRUG","object":{}}"#), Some(Err(_))));
    }

    #[test]
    fn a_list_page_decodes_item_by_item() {
        let page = r#"{"kind":"PodList","metadata":{"resourceVersion":"120","continue":"next"},"items":[
            {"metadata":{"name":"a","resourceVersion":"1"}},
            {"metadata":{"name":"b","resourceVersion":"2"},"spec":{"containers":5}}]}"#;
        let (items, meta) = page_of::<Pod>(page).unwrap();
        assert_eq!(meta.resource_version.as_deref(), Some("120"));
        assert_eq!(meta.continue_.as_deref(), Some("next"));
        assert!(items[0].0.is_ok() && items[1].0.is_err(), "one bad item does not lose the page");
        let (none, _) = page_of::<Pod>(r#"{"metadata":{"resourceVersion":"5"},"items":null}"#).unwrap();
        assert!(none.is_empty());
    }
}
