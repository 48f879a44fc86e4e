//! Just enough Kubernetes protobuf to read what kubectl's typed clients send: `kubectl
//! auth can-i` posts SelfSubjectAccessReview / SelfSubjectRulesReview as
//! `application/vnd.kubernetes.protobuf` (it accepts a JSON answer). The envelope is
//! `k8s\0` + `runtime.Unknown { typeMeta = 1, raw = 2, … }`; `raw` is the object.

use serde_json::{Value, json};

use crate::sim::error::ApiError;

pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

pub fn is_protobuf(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|m| m.trim() == MEDIA_TYPE)
}

enum Field<'a> {
    Varint,
    Bytes(&'a [u8]),
}

fn varint(buf: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The fields of one message, in order (unknown wire types are an error).
fn fields(buf: &[u8]) -> Option<Vec<(u64, Field<'_>)>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let tag = varint(buf, &mut at)?;
        let field = match tag & 7 {
            0 => {
                varint(buf, &mut at)?;
                Field::Varint
            }
            2 => {
                let len = usize::try_from(varint(buf, &mut at)?).ok()?;
                let bytes = buf.get(at..at.checked_add(len)?)?;
                at += len;
                Field::Bytes(bytes)
            }
            1 => {
                at += 8;
                continue;
            }
            5 => {
                at += 4;
                continue;
            }
            _ => return None,
        };
        out.push((tag >> 3, field));
    }
    Some(out)
}

fn sub(buf: &[u8], number: u64) -> Option<&[u8]> {
    fields(buf)?.into_iter().find_map(|(n, f)| match f {
        Field::Bytes(b) if n == number => Some(b),
        _ => None,
    })
}

/// String fields of a message by number, as a JSON object with the given names.
fn strings(buf: &[u8], names: &[(u64, &str)]) -> Value {
    let mut obj = serde_json::Map::new();
    for (n, f) in fields(buf).unwrap_or_default() {
        if let (Field::Bytes(b), Some((_, name))) = (f, names.iter().find(|(num, _)| *num == n)) {
            obj.insert(name.to_string(), json!(String::from_utf8_lossy(b)));
        }
    }
    Value::Object(obj)
}

fn unwrap_envelope(body: &[u8]) -> Result<&[u8], ApiError> {
    let bad = || ApiError::bad_request("the protobuf body could not be decoded");
    let inner = body.strip_prefix(b"k8s\0").ok_or_else(bad)?;
    sub(inner, 2).ok_or_else(bad)
}

/// A SelfSubjectAccessReview or SelfSubjectRulesReview (by `kind`) as JSON.
pub fn decode_review(kind: &str, body: &[u8]) -> Result<Value, ApiError> {
    let raw = unwrap_envelope(body)?;
    let spec = sub(raw, 2).unwrap_or_default();
    let spec_json = match kind {
        "SelfSubjectRulesReview" => strings(spec, &[(1, "namespace")]),
        _ => {
            let mut s = serde_json::Map::new();
            if let Some(attrs) = sub(spec, 1) {
                let names = [
                    (1, "namespace"),
                    (2, "verb"),
                    (3, "group"),
                    (4, "version"),
                    (5, "resource"),
                    (6, "subresource"),
                    (7, "name"),
                ];
                s.insert("resourceAttributes".into(), strings(attrs, &names));
            }
            if let Some(attrs) = sub(spec, 2) {
                s.insert("nonResourceAttributes".into(), strings(attrs, &[(1, "path"), (2, "verb")]));
            }
            Value::Object(s)
        }
    };
    if fields(raw).is_none() {
        return Err(ApiError::bad_request("the protobuf body could not be decoded"));
    }
    Ok(json!({"apiVersion": "authorization.k8s.io/v1", "kind": kind, "metadata": {}, "spec": spec_json}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_field(n: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![((n << 3) | 2) as u8, payload.len() as u8];
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn decodes_an_access_review_like_kubectl_sends() {
        let mut attrs = bytes_field(1, b"prod");
        attrs.extend(bytes_field(2, b"delete"));
        attrs.extend(bytes_field(5, b"pods"));
        let spec = bytes_field(1, &attrs);
        let mut raw = bytes_field(1, b"");
        raw.extend(bytes_field(2, &spec));
        let mut body = b"k8s\0".to_vec();
        body.extend(bytes_field(1, &bytes_field(2, b"SelfSubjectAccessReview")));
        body.extend(bytes_field(2, &raw));
        let review = decode_review("SelfSubjectAccessReview", &body).unwrap();
        assert_eq!(
            review["spec"]["resourceAttributes"],
            json!({"namespace": "prod", "verb": "delete", "resource": "pods"})
        );
    }

    #[test]
    fn garbage_is_a_bad_request() {
        assert_eq!(decode_review("SelfSubjectRulesReview", b"nope").unwrap_err().code, 400);
    }
}
