//! The `webhook` action: method, templated URL, headers and JSON body, timeout, retries, the
//! `result:` mapping into variables and the `on_failure` route. Bad options are errors at the
//! option's `line:column`. `{{secret.NAME}}` is accepted in the URL and header values only (the
//! shell fills it in from its environment; the machine and logs never see the value).

use saphyr::{Scalar, YamlData};

use super::template;
use super::yaml::{Ctx, Y, boolean, get, integer, map, pos, scalar_text, string};
use crate::ast::{HttpMethod, JsonTemplate, NodeKind, Pos, Webhook, WebhookResultMap};
use crate::template::{Part, Template};

const KEYS: &[&str] =
    &["url", "method", "headers", "body", "timeout_ms", "retries", "retry_post", "result", "on_failure"];

/// Default per-attempt timeout.
pub const DEFAULT_TIMEOUT_MS: u64 = 3000;
/// Bounds of `timeout_ms`.
pub const TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 100..=30_000;
/// Most retries a webhook may ask for.
pub const MAX_RETRIES: u32 = 5;

/// The prefix of shell-filled secrets in templates.
pub const SECRET_PREFIX: &str = "secret.";

/// True for a valid secret name: `A-Z`, `0-9`, `_`.
pub fn secret_name_ok(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

pub(super) fn action(cx: &mut Ctx, kpos: Pos, v: &Y<'_>) -> Option<NodeKind> {
    let e = map(cx, v, "webhook", KEYS)?;
    let url = super::required(cx, &e, kpos, "url", "webhook").and_then(|y| template(cx, y, "url"));
    if let Some(u) = &url {
        secrets_ok(cx, u, true);
        let lit = u.parts.first().and_then(|p| match p {
            Part::Text(t) => Some(t.as_str()),
            Part::Var { .. } => None,
        });
        if let Some(l) = lit
            && !l.starts_with("http://")
            && !l.starts_with("https://")
        {
            cx.err(
                u.pos,
                "invalid",
                "webhook `url` must start with http:// or https://",
                "e.g. http://crm.internal/patients/{{caller_number}}",
            );
        }
    }
    let method = match get(&e, "method").and_then(|y| string(cx, y, "method")) {
        None => HttpMethod::Post,
        Some(m) => match m.value.to_ascii_uppercase().as_str() {
            "GET" => HttpMethod::Get,
            "POST" => HttpMethod::Post,
            other => {
                cx.err(
                    m.pos,
                    "invalid",
                    format!("webhook method `{other}` is not supported"),
                    "use GET or POST",
                );
                HttpMethod::Post
            }
        },
    };
    let mut headers = Vec::new();
    if let Some(h) = get(&e, "headers") {
        for (name, hpos, hv) in super::yaml::open_map(cx, h, "headers") {
            let valid = !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b));
            if !valid {
                cx.err(
                    hpos,
                    "invalid",
                    format!("`{name}` is not a valid HTTP header name"),
                    "letters, digits and `-`",
                );
                continue;
            }
            if let Some(t) = template(cx, hv, "header value") {
                secrets_ok(cx, &t, true);
                headers.push((name, t));
            }
        }
    }
    let body = get(&e, "body").and_then(|y| json_template(cx, y));
    if body.is_some() && method == HttpMethod::Get {
        cx.err(
            pos_of(&e, "body"),
            "invalid",
            "a GET webhook has no body",
            "use `method: POST`, or put values in the URL",
        );
    }
    let timeout_ms = match get(&e, "timeout_ms").and_then(|y| integer(cx, y, "timeout_ms")) {
        None => DEFAULT_TIMEOUT_MS,
        Some(n) => match u64::try_from(n).ok().filter(|n| TIMEOUT_RANGE.contains(n)) {
            Some(n) => n,
            None => {
                cx.err(
                    pos_of(&e, "timeout_ms"),
                    "invalid",
                    format!(
                        "timeout_ms must be between {} and {}",
                        TIMEOUT_RANGE.start(),
                        TIMEOUT_RANGE.end()
                    ),
                    "a caller is waiting: keep it short, e.g. 3000",
                );
                DEFAULT_TIMEOUT_MS
            }
        },
    };
    let retry_post = get(&e, "retry_post").and_then(|y| boolean(cx, y, "retry_post")).unwrap_or(false);
    let idempotent = method == HttpMethod::Get || retry_post;
    let retries = match get(&e, "retries").and_then(|y| integer(cx, y, "retries")) {
        None => u32::from(idempotent),
        Some(n) => match u32::try_from(n).ok().filter(|n| *n <= MAX_RETRIES) {
            Some(n) if n > 0 && !idempotent => {
                cx.err(
                    pos_of(&e, "retries"),
                    "invalid",
                    "a POST is retried only with `retry_post: true`",
                    "a retried POST may run twice on the business's system; say `retry_post: true` if it is safe",
                );
                n
            }
            Some(n) => n,
            None => {
                cx.err(
                    pos_of(&e, "retries"),
                    "invalid",
                    format!("retries must be between 0 and {MAX_RETRIES}"),
                    "e.g. 1",
                );
                0
            }
        },
    };
    let result = match get(&e, "result") {
        None => WebhookResultMap::None,
        Some(y) if matches!(y.data, YamlData::Mapping(_)) => {
            let mut out = Vec::new();
            for (var, vpos, path) in super::yaml::open_map(cx, y, "result") {
                if !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || var.is_empty() {
                    cx.err(
                        vpos,
                        "invalid",
                        format!("`{var}` is not a variable name"),
                        "letters, digits and `_`",
                    );
                    continue;
                }
                let Some(p) = string(cx, path, "a result path") else { continue };
                if p.value.trim().is_empty() {
                    cx.err(
                        p.pos,
                        "invalid",
                        "empty result path",
                        "e.g. `patient.balance` or `/patient/balance`",
                    );
                    continue;
                }
                out.push((var, p.value, p.pos));
            }
            WebhookResultMap::Map(out)
        }
        Some(y) => match string(cx, y, "result") {
            Some(s) => WebhookResultMap::Whole(s.value),
            None => WebhookResultMap::None,
        },
    };
    let on_failure = get(&e, "on_failure").and_then(|y| string(cx, y, "on_failure"));
    Some(NodeKind::Webhook(Webhook {
        url: url?,
        method,
        headers,
        body,
        timeout_ms,
        retries,
        result,
        on_failure,
    }))
}

fn pos_of(e: &super::yaml::Entries<'_, '_>, key: &str) -> Pos {
    e.iter().find(|(k, _, _)| k == key).map(|(_, p, _)| *p).unwrap_or_default()
}

/// Checks `{{secret.NAME}}` holes: allowed only where `allowed`, names in `A-Z0-9_`.
fn secrets_ok(cx: &mut Ctx, t: &Template, allowed: bool) {
    for p in &t.parts {
        let Part::Var { name, filter } = p else { continue };
        let Some(s) = name.strip_prefix(SECRET_PREFIX) else { continue };
        if !allowed {
            cx.err(
                t.pos,
                "invalid",
                "`{{secret.*}}` is allowed only in a webhook's `url` and `headers`",
                "send secrets in a header, e.g. `Authorization: Bearer {{secret.CRM_TOKEN}}`",
            );
        } else if !secret_name_ok(s) {
            cx.err(
                t.pos,
                "invalid",
                format!("`{name}`: secret names are upper case letters, digits and `_`"),
                "e.g. {{secret.CRM_TOKEN}} (read from FRONTDESK_SECRET_CRM_TOKEN)",
            );
        } else if filter.is_some() {
            cx.err(t.pos, "invalid", format!("`{name}` takes no filter"), "");
        }
    }
}

/// A YAML value as a JSON template (strings are templates).
fn json_template(cx: &mut Ctx, y: &Y<'_>) -> Option<JsonTemplate> {
    Some(match &y.data {
        YamlData::Value(Scalar::Null) => JsonTemplate::Null,
        YamlData::Value(Scalar::Boolean(b)) => JsonTemplate::Bool(*b),
        YamlData::Value(Scalar::Integer(i)) => JsonTemplate::Int(*i),
        YamlData::Value(Scalar::FloatingPoint(f)) => JsonTemplate::Float(f.into_inner()),
        YamlData::Sequence(items) => {
            JsonTemplate::Array(items.iter().filter_map(|i| json_template(cx, i)).collect())
        }
        YamlData::Mapping(_) => {
            let mut out = Vec::new();
            for (k, _, v) in super::yaml::open_map(cx, y, "body") {
                if let Some(t) = json_template(cx, v) {
                    out.push((k, t));
                }
            }
            JsonTemplate::Object(out)
        }
        _ => {
            let t = template(cx, y, "a body value")?;
            secrets_ok(cx, &t, false);
            if scalar_text(y).is_none() {
                cx.err(pos(y), "invalid", "a body value must be plain JSON", "");
            }
            JsonTemplate::Str(t)
        }
    })
}
