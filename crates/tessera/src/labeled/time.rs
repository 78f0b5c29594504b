//! CF-convention time coordinates for NetCDF climate data.
//!
//! Climate model output stores time as numbers with a `units` attribute such as
//! `"days since 1850-01-01"` and a `calendar` attribute (`noleap`, `360_day`, ...).
//! Decoding these into `datetime64[ns]`-style timestamps fails for idealised
//! calendars (360_day has a February 30th) and for dates outside roughly
//! 1678–2262 (e.g. `"hours since 1-1-1 00:00:0.0"` or paleoclimate runs). This
//! module does the decoding the way cftime does, with plain integer arithmetic
//! and no range limit beyond `i64` years.
//!
//! Conventions chosen here:
//! * **Day numbering**: [`days_from_civil`] counts days elapsed since
//!   0001-01-01 *of the same calendar* (0001-01-01 is day 0). For
//!   [`Calendar::Standard`] that origin is the Julian 0001-01-01 and the count
//!   runs through the 1582 switch, which is exactly what
//!   `"<unit> since 1-1-1"` means in cftime.
//! * **Year numbering** follows cftime 1.6 defaults (`has_year_zero`):
//!   `standard` and `julian` use historical numbering (no year 0; year -1 is
//!   1 BC and is a Julian leap year), while `proleptic_gregorian` and the
//!   idealised calendars use astronomical numbering with a year 0. Parsing
//!   year 0 in `standard`/`julian` is an error; the raw arithmetic functions
//!   treat it like year -1.
//! * **Rounding**: `value * unit` is rounded to the nearest microsecond
//!   (ties to even, like numpy); the integer part of `value` is multiplied
//!   exactly, so large counts do not lose microseconds to `f64` rounding.
//! * Leap seconds and UTC offsets other than zero are not supported.

const MICROS_PER_SEC: i64 = 1_000_000;
const MICROS_PER_MIN: i64 = 60 * MICROS_PER_SEC;
const MICROS_PER_HOUR: i64 = 60 * MICROS_PER_MIN;
const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;
/// Days before the first of each month in a 365-day year.
const CUM_DAYS: [i128; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
const CALENDAR_NAMES: &str =
    "standard, gregorian, proleptic_gregorian, noleap, 365_day, all_leap, 366_day, 360_day, julian";

/// A CF calendar (the `calendar` attribute of a time variable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Calendar {
    /// Mixed Julian/Gregorian calendar: 1582-10-04 is followed by 1582-10-15.
    Standard,
    /// Gregorian leap rules extended to all years (with a year 0).
    ProlepticGregorian,
    /// 365-day years, no leap days (`noleap` / `365_day`).
    NoLeap,
    /// 366-day years, February 29th every year (`all_leap` / `366_day`).
    AllLeap,
    /// Twelve 30-day months (`360_day`).
    Day360,
    /// Julian calendar: a leap year every 4 years.
    Julian,
}

impl Calendar {
    /// Parses a CF calendar name, case-insensitively: `standard`/`gregorian`,
    /// `proleptic_gregorian`, `noleap`/`365_day`, `all_leap`/`366_day`,
    /// `360_day`, `julian`. A missing attribute means [`Calendar::Standard`]
    /// (see [`TimeUnits::parse`]).
    pub fn parse(s: &str) -> Result<Calendar, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "standard" | "gregorian" => Ok(Calendar::Standard),
            "proleptic_gregorian" => Ok(Calendar::ProlepticGregorian),
            "noleap" | "365_day" => Ok(Calendar::NoLeap),
            "all_leap" | "366_day" => Ok(Calendar::AllLeap),
            "360_day" => Ok(Calendar::Day360),
            "julian" => Ok(Calendar::Julian),
            _ => Err(format!(
                "unknown calendar '{s}' (expected one of {CALENDAR_NAMES})"
            )),
        }
    }

    /// The canonical CF name of this calendar.
    pub fn name(&self) -> &'static str {
        match self {
            Calendar::Standard => "standard",
            Calendar::ProlepticGregorian => "proleptic_gregorian",
            Calendar::NoLeap => "noleap",
            Calendar::AllLeap => "all_leap",
            Calendar::Day360 => "360_day",
            Calendar::Julian => "julian",
        }
    }

    /// Number of days that exist in `month` (1..=12) of `year`; 0 for an
    /// invalid month. October 1582 has 21 days in the standard calendar.
    pub fn days_in_month(&self, year: i64, month: u32) -> u32 {
        if !(1..=12).contains(&month) {
            return 0;
        }
        let a = self.astro_year(year);
        let (na, nm) = if month == 12 {
            (a + 1, 1)
        } else {
            (a, month + 1)
        };
        (days_i128(*self, na, nm, 1) - days_i128(*self, a, month, 1)) as u32
    }

    /// Number of days in `year` (355 for 1582 in the standard calendar).
    pub fn days_in_year(&self, year: i64) -> u32 {
        let a = self.astro_year(year);
        (days_i128(*self, a + 1, 1, 1) - days_i128(*self, a, 1, 1)) as u32
    }

    /// Whether this calendar numbers years historically (no year 0).
    fn historical_years(self) -> bool {
        matches!(self, Calendar::Standard | Calendar::Julian)
    }

    /// Calendar year -> astronomical year (year 0 treated as 1 BC).
    fn astro_year(self, year: i64) -> i128 {
        i128::from(year) + i128::from(self.historical_years() && year < 0)
    }

    /// Astronomical year -> calendar year.
    fn year_from_astro(self, a: i128) -> i128 {
        a - i128::from(self.historical_years() && a <= 0)
    }

    fn is_leap(self, a: i128) -> bool {
        let julian = a.rem_euclid(4) == 0;
        let gregorian = julian && (a.rem_euclid(100) != 0 || a.rem_euclid(400) == 0);
        match self {
            Calendar::Standard => (a > 1582 && gregorian) || (a <= 1582 && julian),
            Calendar::ProlepticGregorian => gregorian,
            Calendar::Julian => julian,
            Calendar::NoLeap | Calendar::Day360 => false,
            Calendar::AllLeap => true,
        }
    }

    /// Nominal month length (ignores the 1582 gap).
    fn nominal_month_len(self, a: i128, month: u32) -> u32 {
        match (self, month) {
            (Calendar::Day360, _) => 30,
            (_, 2) => 28 + u32::from(self.is_leap(a)),
            (_, 4 | 6 | 9 | 11) => 30,
            _ => 31,
        }
    }
}

/// Days since 0000-03-01 (astronomical) shifted so 0001-01-01 is day 0, using
/// March-based years so the leap day falls at the end of the year.
fn march_days(a: i128, month: u32, day: i128, gregorian: bool) -> i128 {
    let (y, mp) = if month > 2 {
        (a, i128::from(month) - 3)
    } else {
        (a - 1, i128::from(month) + 9)
    };
    let mut n = 365 * y + y.div_euclid(4) + (153 * mp + 2) / 5 + day - 1;
    if gregorian {
        n += y.div_euclid(400) - y.div_euclid(100);
    }
    n - 306
}

/// Inverse of [`march_days`].
fn march_civil(n: i128, gregorian: bool) -> (i128, u32, u32) {
    let n = n + 306;
    let (base, rest) = if gregorian {
        let doe = n.rem_euclid(146_097);
        let century = (doe / 36_524).min(3);
        (
            n.div_euclid(146_097) * 400 + century * 100,
            doe - century * 36_524,
        )
    } else {
        (0, n)
    };
    let doq = rest.rem_euclid(1461);
    let r = (doq / 365).min(3);
    let doy = doq - r * 365;
    let y = base + rest.div_euclid(1461) * 4 + r;
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    if mp < 10 {
        (y, (mp + 3) as u32, d as u32)
    } else {
        (y + 1, (mp - 9) as u32, d as u32)
    }
}

/// First day of the Gregorian part of the standard calendar, as a day number.
fn standard_switch() -> i128 {
    march_days(1582, 10, 5, false)
}

/// Day number of an astronomical-year date; `month` must be 1..=12, `day` is linear.
fn days_i128(cal: Calendar, a: i128, month: u32, day: i128) -> i128 {
    let mi = month.clamp(1, 12) as usize - 1;
    match cal {
        Calendar::Day360 => (a - 1) * 360 + 30 * mi as i128 + day - 1,
        Calendar::NoLeap | Calendar::AllLeap => {
            let extra = i128::from(cal == Calendar::AllLeap);
            (a - 1) * (365 + extra) + CUM_DAYS[mi] + if mi >= 2 { extra } else { 0 } + day - 1
        }
        Calendar::ProlepticGregorian => march_days(a, month, day, true),
        Calendar::Julian => march_days(a, month, day, false),
        Calendar::Standard => {
            if (a, month, day) >= (1582, 10, 15) {
                march_days(a, month, day, true) - march_days(1582, 10, 15, true) + standard_switch()
            } else {
                march_days(a, month, day, false)
            }
        }
    }
}

/// Inverse of [`days_i128`]: (astronomical year, month, day).
fn civil_i128(cal: Calendar, n: i128) -> (i128, u32, u32) {
    match cal {
        Calendar::Day360 => {
            let r = n.rem_euclid(360);
            (
                n.div_euclid(360) + 1,
                (r / 30 + 1) as u32,
                (r % 30 + 1) as u32,
            )
        }
        Calendar::NoLeap | Calendar::AllLeap => {
            let extra = i128::from(cal == Calendar::AllLeap);
            let len = 365 + extra;
            let r = n.rem_euclid(len);
            let start = |m: usize| CUM_DAYS[m - 1] + if m > 2 { extra } else { 0 };
            let mut m = 12;
            while m > 1 && r < start(m) {
                m -= 1;
            }
            (n.div_euclid(len) + 1, m as u32, (r - start(m) + 1) as u32)
        }
        Calendar::ProlepticGregorian => march_civil(n, true),
        Calendar::Julian => march_civil(n, false),
        Calendar::Standard => {
            let switch = standard_switch();
            if n >= switch {
                march_civil(n - switch + march_days(1582, 10, 15, true), true)
            } else {
                march_civil(n, false)
            }
        }
    }
}

fn saturate(x: i128) -> i64 {
    i64::try_from(x).unwrap_or(if x < 0 { i64::MIN } else { i64::MAX })
}

/// Days elapsed since 0001-01-01 of the same calendar (0001-01-01 is day 0;
/// for `Standard` that is the Julian 0001-01-01). Out-of-range months and days
/// are normalised arithmetically (month 13 is January of the next year, day 0
/// the day before the 1st) and the non-existent `Standard` dates 1582-10-05..14
/// are read as Julian dates; never panics.
pub fn days_from_civil(cal: Calendar, year: i64, month: u32, day: u32) -> i64 {
    let m0 = i128::from(month) - 1;
    let a = cal.astro_year(year) + m0.div_euclid(12);
    let m = (m0.rem_euclid(12) + 1) as u32;
    saturate(days_i128(cal, a, m, i128::from(day)))
}

/// Inverse of [`days_from_civil`]: the (year, month, day) of a day number.
pub fn civil_from_days(cal: Calendar, days: i64) -> (i64, u32, u32) {
    let (a, m, d) = civil_i128(cal, i128::from(days));
    (saturate(cal.year_from_astro(a)), m, d)
}

/// A calendar date and time of day with microsecond resolution. The calendar
/// is not stored: pass it to the calendar-aware methods. Field order makes the
/// derived ordering chronological.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct DateTime {
    /// Year (historical numbering for standard/julian, astronomical otherwise).
    pub year: i64,
    /// Month, 1..=12.
    pub month: u32,
    /// Day of month, 1-based.
    pub day: u32,
    /// Hour, 0..=23.
    pub hour: u32,
    /// Minute, 0..=59.
    pub minute: u32,
    /// Second, 0..=59.
    pub second: u32,
    /// Microsecond, 0..=999_999.
    pub micro: u32,
}

/// How much of a date string was given (for partial-string selection).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Precision {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

fn parse_number<T: std::str::FromStr>(field: &str, what: &str, s: &str) -> Result<T, String> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid {what} '{field}' in date '{s}'"));
    }
    field
        .parse::<T>()
        .map_err(|_| format!("{what} '{field}' out of range in date '{s}'"))
}

/// Parses `[-]Y[-M[-D]][(T| )h[:m[:s[.f]]]][Z| UTC|+00:00]` and validates it.
fn parse_fields(s: &str, cal: Calendar) -> Result<(DateTime, Precision), String> {
    let mut t = s.trim();
    if t.is_empty() {
        return Err("empty date string".to_string());
    }
    if let Some(rest) = t.strip_suffix(['Z', 'z']) {
        t = rest.trim_end();
    } else if let Some(tail) = t.len().checked_sub(3).and_then(|i| t.get(i..)) {
        if tail.eq_ignore_ascii_case("utc") || tail.eq_ignore_ascii_case("gmt") {
            t = t[..t.len() - 3].trim_end();
        }
    }
    let (date, time) = match t.find(|c: char| c == 'T' || c == 't' || c.is_ascii_whitespace()) {
        Some(i) => (&t[..i], Some(t[i + 1..].trim())),
        None => (t, None),
    };
    let time = match time {
        Some(tm) => match tm.find(['+', '-']) {
            Some(i) => {
                let off = &tm[i..];
                let body = &off[1..];
                if !body.contains('0') || !body.chars().all(|c| c == '0' || c == ':') {
                    return Err(format!(
                        "unsupported UTC offset '{off}' in '{s}' (only Z, UTC, +00:00 or +0000 are supported)"
                    ));
                }
                Some(tm[..i].trim())
            }
            None => Some(tm),
        },
        None => None,
    };
    let (negative, body) = match date.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, date),
    };
    let parts: Vec<&str> = body.split('-').collect();
    if parts.len() > 3 {
        return Err(format!("invalid date '{s}' (expected YYYY-MM-DD)"));
    }
    let mut dt = DateTime::ymd(parse_number(parts[0], "year", s)?, 1, 1);
    if negative {
        dt.year = -dt.year;
    }
    let mut prec = Precision::Year;
    if let Some(p) = parts.get(1) {
        dt.month = parse_number(p, "month", s)?;
        prec = Precision::Month;
    }
    if let Some(p) = parts.get(2) {
        dt.day = parse_number(p, "day", s)?;
        prec = Precision::Day;
    }
    if let Some(tm) = time {
        if prec < Precision::Day {
            return Err(format!("time given without a full date in '{s}'"));
        }
        if tm.is_empty() {
            return Err(format!("missing time of day after the date in '{s}'"));
        }
        let tp: Vec<&str> = tm.split(':').collect();
        if tp.len() > 3 {
            return Err(format!(
                "invalid time of day '{tm}' in '{s}' (expected hh:mm:ss)"
            ));
        }
        dt.hour = parse_number(tp[0], "hour", s)?;
        prec = Precision::Hour;
        if let Some(p) = tp.get(1) {
            dt.minute = parse_number(p, "minute", s)?;
            prec = Precision::Minute;
        }
        if let Some(p) = tp.get(2) {
            let (whole, frac) = match p.split_once('.') {
                Some((w, f)) => (w, f),
                None => (*p, ""),
            };
            dt.second = parse_number(whole, "second", s)?;
            if !frac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("invalid fractional second '{p}' in '{s}'"));
            }
            // First six digits are microseconds; further digits are truncated.
            let fb = frac.as_bytes();
            dt.micro = (0..6).fold(0, |acc, i| {
                acc * 10 + fb.get(i).map_or(0, |b| u32::from(b - b'0'))
            });
            prec = Precision::Second;
        }
    }
    dt.validate(cal)
        .map_err(|e| format!("invalid date '{s}': {e}"))?;
    Ok((dt, prec))
}

impl DateTime {
    /// Midnight at the start of the given day (not validated).
    pub fn ymd(year: i64, month: u32, day: u32) -> DateTime {
        let z = 0;
        DateTime {
            year,
            month,
            day,
            hour: z,
            minute: z,
            second: z,
            micro: z,
        }
    }

    /// Returns a copy with the given time of day and zero microseconds.
    pub fn at(self, hour: u32, minute: u32, second: u32) -> DateTime {
        DateTime {
            hour,
            minute,
            second,
            micro: 0,
            ..self
        }
    }

    /// ISO text as xarray/cftime prints it: `2013-01-01T00:00:00`, with
    /// `.ffffff` only when `micro != 0`, years padded to 4 digits and negative
    /// years prefixed with `-`.
    pub fn iso(&self) -> String {
        let sign = if self.year < 0 { "-" } else { "" };
        let mut s = format!(
            "{sign}{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year.unsigned_abs(),
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second
        );
        if self.micro != 0 {
            s.push_str(&format!(".{:06}", self.micro));
        }
        s
    }

    /// Parses a date with optional time: `2013-01-01`, `2013-1-1`,
    /// `2013-01-01 06:00`, `2013-01-01T06:00:00`, `1-1-1 00:00:0.0`,
    /// `2013-01-01 00:00:00.5`, optionally followed by `Z`, ` UTC` or a zero
    /// offset (`+00:00`, `+0000`); other offsets are rejected. Fields are
    /// validated against `cal` (Feb 30 exists only in 360_day; 1582-10-10 does
    /// not exist in the standard calendar).
    pub fn parse(s: &str, cal: Calendar) -> Result<DateTime, String> {
        let (dt, prec) = parse_fields(s, cal)?;
        if prec < Precision::Day {
            return Err(format!(
                "incomplete date '{s}' (expected YYYY-MM-DD with optional hh:mm:ss)"
            ));
        }
        Ok(dt)
    }

    /// pandas-style partial string for label selection, returning
    /// `(start inclusive, end exclusive)`: `2013` is the year, `2013-06` the
    /// month, `2013-06-30` the day, `2013-06-30T06` the hour, `...T06:30` the
    /// minute, and a timestamp with seconds is the single instant
    /// `[t, t + 1 microsecond)`. Calendar-aware (1582-10-04 ends at 1582-10-15
    /// in the standard calendar).
    pub fn parse_range(s: &str, cal: Calendar) -> Result<(DateTime, DateTime), String> {
        let (start, prec) = parse_fields(s, cal)?;
        let next_year = |y: i64| -> Result<i64, String> {
            if cal.historical_years() && y == -1 {
                Ok(1)
            } else {
                y.checked_add(1)
                    .ok_or_else(|| format!("year after '{s}' is out of range"))
            }
        };
        let step =
            |micros: i64| DateTime::from_micros(cal, start.to_micros(cal) + i128::from(micros));
        let end = match prec {
            Precision::Year => DateTime::ymd(next_year(start.year)?, 1, 1),
            Precision::Month if start.month == 12 => DateTime::ymd(next_year(start.year)?, 1, 1),
            Precision::Month => DateTime::ymd(start.year, start.month + 1, 1),
            Precision::Day => step(MICROS_PER_DAY)?,
            Precision::Hour => step(MICROS_PER_HOUR)?,
            Precision::Minute => step(MICROS_PER_MIN)?,
            Precision::Second => step(1)?,
        };
        Ok((start, end))
    }

    /// 1-based day of the year, like cftime's `dayofyr` (360_day: 1..=360;
    /// in the standard calendar 1582-10-15 is day 278).
    pub fn day_of_year(&self, cal: Calendar) -> u32 {
        let a = cal.astro_year(self.year);
        let m = self.month.clamp(1, 12);
        (days_i128(cal, a, m, i128::from(self.day)) - days_i128(cal, a, 1, 1) + 1) as u32
    }

    /// Meteorological season: `"DJF"`, `"MAM"`, `"JJA"` or `"SON"` (empty
    /// string for an invalid month).
    pub fn season(&self) -> &'static str {
        match self.month {
            12 | 1 | 2 => "DJF",
            3..=5 => "MAM",
            6..=8 => "JJA",
            9..=11 => "SON",
            _ => "",
        }
    }

    /// Checks every field against the calendar.
    fn validate(&self, cal: Calendar) -> Result<(), String> {
        let name = cal.name();
        if cal.historical_years() && self.year == 0 {
            return Err(format!(
                "year 0 does not exist in the {name} calendar (year -1 is followed by year 1)"
            ));
        }
        if !(1..=12).contains(&self.month) {
            return Err(format!("month {} out of range 1..=12", self.month));
        }
        let len = cal.nominal_month_len(cal.astro_year(self.year), self.month);
        if self.day < 1 || self.day > len {
            return Err(format!(
                "day {} out of range for month {} of year {} in the {name} calendar ({len} days)",
                self.day, self.month, self.year
            ));
        }
        if cal == Calendar::Standard
            && (self.year, self.month) == (1582, 10)
            && (5..=14).contains(&self.day)
        {
            return Err(format!(
                "1582-10-{:02} does not exist in the standard calendar (1582-10-04 is followed by 1582-10-15)",
                self.day
            ));
        }
        if self.hour > 23 || self.minute > 59 || self.second > 59 || self.micro > 999_999 {
            return Err(format!(
                "time of day {:02}:{:02}:{:02}.{:06} out of range",
                self.hour, self.minute, self.second, self.micro
            ));
        }
        Ok(())
    }

    /// Microseconds since 0001-01-01T00:00:00 of the calendar.
    fn to_micros(self, cal: Calendar) -> i128 {
        let a = cal.astro_year(self.year);
        days_i128(cal, a, self.month, i128::from(self.day)) * i128::from(MICROS_PER_DAY)
            + i128::from(self.hour) * i128::from(MICROS_PER_HOUR)
            + i128::from(self.minute) * i128::from(MICROS_PER_MIN)
            + i128::from(self.second) * i128::from(MICROS_PER_SEC)
            + i128::from(self.micro)
    }

    /// Inverse of [`DateTime::to_micros`].
    fn from_micros(cal: Calendar, t: i128) -> Result<DateTime, String> {
        let (a, month, day) = civil_i128(cal, t.div_euclid(i128::from(MICROS_PER_DAY)));
        let year = i64::try_from(cal.year_from_astro(a))
            .map_err(|_| "date out of range (year does not fit in i64)".to_string())?;
        let r = t.rem_euclid(i128::from(MICROS_PER_DAY)) as i64;
        Ok(DateTime {
            year,
            month,
            day,
            hour: (r / MICROS_PER_HOUR) as u32,
            minute: (r % MICROS_PER_HOUR / MICROS_PER_MIN) as u32,
            second: (r % MICROS_PER_MIN / MICROS_PER_SEC) as u32,
            micro: (r % MICROS_PER_SEC) as u32,
        })
    }
}

/// Decoded CF time units `"<unit> since <reference date>"` plus calendar.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TimeUnits {
    /// Length of one unit in microseconds (e.g. 86_400_000_000 for days).
    pub unit_micros: i64,
    /// The reference date ("since ...").
    pub epoch: DateTime,
    /// The calendar the values are counted in.
    pub calendar: Calendar,
}

/// Microseconds per unit for a CF unit name; errors name the units string.
fn unit_micros_for(unit: &str, cal: Calendar, units: &str) -> Result<i64, String> {
    match unit.to_ascii_lowercase().as_str() {
        "days" | "day" | "d" => Ok(MICROS_PER_DAY),
        "hours" | "hour" | "hrs" | "hr" | "h" => Ok(MICROS_PER_HOUR),
        "minutes" | "minute" | "mins" | "min" => Ok(MICROS_PER_MIN),
        "seconds" | "second" | "secs" | "sec" | "s" => Ok(MICROS_PER_SEC),
        "milliseconds" | "millisecond" | "msecs" | "msec" | "ms" => Ok(1_000),
        "microseconds" | "microsecond" | "usecs" | "usec" | "us" => Ok(1),
        "months" | "month" if cal == Calendar::Day360 => Ok(30 * MICROS_PER_DAY),
        "common_years" | "common_year" if cal == Calendar::NoLeap => Ok(365 * MICROS_PER_DAY),
        "months" | "month" | "years" | "year" | "yrs" | "yr" => Err(format!(
            "unsupported time unit '{unit}' in '{units}': calendar months and years vary in length \
             (UDUNITS defines them as fractions of a mean tropical year), so they are ambiguous in CF; \
             'months since' is only supported for the 360_day calendar"
        )),
        _ => Err(format!(
            "unknown time unit '{unit}' in '{units}' (expected days, hours, minutes, seconds, \
             milliseconds or microseconds)"
        )),
    }
}

impl TimeUnits {
    /// Parses a CF `units` attribute such as `"days since 1800-1-1"`,
    /// `"hours since 1-1-1 00:00:0.0"` or `"days since 1970-01-01T00:00:00Z"`
    /// (unit names case-insensitive). `calendar` is the `calendar` attribute;
    /// `None` or an empty string means `standard`.
    pub fn parse(units: &str, calendar: Option<&str>) -> Result<TimeUnits, String> {
        let calendar = match calendar {
            Some(c) if !c.trim().is_empty() => Calendar::parse(c)?,
            _ => Calendar::Standard,
        };
        let bad =
            || format!("invalid time units '{units}' (expected '<unit> since <reference date>')");
        let (unit, rest) = units
            .trim()
            .split_once(char::is_whitespace)
            .ok_or_else(bad)?;
        let (since, date) = match rest.trim_start().split_once(char::is_whitespace) {
            Some((kw, d)) => (kw, d.trim()),
            None => (rest.trim(), ""),
        };
        if !since.eq_ignore_ascii_case("since") {
            return Err(format!("{}: missing 'since'", bad()));
        }
        if date.is_empty() {
            return Err(format!("{}: missing reference date", bad()));
        }
        let unit_micros = unit_micros_for(unit, calendar, units)?;
        let epoch = DateTime::parse(date, calendar)
            .map_err(|e| format!("bad reference date in time units '{units}': {e}"))?;
        Ok(TimeUnits {
            unit_micros,
            epoch,
            calendar,
        })
    }

    /// Converts a stored value (in units) to a date: the integer part is
    /// multiplied exactly, the fractional part rounded to the nearest
    /// microsecond, and the sum added to the epoch. NaN/inf are errors.
    pub fn decode(&self, value: f64) -> Result<DateTime, String> {
        if !value.is_finite() {
            return Err(format!("cannot decode non-finite time value {value}"));
        }
        if self.unit_micros <= 0 {
            return Err(format!("invalid time unit length {} µs", self.unit_micros));
        }
        let whole = value.trunc();
        if whole.abs() >= 9.0e18 {
            return Err(format!("time value {value} is out of range"));
        }
        let unit = i128::from(self.unit_micros);
        let frac = ((value - whole) * self.unit_micros as f64).round_ties_even() as i128;
        let offset = (whole as i64 as i128)
            .checked_mul(unit)
            .and_then(|x| x.checked_add(frac))
            .and_then(|x| x.checked_add(self.epoch.to_micros(self.calendar)))
            .ok_or_else(|| format!("time value {value} is out of range"))?;
        DateTime::from_micros(self.calendar, offset)
            .map_err(|e| format!("cannot decode time value {value}: {e}"))
    }

    /// Converts a date to a value in these units (inverse of
    /// [`TimeUnits::decode`]); errors if the date is invalid in the calendar.
    pub fn encode(&self, t: &DateTime) -> Result<f64, String> {
        t.validate(self.calendar)
            .map_err(|e| format!("cannot encode {}: {e}", t.iso()))?;
        if self.unit_micros <= 0 {
            return Err(format!("invalid time unit length {} µs", self.unit_micros));
        }
        let unit = i128::from(self.unit_micros);
        let diff = t.to_micros(self.calendar) - self.epoch.to_micros(self.calendar);
        Ok(diff.div_euclid(unit) as f64 + diff.rem_euclid(unit) as f64 / unit as f64)
    }

    /// Canonical units string, e.g. `"days since 2000-01-01 00:00:00"`. A unit
    /// length that matches no named unit is written as `"<n> microseconds"`.
    pub fn to_cf_string(&self) -> String {
        let unit = match (self.unit_micros, self.calendar) {
            (MICROS_PER_DAY, _) => "days".to_string(),
            (MICROS_PER_HOUR, _) => "hours".to_string(),
            (MICROS_PER_MIN, _) => "minutes".to_string(),
            (MICROS_PER_SEC, _) => "seconds".to_string(),
            (1_000, _) => "milliseconds".to_string(),
            (1, _) => "microseconds".to_string(),
            (u, Calendar::Day360) if u == 30 * MICROS_PER_DAY => "months".to_string(),
            (u, Calendar::NoLeap) if u == 365 * MICROS_PER_DAY => "common_years".to_string(),
            (u, _) => format!("{u} microseconds"),
        };
        format!("{unit} since {}", self.epoch.iso().replacen('T', " ", 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Calendar::*;

    const ALL: [Calendar; 6] = [
        Standard,
        ProlepticGregorian,
        NoLeap,
        AllLeap,
        Day360,
        Julian,
    ];

    fn tu(units: &str, cal: &str) -> TimeUnits {
        TimeUnits::parse(units, Some(cal)).expect("valid units")
    }

    fn d(y: i64, m: u32, dd: u32) -> DateTime {
        DateTime::ymd(y, m, dd)
    }

    fn err_has<T: std::fmt::Debug>(r: Result<T, String>, needles: &[&str]) {
        let e = r.expect_err("expected an error");
        assert!(needles.iter().all(|n| e.contains(n)), "{e}");
    }

    #[test]
    fn calendar_names() {
        assert_eq!(Calendar::parse("Gregorian"), Ok(Standard));
        assert_eq!(Calendar::parse(" 365_DAY "), Ok(NoLeap));
        assert_eq!(Calendar::parse("366_day"), Ok(AllLeap));
        for c in ALL {
            assert_eq!(Calendar::parse(c.name()), Ok(c));
        }
        let want = "unknown calendar 'xyz' (expected one of standard, gregorian, \
                    proleptic_gregorian, noleap, 365_day, all_leap, 366_day, 360_day, julian)";
        assert_eq!(Calendar::parse("xyz"), Err(want.to_string()));
        let u = TimeUnits::parse("days since 2000-01-01", None);
        assert_eq!(u.map(|u| u.calendar), Ok(Standard));
    }

    #[test]
    fn known_values() {
        let u = tu("days since 1970-01-01", "standard");
        for (v, t) in [
            (0.0, d(1970, 1, 1)),
            (31.0, d(1970, 2, 1)),
            (59.0, d(1970, 3, 1)),
        ] {
            assert_eq!(u.decode(v), Ok(t));
        }
        let cases = [
            ("hours since 1970-01-01", "360_day", 8640.0, d(1971, 1, 1)),
            ("days since 2000-01-01", "noleap", 365.0, d(2001, 1, 1)),
            ("days since 2001-01-01", "all_leap", 366.0, d(2002, 1, 1)),
            ("months since 2000-01-01", "360_day", 14.0, d(2001, 3, 1)),
            (
                "common_years since 2000-01-01",
                "noleap",
                2.0,
                d(2002, 1, 1),
            ),
        ];
        for (units, cal, v, t) in cases {
            assert_eq!(tu(units, cal).decode(v), Ok(t), "{units} {cal}");
        }
        let s360 = tu("seconds since 1900-01-01", "360_day");
        let v = (3.0 * 360.0 + 30.0) * 86400.0 + 3661.5;
        let want = DateTime {
            micro: 500_000,
            ..d(1903, 2, 1).at(1, 1, 1)
        };
        assert_eq!(s360.decode(v), Ok(want));
        assert_eq!(s360.encode(&want), Ok(v));
        // Python date(1970,1,1).toordinal() - 1 == 719162; the Julian
        // 0001-01-01 is two days before the Gregorian one.
        assert_eq!(days_from_civil(ProlepticGregorian, 1970, 1, 1), 719_162);
        assert_eq!(days_from_civil(Standard, 1970, 1, 1), 719_164);
        assert_eq!(days_from_civil(Julian, 1, 1, 1), 0);
        assert_eq!(
            days_from_civil(NoLeap, 2000, 13, 0),
            days_from_civil(NoLeap, 2000, 12, 31)
        );
    }

    #[test]
    fn gregorian_switch_1582() {
        let u = tu("days since 1582-10-04", "standard");
        assert_eq!(u.decode(1.0), Ok(d(1582, 10, 15)));
        assert_eq!(u.encode(&d(1582, 10, 15)), Ok(1.0));
        let p = tu("days since 1582-10-04", "proleptic_gregorian");
        assert_eq!(p.decode(1.0), Ok(d(1582, 10, 5)));
        assert!(DateTime::parse("1582-10-05", ProlepticGregorian).is_ok());
        err_has(
            DateTime::parse("1582-10-10", Standard),
            &["1582-10-10", "does not exist"],
        );
        assert_eq!(Standard.days_in_month(1582, 10), 21);
        assert_eq!(Standard.days_in_year(1582), 355);
        assert_eq!(Standard.days_in_year(1500), 366); // Julian leap rule before 1582
        assert_eq!(Standard.days_in_year(1700), 365);
    }

    #[test]
    fn cftime_hours_since_year_one() {
        // cftime.date2num(DatetimeGregorian(1948,1,1), 'hours since 1-1-1 00:00:0.0',
        // 'gregorian') == 17067072.0. Cross-check with Julian Day Numbers: Julian
        // 0001-01-01 is JDN 1721424, Gregorian 1948-01-01 is JDN 2432552; the
        // difference is 711128 days = 17067072 hours.
        let u = tu("hours since 1-1-1 00:00:0.0", "gregorian");
        assert_eq!(u.epoch, d(1, 1, 1));
        assert_eq!(u.encode(&d(1948, 1, 1)), Ok(17_067_072.0));
        assert_eq!(u.decode(17_067_072.0), Ok(d(1948, 1, 1)));
        assert_eq!(
            u.decode(17_067_072.0 + 750.0),
            Ok(d(1948, 2, 1).at(6, 0, 0))
        );
    }

    #[test]
    fn day_numbers_are_contiguous() {
        let windows = [
            (-800_000, -790_000),
            (-2_000, 2_000),
            (577_000, 578_500),
            (719_000, 730_000),
        ];
        for cal in ALL {
            for (lo, hi) in windows {
                let mut prev = None;
                for n in lo..hi {
                    let (y, m, dd) = civil_from_days(cal, n);
                    let t = d(y, m, dd);
                    assert_eq!(t.validate(cal), Ok(()), "{cal:?} day {n}");
                    assert_eq!(days_from_civil(cal, y, m, dd), n, "{cal:?} {t:?}");
                    assert!(prev < Some(t), "{cal:?}: {t:?} after {prev:?}");
                    prev = Some(t);
                }
            }
            for y in [-5, -1, 1, 4, 1582, 1900, 2000, 2001] {
                let total: u32 = (1..=12).map(|m| cal.days_in_month(y, m)).sum();
                assert_eq!(total, cal.days_in_year(y), "{cal:?} {y}");
            }
        }
    }

    #[test]
    fn decode_encode_round_trips() {
        let units = [
            "days",
            "hours",
            "minutes",
            "seconds",
            "milliseconds",
            "microseconds",
        ];
        let epochs = [
            "1-1-1 00:00:0.0",
            "1850-01-01",
            "1970-01-01T00:00:00Z",
            "2000-02-29 12:30",
        ];
        let day = i128::from(MICROS_PER_DAY);
        for cal in ALL {
            for unit in units {
                for epoch in epochs {
                    let Ok(u) =
                        TimeUnits::parse(&format!("{unit} since {epoch}"), Some(cal.name()))
                    else {
                        assert_eq!((cal, epoch), (NoLeap, "2000-02-29 12:30"));
                        continue;
                    };
                    let base = u.epoch.to_micros(cal);
                    let unit_us = i128::from(u.unit_micros);
                    let step = if unit_us >= 1_000_000 {
                        unit_us / 4
                    } else {
                        1_000_000
                    };
                    for k in -150..150i128 {
                        // Near the epoch every microsecond is representable in f64.
                        let near = base + k * 1_234_567_890_123 % (3 * 365 * day);
                        // Centuries away only a coarser grid is (53-bit mantissa, as
                        // in cftime), so stay on multiples of unit/4 or 1 s.
                        let far = base + k * 2_711 * day + k.rem_euclid(4) * step;
                        for t in [near, far] {
                            let t = DateTime::from_micros(cal, t).expect("in range");
                            let v = u.encode(&t).expect("encodes");
                            assert_eq!(u.decode(v), Ok(t), "{cal:?} {unit} since {epoch}: {v}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn units_parsing_and_errors() {
        for (s, micros) in [
            ("days since 1800-1-1", MICROS_PER_DAY),
            ("Hours Since 1-1-1 00:00:0.0", MICROS_PER_HOUR),
            ("seconds since 1900-01-01 00:00:00", MICROS_PER_SEC),
            ("d since 1970-01-01T00:00:00Z", MICROS_PER_DAY),
            ("min since 1970-01-01 00:00:00 UTC", MICROS_PER_MIN),
            ("ms since 1970-01-01 00:00:00+00:00", 1_000),
            ("us since 1970-01-01T00:00:00+0000", 1),
        ] {
            assert_eq!(
                TimeUnits::parse(s, None).map(|u| u.unit_micros),
                Ok(micros),
                "{s}"
            );
        }
        let cf = tu("days since 1800-1-1", "noleap").to_cf_string();
        assert_eq!(cf, "days since 1800-01-01 00:00:00");
        let p = |s: &str, c: &str| TimeUnits::parse(s, Some(c));
        err_has(
            p("fortnights since 2000-01-01", "standard"),
            &["'fortnights'"],
        );
        err_has(p("days 2000-01-01", "standard"), &["missing 'since'"]);
        err_has(p("days", "standard"), &["'days'"]);
        err_has(p("days since", "standard"), &["reference date"]);
        err_has(
            p("days since 2013-13-01", "standard"),
            &["2013-13-01", "month 13"],
        );
        err_has(
            p("months since 2000-01-01", "noleap"),
            &["'months'", "360_day"],
        );
        err_has(p("years since 2000-01-01", "360_day"), &["'years'"]);
        err_has(p("days since 2000-01-01", "lunar"), &["'lunar'"]);
        err_has(
            p("days since 2000-01-01 00:00 -05:00", "standard"),
            &["'-05:00'"],
        );
        let u = tu("days since 2000-01-01", "standard");
        err_has(u.decode(f64::NAN), &["NaN"]);
        err_has(u.decode(f64::INFINITY), &["inf"]);
        err_has(u.decode(1e300), &["out of range"]);
        err_has(u.encode(&d(2001, 2, 29)), &["2001-02-29"]);
    }

    #[test]
    fn date_parsing() {
        let p = |s: &str| DateTime::parse(s, Standard);
        assert_eq!(p("2013-1-1"), Ok(d(2013, 1, 1)));
        assert_eq!(p("2013-01-01 06:00"), Ok(d(2013, 1, 1).at(6, 0, 0)));
        assert_eq!(p("2013-01-01T06:00:00"), Ok(d(2013, 1, 1).at(6, 0, 0)));
        assert_eq!(p("2013-01-01 00:00:00.5").map(|t| t.micro), Ok(500_000));
        assert!(DateTime::parse("2013-02-30", Day360).is_ok());
        err_has(p("2013-02-30"), &["day 30", "2013-02-30"]);
        err_has(p("2013-13-01"), &["'2013-13-01'"]);
        err_has(p("2013"), &["incomplete"]);
        err_has(p("2013-01-xx"), &["'xx'"]);
        err_has(p("2013-01-01 25:00"), &["out of range"]);
        err_has(p(""), &["empty"]);
        assert!(p("2013-01-01\u{3000}06").is_err());
        // Year zero: absent in standard/julian (cftime 1.6 default), present elsewhere.
        err_has(p("0000-01-01"), &["year 0"]);
        assert_eq!(
            DateTime::parse("0-01-01", ProlepticGregorian),
            Ok(d(0, 1, 1))
        );
        assert_eq!(civil_from_days(Julian, -1), (-1, 12, 31));
        assert_eq!(Julian.days_in_year(-1), 366); // 1 BC is a leap year
        assert_eq!(DateTime::parse("-0001-02-29", Julian), Ok(d(-1, 2, 29)));
    }

    #[test]
    fn partial_string_ranges() {
        let r = |s: &str, c| DateTime::parse_range(s, c).expect("valid range");
        assert_eq!(r("2013", Standard), (d(2013, 1, 1), d(2014, 1, 1)));
        assert_eq!(r("2013-06", Standard), (d(2013, 6, 1), d(2013, 7, 1)));
        assert_eq!(r("2013-12", Standard), (d(2013, 12, 1), d(2014, 1, 1)));
        assert_eq!(r("2013-06-30", Standard), (d(2013, 6, 30), d(2013, 7, 1)));
        let h = d(2013, 6, 30).at(6, 0, 0);
        assert_eq!(
            r("2013-06-30T06", Standard),
            (h, d(2013, 6, 30).at(7, 0, 0))
        );
        assert_eq!(r("2013-06-30 23:59", Standard).1, d(2013, 7, 1));
        assert_eq!(
            r("2013-06-30T06:00:00", Standard).1,
            DateTime { micro: 1, ..h }
        );
        assert_eq!(r("2013-02-30", Day360).1, d(2013, 3, 1));
        assert_eq!(r("1582-10-04", Standard).1, d(1582, 10, 15));
        assert_eq!(r("-1", Julian).1, d(1, 1, 1));
        err_has(
            DateTime::parse_range("2013-06-31", Standard),
            &["2013-06-31"],
        );
    }

    #[test]
    fn day_of_year_season_iso() {
        let cases = [
            (d(2000, 3, 1), Standard, 61),
            (d(2001, 3, 1), Standard, 60),
            (d(2000, 12, 31), Standard, 366),
            (d(2000, 3, 1), NoLeap, 60),
            (d(2001, 3, 1), AllLeap, 61),
            (d(2000, 12, 30), Day360, 360),
            (d(2000, 2, 30), Day360, 60),
            (d(1582, 10, 15), Standard, 278),
            (d(1582, 12, 31), Standard, 355),
        ];
        for (t, cal, want) in cases {
            assert_eq!(t.day_of_year(cal), want, "{t:?} {cal:?}");
        }
        let seasons: Vec<&str> = (1..=12).map(|m| d(2000, m, 1).season()).collect();
        assert_eq!(
            seasons.join(","),
            "DJF,DJF,MAM,MAM,MAM,JJA,JJA,JJA,SON,SON,SON,DJF"
        );
        assert_eq!(d(1, 1, 1).iso(), "0001-01-01T00:00:00");
        let t = d(2013, 1, 1).at(6, 5, 4);
        assert_eq!(t.iso(), "2013-01-01T06:05:04");
        assert_eq!(
            DateTime { micro: 5, ..t }.iso(),
            "2013-01-01T06:05:04.000005"
        );
        assert_eq!(d(-44, 3, 15).iso(), "-0044-03-15T00:00:00");
        assert_eq!(d(12345, 1, 1).iso(), "12345-01-01T00:00:00");
    }
}
