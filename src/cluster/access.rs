//! What RBAC lets the current user do, asked of the API server itself
//! (SelfSubjectAccessReview): the same answer the server gives the request, with
//! impersonation, aggregated roles and webhooks taken into account.

use std::time::Duration;

use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use kube::Api;
use kube::api::PostParams;

use super::connect::describe_kube_error;

/// One thing to ask: `list deployments.apps in ns shop`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access<'a> {
    pub verb: &'a str,
    /// The API group (`""` for the core group).
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    /// `None`: in every namespace (or a cluster-scoped resource).
    pub namespace: Option<&'a str>,
}

/// How long one review may take: it is a tiny request, and a server that does not
/// answer it quickly is reported as not answering rather than waited for.
const REVIEW_TIMEOUT: Duration = Duration::from_secs(5);

/// The server's answer: allowed or not, or why it could not say (unreachable,
/// credentials rejected, the review API itself forbidden).
pub async fn review(client: &kube::Client, access: &Access<'_>) -> Result<bool, String> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                group: Some(access.group.into()),
                namespace: access.namespace.map(str::to_string),
                resource: Some(access.resource.into()),
                subresource: Some(access.subresource.into()).filter(|s: &String| !s.is_empty()),
                verb: Some(access.verb.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    match tokio::time::timeout(REVIEW_TIMEOUT, api.create(&PostParams::default(), &review)).await {
        Err(_) => Err(format!("no answer within {}s", REVIEW_TIMEOUT.as_secs())),
        Ok(Err(e)) => Err(describe_kube_error(&e)),
        Ok(Ok(done)) => Ok(done.status.is_some_and(|s| s.allowed)),
    }
}
