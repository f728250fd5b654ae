//! US holidays by name.
//!
//! A holiday resolves to its calendar date (not the "observed" weekday when it falls on a weekend:
//! callers who say "the fourth of july" mean the 4th), the next occurrence on or after today.
//! Floating holidays follow the federal rules: MLK day 3rd Monday of January, Presidents day 3rd
//! Monday of February, Memorial day last Monday of May, Labor day 1st Monday of September,
//! Columbus/Indigenous Peoples' day 2nd Monday of October, Thanksgiving 4th Thursday of November
//! (Black Friday the day after).

use jiff::civil::{Date, Weekday};

use super::lexer::Tok;

/// A named holiday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holiday {
    NewYearsDay,
    NewYearsEve,
    MlkDay,
    ValentinesDay,
    PresidentsDay,
    StPatricksDay,
    MemorialDay,
    Juneteenth,
    IndependenceDay,
    LaborDay,
    ColumbusDay,
    Halloween,
    VeteransDay,
    Thanksgiving,
    BlackFriday,
    ChristmasEve,
    Christmas,
}

/// Phrases, longest first within a holiday (matching tries every phrase and keeps the longest).
const PHRASES: &[(&[&str], Holiday)] = &[
    (&["new", "years", "day"], Holiday::NewYearsDay),
    (&["new", "year", "day"], Holiday::NewYearsDay),
    (&["new", "years", "eve"], Holiday::NewYearsEve),
    (&["new", "year", "eve"], Holiday::NewYearsEve),
    (&["new", "years"], Holiday::NewYearsDay),
    (&["martin", "luther", "king", "jr", "day"], Holiday::MlkDay),
    (&["martin", "luther", "king", "junior", "day"], Holiday::MlkDay),
    (&["martin", "luther", "king", "day"], Holiday::MlkDay),
    (&["mlk", "day"], Holiday::MlkDay),
    (&["valentines", "day"], Holiday::ValentinesDay),
    (&["valentines"], Holiday::ValentinesDay),
    (&["presidents", "day"], Holiday::PresidentsDay),
    (&["president", "day"], Holiday::PresidentsDay),
    (&["washingtons", "birthday"], Holiday::PresidentsDay),
    (&["st", "patricks", "day"], Holiday::StPatricksDay),
    (&["saint", "patricks", "day"], Holiday::StPatricksDay),
    (&["memorial", "day"], Holiday::MemorialDay),
    (&["juneteenth"], Holiday::Juneteenth),
    (&["independence", "day"], Holiday::IndependenceDay),
    (&["labor", "day"], Holiday::LaborDay),
    (&["labour", "day"], Holiday::LaborDay),
    (&["columbus", "day"], Holiday::ColumbusDay),
    (&["indigenous", "peoples", "day"], Holiday::ColumbusDay),
    (&["halloween"], Holiday::Halloween),
    (&["veterans", "day"], Holiday::VeteransDay),
    (&["veteran", "day"], Holiday::VeteransDay),
    (&["thanksgiving", "day"], Holiday::Thanksgiving),
    (&["thanksgiving"], Holiday::Thanksgiving),
    (&["black", "friday"], Holiday::BlackFriday),
    (&["christmas", "eve"], Holiday::ChristmasEve),
    (&["christmas", "day"], Holiday::Christmas),
    (&["christmas"], Holiday::Christmas),
    (&["xmas", "eve"], Holiday::ChristmasEve),
    (&["xmas"], Holiday::Christmas),
];

/// Recognises a holiday name starting at `i`; returns it and the number of tokens used.
pub(crate) fn recognize(toks: &[Tok], i: usize) -> Option<(Holiday, usize)> {
    let mut best: Option<(Holiday, usize)> = None;
    for (words, h) in PHRASES {
        let matched = words.iter().enumerate().all(|(k, w)| toks.get(i + k).is_some_and(|t| t.is_word(w)));
        if matched && best.is_none_or(|(_, n)| words.len() > n) {
            best = Some((*h, words.len()));
        }
    }
    best
}

fn nth_weekday(year: i16, month: i8, nth: i32, wd: Weekday) -> Option<Date> {
    Date::new(year, month, 1).ok()?.nth_weekday_of_month(nth as i8, wd).ok()
}

impl Holiday {
    /// The holiday's date in `year`.
    pub fn date_in(self, year: i16) -> Option<Date> {
        let fixed = |m: i8, d: i8| Date::new(year, m, d).ok();
        match self {
            Holiday::NewYearsDay => fixed(1, 1),
            Holiday::NewYearsEve => fixed(12, 31),
            Holiday::MlkDay => nth_weekday(year, 1, 3, Weekday::Monday),
            Holiday::ValentinesDay => fixed(2, 14),
            Holiday::PresidentsDay => nth_weekday(year, 2, 3, Weekday::Monday),
            Holiday::StPatricksDay => fixed(3, 17),
            Holiday::MemorialDay => nth_weekday(year, 5, -1, Weekday::Monday),
            Holiday::Juneteenth => fixed(6, 19),
            Holiday::IndependenceDay => fixed(7, 4),
            Holiday::LaborDay => nth_weekday(year, 9, 1, Weekday::Monday),
            Holiday::ColumbusDay => nth_weekday(year, 10, 2, Weekday::Monday),
            Holiday::Halloween => fixed(10, 31),
            Holiday::VeteransDay => fixed(11, 11),
            Holiday::Thanksgiving => nth_weekday(year, 11, 4, Weekday::Thursday),
            Holiday::BlackFriday => {
                nth_weekday(year, 11, 4, Weekday::Thursday).and_then(|d| d.tomorrow().ok())
            }
            Holiday::ChristmasEve => fixed(12, 24),
            Holiday::Christmas => fixed(12, 25),
        }
    }

    /// The next occurrence on or after `today`.
    pub fn next_on_or_after(self, today: Date) -> Option<Date> {
        let this_year = self.date_in(today.year())?;
        if this_year >= today { Some(this_year) } else { self.date_in(today.year().checked_add(1)?) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn floating_holidays() {
        assert_eq!(Holiday::Thanksgiving.date_in(2026), Some(date(2026, 11, 26)));
        assert_eq!(Holiday::MemorialDay.date_in(2027), Some(date(2027, 5, 31)));
        assert_eq!(Holiday::LaborDay.date_in(2028), Some(date(2028, 9, 4)));
        assert_eq!(Holiday::MlkDay.date_in(2027), Some(date(2027, 1, 18)));
        assert_eq!(Holiday::BlackFriday.date_in(2026), Some(date(2026, 11, 27)));
    }

    #[test]
    fn next_occurrence_rolls_over_the_year() {
        let today = date(2026, 12, 26);
        assert_eq!(Holiday::Christmas.next_on_or_after(today), Some(date(2027, 12, 25)));
        assert_eq!(Holiday::NewYearsEve.next_on_or_after(today), Some(date(2026, 12, 31)));
    }
}
