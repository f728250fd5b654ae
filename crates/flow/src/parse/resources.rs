//! The resources file a scheduling flow names with `resources:`: the business zone, holidays,
//! appointment types and providers with weekly hours. The shell upserts it into the store at
//! start (idempotent: `put_resource` / `put_appointment_type` replace by id), and the checker
//! validates a flow's appointment types and providers against it.
//!
//! ```yaml
//! timezone: America/New_York
//! holidays: ["2026-11-26", "2026-12-25"]     # closed all day
//! appointment_types:
//!   - {id: office_visit, name: office visit, minutes: 20}
//! providers:
//!   - id: chen
//!     name: Dr. Amelia Chen
//!     hours: {mon-fri: "08:00-18:00", sat: "09:00-13:00"}   # also mon..sun; "08:00-12:00, 13:00-17:00"
//! ```

use frontdesk_schedule::jiff::civil::{Date, Time, Weekday};
use frontdesk_schedule::jiff::tz::TimeZone;
use frontdesk_schedule::{AppointmentType, Resource, ResourceKind, WallInterval, WeeklyHours};
use saphyr::{LoadableYamlNode as _, MarkedYaml};

use super::yaml::{Ctx, Y, get, integer, map, open_map, pos, seq, string, strings};
use crate::ast::Pos;
use crate::diag::Diagnostic;

/// A parsed resources file.
#[derive(Debug, Clone)]
pub struct Resources {
    pub timezone: String,
    pub providers: Vec<Resource>,
    pub types: Vec<AppointmentType>,
}

impl Resources {
    /// Provider ids.
    pub fn provider_ids(&self) -> impl Iterator<Item = &str> + Clone {
        self.providers.iter().map(|r| r.id.0.as_str())
    }

    /// Appointment type ids.
    pub fn type_ids(&self) -> impl Iterator<Item = &str> + Clone {
        self.types.iter().map(|t| t.id.as_str())
    }
}

const DAYS: &[(&str, &[Weekday])] = &[
    ("mon", &[Weekday::Monday]),
    ("tue", &[Weekday::Tuesday]),
    ("wed", &[Weekday::Wednesday]),
    ("thu", &[Weekday::Thursday]),
    ("fri", &[Weekday::Friday]),
    ("sat", &[Weekday::Saturday]),
    ("sun", &[Weekday::Sunday]),
    ("mon-fri", &[Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday]),
];

/// Parses a resources file; all problems at once, with positions.
pub fn parse_resources(src: &str) -> Result<Resources, Vec<Diagnostic>> {
    let docs = MarkedYaml::load_from_str(src).map_err(|e| {
        let m = e.marker();
        vec![Diagnostic::new(
            Pos { line: m.line(), col: m.col() + 1 },
            "yaml",
            format!("bad YAML: {}", e.info()),
            "check indentation and quoting",
        )]
    })?;
    let Some(root) = docs.first() else {
        return Err(vec![Diagnostic::new(Pos { line: 1, col: 1 }, "missing", "the file is empty", "")]);
    };
    let mut cx = Ctx::default();
    let top =
        map(&mut cx, root, "the resources file", &["timezone", "holidays", "appointment_types", "providers"])
            .unwrap_or_default();
    let tz_s = get(&top, "timezone").and_then(|y| string(&mut cx, y, "timezone"));
    let tz = match &tz_s {
        Some(s) => match TimeZone::get(&s.value) {
            Ok(z) => Some(z),
            Err(_) => {
                cx.err(
                    s.pos,
                    "invalid",
                    format!("unknown time zone `{}`", s.value),
                    "an IANA name, e.g. America/New_York",
                );
                None
            }
        },
        None => {
            cx.err(
                pos(root),
                "missing",
                "the resources file needs `timezone:`",
                "e.g. `timezone: America/New_York`",
            );
            None
        }
    };
    let mut holidays = Vec::new();
    for h in get(&top, "holidays").map(|y| strings(&mut cx, y, "holidays")).unwrap_or_default() {
        match h.value.parse::<Date>() {
            Ok(d) => holidays.push(d),
            Err(_) => cx.err(h.pos, "invalid", format!("`{}` is not a date", h.value), "write YYYY-MM-DD"),
        }
    }
    let mut types = Vec::new();
    for t in get(&top, "appointment_types").map(|y| seq(&mut cx, y, "appointment_types")).unwrap_or_default()
    {
        let Some(e) = map(
            &mut cx,
            t,
            "an appointment type",
            &["id", "name", "minutes", "buffer_before", "buffer_after"],
        ) else {
            continue;
        };
        let id = get(&e, "id").and_then(|y| string(&mut cx, y, "id"));
        let minutes = get(&e, "minutes").and_then(|y| integer(&mut cx, y, "minutes"));
        let (Some(id), Some(minutes)) = (id, minutes) else {
            cx.err(pos(t), "missing", "an appointment type needs `id` and `minutes`", "");
            continue;
        };
        if !(5..=480).contains(&minutes) {
            cx.err(pos(t), "invalid", "`minutes` must be between 5 and 480", "");
            continue;
        }
        let name = get(&e, "name")
            .and_then(|y| string(&mut cx, y, "name"))
            .map_or_else(|| id.value.replace('_', " "), |s| s.value);
        let before = get(&e, "buffer_before").and_then(|y| integer(&mut cx, y, "buffer_before")).unwrap_or(0);
        let after = get(&e, "buffer_after").and_then(|y| integer(&mut cx, y, "buffer_after")).unwrap_or(0);
        types.push(AppointmentType::minutes(&id.value, &name, minutes).with_buffers(before, after));
    }
    let mut providers = Vec::new();
    for p in get(&top, "providers").map(|y| seq(&mut cx, y, "providers")).unwrap_or_default() {
        let Some(e) = map(&mut cx, p, "a provider", &["id", "name", "hours"]) else { continue };
        let id = get(&e, "id").and_then(|y| string(&mut cx, y, "id"));
        let name = get(&e, "name").and_then(|y| string(&mut cx, y, "name"));
        let (Some(id), Some(name)) = (id, name) else {
            cx.err(pos(p), "missing", "a provider needs `id` and `name`", "");
            continue;
        };
        let hours = match get(&e, "hours") {
            Some(h) => hours(&mut cx, h),
            None => {
                cx.err(
                    pos(p),
                    "missing",
                    format!("provider `{}` has no `hours`", id.value),
                    "e.g. hours: {mon-fri: \"08:00-18:00\"}",
                );
                WeeklyHours::closed()
            }
        };
        if let Some(tz) = &tz {
            let mut r = Resource::new(&id.value, &name.value, ResourceKind::Provider, tz.clone(), hours);
            r.holidays.clone_from(&holidays);
            providers.push(r);
        }
    }
    if types.is_empty() {
        cx.err(pos(root), "missing", "no `appointment_types`", "");
    }
    if providers.is_empty() && tz.is_some() {
        cx.err(pos(root), "missing", "no `providers`", "");
    }
    if !cx.diags.is_empty() {
        cx.diags.sort();
        return Err(cx.diags);
    }
    Ok(Resources { timezone: tz_s.map(|s| s.value).unwrap_or_default(), providers, types })
}

fn hours(cx: &mut Ctx, y: &Y<'_>) -> WeeklyHours {
    let mut h = WeeklyHours::closed();
    for (day, dpos, v) in open_map(cx, y, "hours") {
        let Some((_, wds)) = DAYS.iter().find(|(d, _)| *d == day) else {
            cx.err(
                dpos,
                "unknown-key",
                format!("unknown day `{day}`"),
                crate::diag::suggest(&day, DAYS.iter().map(|(d, _)| *d)),
            );
            continue;
        };
        let Some(s) = string(cx, v, "hours") else { continue };
        for part in s.value.split(',') {
            match interval(part.trim()) {
                Some(iv) => {
                    for wd in *wds {
                        h = h.with(*wd, iv);
                    }
                }
                None => cx.err(
                    s.pos,
                    "invalid",
                    format!("cannot read hours `{}`", part.trim()),
                    "write HH:MM-HH:MM, e.g. 08:00-18:00",
                ),
            }
        }
    }
    h
}

fn interval(s: &str) -> Option<WallInterval> {
    let (a, b) = s.split_once('-')?;
    let t = |x: &str| x.trim().parse::<Time>().ok();
    WallInterval::new(t(a)?, t(b)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hours_types_and_holidays() {
        let r = parse_resources(
            "timezone: America/New_York\nholidays: [\"2026-11-26\"]\nappointment_types:\n  - {id: visit, minutes: 20}\nproviders:\n  - id: a\n    name: Dr. A\n    hours: {mon-fri: \"08:00-12:00, 13:00-17:00\", sat: \"09:00-13:00\"}\n",
        )
        .unwrap();
        assert_eq!(r.types[0].name, "visit");
        let p = &r.providers[0];
        assert_eq!(p.hours.on(Weekday::Wednesday).len(), 2);
        assert_eq!(p.hours.on(Weekday::Saturday).len(), 1);
        assert!(p.hours.on(Weekday::Sunday).is_empty());
        assert_eq!(p.holidays.len(), 1);
    }

    #[test]
    fn reports_bad_days_and_hours_with_positions() {
        let e = parse_resources(
            "timezone: America/New_York\nappointment_types: [{id: v, minutes: 20}]\nproviders:\n  - id: a\n    name: A\n    hours: {mon: \"8-6\", tues: \"08:00-09:00\"}\n",
        )
        .unwrap_err();
        let msgs: Vec<String> = e.iter().map(|d| d.render("r.yaml")).collect();
        assert!(msgs.iter().any(|m| m.contains("r.yaml:6:") && m.contains("cannot read hours")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("unknown day `tues`") && m.contains("tue")), "{msgs:?}");
    }
}
