//! What the grammar recognised, before it is resolved against `now` (see `resolve.rs`).

use jiff::civil::Weekday;
use jiff::tz::TimeZone;

use super::holidays::Holiday;

/// How a weekday was qualified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WdMod {
    /// `monday`: the next one (today only when the stated time is still ahead).
    Plain,
    /// `this monday`, `this coming monday`, `coming monday`: the next one, today included.
    This,
    /// `next monday`: see the rule in the module docs of `nlu`.
    Next,
    /// `monday after next`: the next one plus seven days.
    AfterNext,
    /// `the friday after thanksgiving`: the first such weekday after the day that follows.
    After,
    /// `the monday before christmas`: the last such weekday before the day that follows.
    Before,
}

/// A day named without a weekday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DaySpec {
    Today,
    Tomorrow,
    DayAfterTomorrow,
    Yesterday,
    /// The last day of the current month.
    EndOfMonth,
    /// Month and day, with an optional year (`march 3rd`, `3/14`, `the 2nd of december`).
    MonthDay {
        m: i8,
        d: i8,
        y: Option<i16>,
    },
    /// Day of the month only (`the 14th`).
    DayOfMonth(i8),
    Holiday(Holiday),
    /// `the first monday of december`; `nth` -1 is the last.
    NthWeekday {
        nth: i8,
        wd: Weekday,
        month: MonthRef,
    },
}

/// Which month an `nth weekday of ...` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MonthRef {
    This,
    Next,
    Named(i8),
}

/// Week-sized expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WeekSpec {
    ThisWeek,
    NextWeek,
    WeekAfterNext,
    ThisWeekend,
    NextWeekend,
    WeekendAfterNext,
}

/// Parts of the day. Hours are the ranges of the module docs of `nlu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartOfDay {
    Morning,
    Afternoon,
    Evening,
    Night,
    Tonight,
    EndOfDay,
    Lunch,
}

impl PartOfDay {
    /// `[start, end)` hours; 24 means the next midnight.
    pub(crate) fn hours(self) -> (i8, i8) {
        match self {
            PartOfDay::Morning => (8, 12),
            PartOfDay::Afternoon => (12, 17),
            PartOfDay::Evening => (17, 21),
            PartOfDay::Night => (21, 24),
            PartOfDay::Tonight => (17, 24),
            PartOfDay::EndOfDay => (15, 17),
            PartOfDay::Lunch => (12, 13),
        }
    }

    /// Whether a bare hour 1-11 said with this part of day is in the afternoon/evening.
    pub(crate) fn is_pm(self) -> bool {
        !matches!(self, PartOfDay::Morning)
    }
}

/// AM/PM as said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meridiem {
    Am,
    Pm,
}

/// A clock time as said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeSpec {
    /// 0..=24 as said (`3` for "three", 15 for "15:00").
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) meridiem: Option<Meridiem>,
    /// Minutes were said (`3:00`, `three thirty`, `quarter past`): grain minute, else hour.
    pub(crate) minute_precision: bool,
    /// `midnight` / `12 am`: the midnight that ends the named day.
    pub(crate) midnight: bool,
    /// A bare number (`one`, `1234`) with nothing time-like around it; dropped when nothing else
    /// in the utterance is a date or time ("I have one question").
    pub(crate) weak: bool,
    /// `quarter to eight`: `minute` past the hour before `hour`; the am/pm rules apply to the
    /// spoken hour (eight -> AM, so 07:45).
    pub(crate) to_hour: bool,
}

impl TimeSpec {
    pub(crate) fn hour(hour: u32) -> TimeSpec {
        TimeSpec {
            hour,
            minute: 0,
            meridiem: None,
            minute_precision: false,
            midnight: false,
            weak: false,
            to_hour: false,
        }
    }
}

/// A calendar shift applied after the base day is found (`a week from friday`, `in 3 days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shift {
    Days(i64),
    Months(i64),
}

/// Everything recognised in one utterance.
#[derive(Debug, Clone, Default)]
pub(crate) struct Parts {
    pub(crate) day: Option<DaySpec>,
    pub(crate) weekday: Option<(Weekday, WdMod)>,
    pub(crate) week: Option<WeekSpec>,
    pub(crate) shift: Option<Shift>,
    /// Exact offset from now, in minutes (`in two hours`, `90 minutes from now`).
    pub(crate) offset_minutes: Option<i64>,
    pub(crate) time: Option<TimeSpec>,
    /// The end of a time range (`between 2 and 4`).
    pub(crate) time_end: Option<TimeSpec>,
    pub(crate) part: Option<PartOfDay>,
    /// `this morning`, `tonight`: the part of today, even if it has passed.
    pub(crate) part_today: bool,
    pub(crate) zone: Option<TimeZone>,
    /// `next month` was said (`the 3rd of next month`; alone: the 1st of next month).
    pub(crate) next_month: bool,
    /// `this time tomorrow`, `same time next week`: the current wall-clock time.
    pub(crate) same_time: bool,
    /// A day, weekday, time or part of day was said twice, differently.
    pub(crate) conflict: bool,
    /// Number of recognised pieces.
    pub(crate) hits: usize,
}
