//! The route table and path matching (method + path segments, no framework).
//!
//! [`ROUTES`] is the router: a request's path is matched segment by segment against each
//! template (`{name}` captures one percent-decoded segment); a path that matches with another
//! method is 405 with `Allow`, no match is 404. The OpenAPI test checks this table against
//! `openapi.json` both ways.

use crate::ApiError;

/// What a route does (the handler to call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    OpenApi,
    Metrics,
    Readyz,
    FlowsList,
    FlowValidate,
    FlowGet,
    FlowDraftPut,
    FlowVersions,
    FlowVersionGet,
    FlowPublish,
    FlowRollback,
    CallsList,
    CallOriginate,
    CallGet,
    CallTranscript,
    CallSay,
    CallTransfer,
    CallHangup,
    ResourcesList,
    ResourceCreate,
    ResourceGet,
    ResourcePut,
    AppointmentTypesList,
    AppointmentTypeCreate,
    AppointmentTypeGet,
    AppointmentTypePut,
    Availability,
    AppointmentsList,
    AppointmentCreate,
    AppointmentGet,
    AppointmentPatch,
    AppointmentCancel,
    WebhooksList,
    WebhookCreate,
    WebhookGet,
    WebhookDelete,
    WebhookDeliveries,
}

/// A route: method, OpenAPI path template, whether it needs an API key, and its handler.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route {
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
    pub(crate) auth: bool,
    pub(crate) op: Op,
}

const fn r(method: &'static str, path: &'static str, auth: bool, op: Op) -> Route {
    Route { method, path, auth, op }
}

/// Every route the API serves.
pub(crate) const ROUTES: &[Route] = &[
    r("GET", "/openapi.json", false, Op::OpenApi),
    r("GET", "/metrics", false, Op::Metrics),
    r("GET", "/readyz", false, Op::Readyz),
    r("GET", "/v1/flows", true, Op::FlowsList),
    r("POST", "/v1/validate", true, Op::FlowValidate),
    r("GET", "/v1/flows/{name}", true, Op::FlowGet),
    r("PUT", "/v1/flows/{name}/draft", true, Op::FlowDraftPut),
    r("GET", "/v1/flows/{name}/versions", true, Op::FlowVersions),
    r("GET", "/v1/flows/{name}/versions/{version}", true, Op::FlowVersionGet),
    r("POST", "/v1/flows/{name}/versions/{version}/publish", true, Op::FlowPublish),
    r("POST", "/v1/flows/{name}/rollback", true, Op::FlowRollback),
    r("GET", "/v1/calls", true, Op::CallsList),
    r("POST", "/v1/calls", true, Op::CallOriginate),
    r("GET", "/v1/calls/{id}", true, Op::CallGet),
    r("GET", "/v1/calls/{id}/transcript", true, Op::CallTranscript),
    r("POST", "/v1/calls/{id}/say", true, Op::CallSay),
    r("POST", "/v1/calls/{id}/transfer", true, Op::CallTransfer),
    r("POST", "/v1/calls/{id}/hangup", true, Op::CallHangup),
    r("GET", "/v1/webhooks", true, Op::WebhooksList),
    r("POST", "/v1/webhooks", true, Op::WebhookCreate),
    r("GET", "/v1/webhooks/{id}", true, Op::WebhookGet),
    r("DELETE", "/v1/webhooks/{id}", true, Op::WebhookDelete),
    r("GET", "/v1/webhooks/{id}/deliveries", true, Op::WebhookDeliveries),
    r("GET", "/v1/resources", true, Op::ResourcesList),
    r("POST", "/v1/resources", true, Op::ResourceCreate),
    r("GET", "/v1/resources/{id}", true, Op::ResourceGet),
    r("PUT", "/v1/resources/{id}", true, Op::ResourcePut),
    r("GET", "/v1/appointment-types", true, Op::AppointmentTypesList),
    r("POST", "/v1/appointment-types", true, Op::AppointmentTypeCreate),
    r("GET", "/v1/appointment-types/{id}", true, Op::AppointmentTypeGet),
    r("PUT", "/v1/appointment-types/{id}", true, Op::AppointmentTypePut),
    r("GET", "/v1/availability", true, Op::Availability),
    r("GET", "/v1/appointments", true, Op::AppointmentsList),
    r("POST", "/v1/appointments", true, Op::AppointmentCreate),
    r("GET", "/v1/appointments/{id}", true, Op::AppointmentGet),
    r("PATCH", "/v1/appointments/{id}", true, Op::AppointmentPatch),
    r("POST", "/v1/appointments/{id}/cancel", true, Op::AppointmentCancel),
];

/// A matched route with its path parameters (decoded), in template order.
#[derive(Debug)]
pub(crate) struct Matched {
    pub(crate) route: Route,
    pub(crate) params: Vec<String>,
}

impl Matched {
    /// The `i`th path parameter.
    pub(crate) fn param(&self, i: usize) -> &str {
        self.params.get(i).map_or("", String::as_str)
    }
}

/// Whether a path belongs to the API (so the HTTP server hands it over).
pub fn is_api_path(path: &str) -> bool {
    path == "/v1"
        || path.starts_with("/v1/")
        || ROUTES.iter().any(|r| !r.path.contains('{') && r.path == path)
}

/// Matches a request against [`ROUTES`].
pub(crate) fn resolve(method: &str, path: &str) -> Result<Matched, ApiError> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut allow: Vec<&str> = Vec::new();
    for route in ROUTES {
        let Some(params) = match_template(route.path, &segs)? else { continue };
        if route.method == method {
            return Ok(Matched { route: *route, params });
        }
        allow.push(route.method);
    }
    if allow.is_empty() {
        Err(ApiError::NotFound(format!("no route {method} {path}")))
    } else {
        Err(ApiError::MethodNotAllowed { method: method.into(), path: path.into(), allow: allow.join(", ") })
    }
}

fn match_template(template: &str, segs: &[&str]) -> Result<Option<Vec<String>>, ApiError> {
    let tsegs: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    if tsegs.len() != segs.len() {
        return Ok(None);
    }
    let mut params = Vec::new();
    for (t, s) in tsegs.iter().zip(segs) {
        if t.starts_with('{') {
            if s.is_empty() {
                return Ok(None);
            }
            params.push(percent_decode(s).ok_or_else(|| {
                ApiError::bad("bad_path", format!("path segment {s:?} is not valid percent-encoded UTF-8"))
            })?);
        } else if t != s {
            return Ok(None);
        }
    }
    Ok(Some(params))
}

/// Decodes `%XX` escapes (and `+` as a space when `plus` is set, for query strings).
pub(crate) fn percent_decode_with(s: &str, plus: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn percent_decode(s: &str) -> Option<String> {
    percent_decode_with(s, false)
}

/// Query parameters, decoded, in order.
pub(crate) fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let Some(q) = query else { return Ok(Vec::new()) };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            match (percent_decode_with(k, true), percent_decode_with(v, true)) {
                (Some(k), Some(v)) => Ok((k, v)),
                _ => Err(ApiError::bad(
                    "bad_query",
                    format!("query parameter {p:?} is not valid percent-encoded UTF-8"),
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_templates_methods_and_decodes() {
        let m = resolve("GET", "/v1/calls/a%40b").unwrap();
        assert_eq!(m.route.op, Op::CallGet);
        assert_eq!(m.param(0), "a@b");
        assert!(matches!(resolve("DELETE", "/v1/calls"), Err(ApiError::MethodNotAllowed { .. })));
        assert!(matches!(resolve("GET", "/v1/nothing"), Err(ApiError::NotFound(_))));
        assert!(matches!(resolve("GET", "/v1/calls/%zz"), Err(ApiError::BadRequest { .. })));
        assert_eq!(resolve("POST", "/v1/validate").unwrap().route.op, Op::FlowValidate);
        assert_eq!(resolve("GET", "/v1/flows/validate").unwrap().route.op, Op::FlowGet);
        assert_eq!(
            query_pairs(Some("a=1+2&b=%C3%A9&c")).unwrap(),
            [("a".into(), "1 2".into()), ("b".into(), "é".into()), ("c".into(), String::new())]
        );
    }
}

#[cfg(test)]
mod openapi_tests {
    use super::ROUTES;

    /// Every route is in openapi.json and every documented operation is routed.
    #[test]
    fn routes_and_openapi_agree() {
        let doc: serde_json::Value = serde_json::from_str(crate::OPENAPI_JSON).unwrap();
        let mut documented = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let public = op.get("security").is_some_and(|s| s.as_array().is_some_and(Vec::is_empty));
                documented.push((method.to_ascii_uppercase(), path.clone(), !public));
            }
        }
        let mut routed: Vec<_> =
            ROUTES.iter().map(|r| (r.method.to_string(), r.path.to_string(), r.auth)).collect();
        documented.sort();
        routed.sort();
        assert_eq!(
            routed, documented,
            "router.rs ROUTES and openapi.json differ (method, path, needs a key)"
        );
    }
}
