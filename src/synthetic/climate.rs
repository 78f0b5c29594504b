//! A synthetic daily climate file: `tessera gen climate`.
//!
//! Tessera's benchmarks and examples, and the Python peer benchmarks they are compared with,
//! need a large CF-compliant file that looks like model output: a daily near-surface air
//! temperature field on a global latitude-longitude grid, with a land-like mask of missing
//! values. This module writes one of any length and resolution, reproducibly from a seed,
//! without downloading anything.
//!
//! # What the file holds
//!
//! One float32 variable (`tas` by default) with dimensions `(time, lat, lon)`, and three
//! float64 coordinates, laid out as `benches/peer/make_climate_file.py` lays them out:
//!
//! - `time`: `0, 1, 2, ...` in `days since <start> 00:00:00`, in the chosen CF calendar;
//! - `lat`: cell centres from `90 - g/2` down to `-90 + g/2` (north to south, as many models
//!   store them) for a grid spacing of `g` degrees;
//! - `lon`: cell centres from `g/2` up to `360 - g/2`.
//!
//! Each value, in kelvin, is
//!
//! ```text
//! 273.15 + 30 cos(lat) + 10 sin(2 pi (day_of_year / year_length - 105 / 365.25)) * hemisphere
//!        + N(0, 2)
//! ```
//!
//! where `hemisphere` is `+1` north of the equator, `-1` south of it and `0` on it (so the
//! seasons are opposite and the northern summer peaks in mid-July), and the day of the year
//! follows the calendar (`360_day`: 360-day years; `noleap`: 365; `standard`: the mixed
//! Julian/Gregorian calendar with its leap years). A fixed set of grid cells, about
//! `fill_fraction` of them and the same cells every day, holds `_FillValue = 1e20`.
//!
//! The noise (Box-Muller on splitmix64 output) and the mask come from a counter-based
//! generator: every value is a function of the seed and of the element's position in the
//! whole array only. A file therefore has the same values whatever its chunk shape, and any
//! part of it can be recomputed on its own.
//!
//! # How it is written
//!
//! NetCDF-4 (any extension but `.h5`/`.hdf5`) or plain HDF5, one slab of whole on-disk
//! chunks at a time (at most about 128 MiB, or one chunk if that is larger), so memory stays
//! bounded however many days are asked for. The calling thread computes the next slab in
//! parallel (rayon) while a writer thread hands the current one to the file library, which
//! serialises all its calls anyway. The file is written under a temporary name beside the
//! target and renamed over it only when complete, so a failed run leaves no partial file.

use anyhow::{anyhow, bail, Context, Result};
use rayon::prelude::*;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// `_FillValue` of the generated variable, as in CMIP model output.
const FILL_VALUE: f32 = 1e20;
/// The field's value at the poles before the season and the noise: 0 degC, in kelvin.
const BASE_K: f64 = 273.15;
/// Amplitude of the `cos(lat)` warm-tropics term, in kelvin.
const EQUATOR_TO_POLE_K: f64 = 30.0;
/// Amplitude of the seasonal cycle, in kelvin.
const SEASON_K: f64 = 10.0;
/// Fraction of the year at which the northern seasonal anomaly turns positive (mid-April),
/// which puts the northern summer peak in mid-July.
const SEASON_ZERO_CROSSING: f64 = 105.0 / 365.25;
/// Standard deviation of the day-to-day noise, in kelvin.
const NOISE_K: f64 = 2.0;
/// Default on-disk chunk shape (time, lat, lon); 73 days divides a 365-day year.
const DEFAULT_CHUNKS: [usize; 3] = [73, 90, 180];
/// Upper bound on the values generated and handed to the file library at once (the slab
/// holds at least one whole chunk, whatever its size).
const MAX_SLAB_BYTES: usize = 128 << 20;
/// HDF5 rejects chunks of 4 GiB or more.
const MAX_CHUNK_BYTES: usize = (1 << 32) - 1;
/// Names the coordinates take, which the data variable may not.
const COORDINATE_NAMES: [&str; 3] = ["time", "lat", "lon"];

/// What to generate: see the [module documentation](self) for the value model.
#[derive(Debug, Clone)]
pub struct ClimateSpec {
    /// Number of daily time steps, at least 1.
    pub days: usize,
    /// Grid spacing in degrees, the same in latitude and longitude; it must divide 180
    /// evenly (0.5 gives 360 latitudes x 720 longitudes).
    pub grid_degrees: f64,
    /// Date of the first time step, `YYYY-MM-DD`, valid in `calendar`.
    pub start: String,
    /// CF calendar: `standard` (alias `gregorian`), `noleap` (alias `365_day`) or `360_day`.
    pub calendar: String,
    /// Seed of the noise and of the fill mask; the same seed gives the same file contents.
    pub seed: u64,
    /// Name of the data variable (letters, digits and `_`, starting with a letter).
    pub variable: String,
    /// On-disk chunk shape (time, lat, lon), clipped to the array's shape; `None` means
    /// `(73, 90, 180)` clipped likewise.
    pub chunks: Option<[usize; 3]>,
    /// Deflate level 1-9 for the data variable (with the shuffle filter); `None` or `Some(0)`
    /// writes it uncompressed.
    pub deflate: Option<u8>,
    /// Fraction of the grid cells, between 0 and 1, that hold `_FillValue` on every day.
    pub fill_fraction: f64,
}

impl Default for ClimateSpec {
    /// One standard year from 2000-01-01 on a 2-degree grid, seed 0, 2% of the cells masked.
    fn default() -> Self {
        Self {
            days: 365,
            grid_degrees: 2.0,
            start: "2000-01-01".to_string(),
            calendar: "standard".to_string(),
            seed: 0,
            variable: "tas".to_string(),
            chunks: None,
            deflate: None,
            fill_fraction: 0.02,
        }
    }
}

/// What [`climate`] wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GenSummary {
    /// The file written.
    pub path: PathBuf,
    /// Shape of the data variable: (time, lat, lon).
    pub shape: [usize; 3],
    /// Size of the file on disk, in bytes.
    pub bytes: u64,
    /// Wall time of the whole generation, in seconds.
    pub seconds: f64,
}

/// Writes the synthetic climate file `spec` describes to `path`: NetCDF-4, or plain HDF5
/// when the extension is `.h5` or `.hdf5`.
///
/// An existing `path` is an error unless `overwrite`. Invalid settings are reported before
/// anything is written, naming the offending value; on any error no file is left behind.
pub fn climate(path: &Path, spec: &ClimateSpec, overwrite: bool) -> Result<GenSummary> {
    write_climate(path, spec, overwrite, &Tuning::default())
}

/// Knobs that only tests turn.
#[derive(Debug, Clone)]
struct Tuning {
    /// Upper bound on the bytes of one slab (see [`MAX_SLAB_BYTES`]).
    max_slab_bytes: usize,
    /// Fail on purpose after writing this many slabs, to test the clean-up.
    fail_after_slabs: Option<usize>,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            max_slab_bytes: MAX_SLAB_BYTES,
            fail_after_slabs: None,
        }
    }
}

/// [`climate`], with the knobs tests turn.
fn write_climate(
    path: &Path,
    spec: &ClimateSpec,
    overwrite: bool,
    tuning: &Tuning,
) -> Result<GenSummary> {
    let started = Instant::now();
    let plan = Plan::from_spec(spec)?;
    check_target(path, overwrite)?;
    let temp = TempFile::beside(path)?;
    let format = FileFormat::of(path);
    generate_into(&plan, tuning, |feed| match format {
        FileFormat::NetCdf4 => write_netcdf(temp.path(), &plan, feed),
        FileFormat::Hdf5 => write_hdf5(temp.path(), &plan, feed),
    })
    .with_context(|| {
        format!(
            "{}: writing the climate file failed",
            crate::quote::path(path)
        )
    })?;
    temp.move_to(path, overwrite)?;
    let bytes = std::fs::metadata(path)
        .with_context(|| {
            format!(
                "{}: written but cannot be inspected",
                crate::quote::path(path)
            )
        })?
        .len();
    Ok(GenSummary {
        path: path.to_path_buf(),
        shape: [plan.days, plan.nlat, plan.nlon],
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

// ---------------------------------------------------------------------------------------
// Validated settings
// ---------------------------------------------------------------------------------------

/// A [`ClimateSpec`] checked and resolved into grid sizes, a calendar and chunk shape.
#[derive(Debug, Clone)]
struct Plan {
    days: usize,
    grid: f64,
    nlat: usize,
    nlon: usize,
    start: Date,
    calendar: Calendar,
    seed: u64,
    variable: String,
    chunks: [usize; 3],
    deflate: Option<u8>,
    fill_fraction: f64,
}

impl Plan {
    fn from_spec(spec: &ClimateSpec) -> Result<Self> {
        if spec.days == 0 {
            bail!("days must be at least 1 (got 0)");
        }
        let nlat = latitudes_for_grid(spec.grid_degrees)?;
        let nlon = 2 * nlat;
        let calendar = Calendar::parse(&spec.calendar)?;
        let start = Date::parse(&spec.start, calendar)?;
        check_variable_name(&spec.variable)?;
        check_fill_fraction(spec.fill_fraction)?;
        let deflate = deflate_level(spec.deflate)?;
        let shape = [spec.days, nlat, nlon];
        shape
            .iter()
            .try_fold(std::mem::size_of::<f32>(), |acc, &n| acc.checked_mul(n))
            .ok_or_else(|| {
                anyhow!(
                    "{} days on a {} degree grid is too large to address",
                    spec.days,
                    spec.grid_degrees
                )
            })?;
        let chunks = resolve_chunks(spec.chunks, shape)?;
        Ok(Self {
            days: spec.days,
            grid: spec.grid_degrees,
            nlat,
            nlon,
            start,
            calendar,
            seed: spec.seed,
            variable: spec.variable.clone(),
            chunks,
            deflate,
            fill_fraction: spec.fill_fraction,
        })
    }

    fn shape(&self) -> [usize; 3] {
        [self.days, self.nlat, self.nlon]
    }

    /// Latitudes of the cell centres, north to south.
    fn latitudes(&self) -> Vec<f64> {
        (0..self.nlat)
            .map(|i| 90.0 - (i as f64 + 0.5) * self.grid)
            .collect()
    }

    /// Longitudes of the cell centres, east from the prime meridian.
    fn longitudes(&self) -> Vec<f64> {
        (0..self.nlon)
            .map(|j| (j as f64 + 0.5) * self.grid)
            .collect()
    }

    /// The time coordinate: whole days since the start.
    fn times(&self) -> Vec<f64> {
        (0..self.days).map(|t| t as f64).collect()
    }

    fn time_units(&self) -> String {
        format!("days since {} 00:00:00", self.start)
    }

    /// The `history` attribute: when and how the file was made.
    fn history(&self) -> String {
        let mut command = format!(
            "{}: tessera gen climate --days {} --grid {} --start {} --calendar {} --seed {} \
             --variable {} --chunks {},{},{}",
            utc_timestamp(),
            self.days,
            self.grid,
            self.start,
            self.calendar.name(),
            self.seed,
            self.variable,
            self.chunks[0],
            self.chunks[1],
            self.chunks[2],
        );
        if let Some(level) = self.deflate {
            command.push_str(&format!(" --deflate {level}"));
        }
        command
    }
}

/// Number of latitudes of a `grid`-degree grid, if `grid` divides 180 evenly.
fn latitudes_for_grid(grid: f64) -> Result<usize> {
    if !(grid.is_finite() && grid > 0.0 && grid <= 180.0) {
        bail!("grid must be between 0 and 180 degrees (got {grid})");
    }
    let cells = 180.0 / grid;
    let whole = cells.round();
    if whole > f64::from(u32::MAX) {
        bail!("grid {grid} degrees is too fine ({cells:.0} latitudes)");
    }
    if (whole - cells).abs() > 1e-9 * cells.max(1.0) {
        bail!(
            "grid {grid} degrees does not divide 180 evenly (180 / {grid} = {cells:.4}); \
             use e.g. 0.25, 0.5, 1, 2 or 2.5"
        );
    }
    Ok(whole as usize)
}

/// A name both NetCDF and HDF5 take as it is, and not a coordinate's.
fn check_variable_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !starts_with_letter || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!(
            "variable name '{name}' must start with a letter and hold only letters, digits \
             and '_'"
        );
    }
    if COORDINATE_NAMES.contains(&name) {
        bail!("variable name '{name}' is taken by a coordinate; choose another");
    }
    Ok(())
}

/// The fraction of masked cells must be a number in `[0, 1]` (NaN is not).
fn check_fill_fraction(fraction: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&fraction) {
        bail!("fill fraction {fraction} must be between 0 and 1");
    }
    Ok(())
}

/// The deflate level to use, if any (`Some(0)` means none).
fn deflate_level(level: Option<u8>) -> Result<Option<u8>> {
    match level {
        None | Some(0) => Ok(None),
        Some(l @ 1..=9) => Ok(Some(l)),
        Some(l) => bail!("deflate level {l} is out of range (1-9)"),
    }
}

/// The on-disk chunk shape: the requested or default one, clipped to `shape`.
fn resolve_chunks(requested: Option<[usize; 3]>, shape: [usize; 3]) -> Result<[usize; 3]> {
    let wanted = requested.unwrap_or(DEFAULT_CHUNKS);
    if wanted.contains(&0) {
        bail!(
            "chunks {},{},{} must all be at least 1",
            wanted[0],
            wanted[1],
            wanted[2]
        );
    }
    let chunks = [
        wanted[0].min(shape[0]),
        wanted[1].min(shape[1]),
        wanted[2].min(shape[2]),
    ];
    let bytes = chunks
        .iter()
        .try_fold(std::mem::size_of::<f32>(), |acc, &n| acc.checked_mul(n));
    if bytes.is_none_or(|b| b > MAX_CHUNK_BYTES) {
        bail!(
            "chunks {},{},{} exceed the 4 GiB chunk size HDF5 allows",
            chunks[0],
            chunks[1],
            chunks[2]
        );
    }
    Ok(chunks)
}

// ---------------------------------------------------------------------------------------
// Calendars
// ---------------------------------------------------------------------------------------

/// The CF calendars the generator supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Calendar {
    /// Julian before 1582-10-15, Gregorian from then on (CF `standard`).
    Standard,
    /// 365 days every year (CF `noleap`).
    NoLeap,
    /// Twelve 30-day months (CF `360_day`).
    Day360,
}

/// Year, month and day of the last Julian date in the `standard` calendar; the next day is
/// 1582-10-15.
const LAST_JULIAN_DAY: (i32, u32, u32) = (1582, 10, 4);
/// Days the 1582 Gregorian reform skipped (1582-10-05 to 1582-10-14).
const REFORM_GAP_DAYS: u32 = 10;

impl Calendar {
    fn parse(name: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "standard" | "gregorian" => Ok(Self::Standard),
            "noleap" | "365_day" => Ok(Self::NoLeap),
            "360_day" => Ok(Self::Day360),
            _ => bail!("calendar '{name}' is not supported; use standard, noleap or 360_day"),
        }
    }

    /// The CF name written to the `calendar` attribute.
    fn name(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::NoLeap => "noleap",
            Self::Day360 => "360_day",
        }
    }

    fn is_leap_year(self, year: i32) -> bool {
        match self {
            Self::Standard if year < LAST_JULIAN_DAY.0 => year % 4 == 0,
            Self::Standard => year % 4 == 0 && (year % 100 != 0 || year % 400 == 0),
            Self::NoLeap | Self::Day360 => false,
        }
    }

    fn month_length(self, year: i32, month: u32) -> u32 {
        match (self, month) {
            (Self::Day360, _) => 30,
            (_, 2) if self.is_leap_year(year) => 29,
            (_, 2) => 28,
            (_, 4 | 6 | 9 | 11) => 30,
            _ => 31,
        }
    }

    fn year_length(self, year: i32) -> u32 {
        let days: u32 = (1..=12).map(|m| self.month_length(year, m)).sum();
        if self == Self::Standard && year == LAST_JULIAN_DAY.0 {
            days - REFORM_GAP_DAYS
        } else {
            days
        }
    }

    /// Whether the day falls in the 1582 reform gap, which the `standard` calendar skips.
    fn skips(self, year: i32, month: u32, day: u32) -> bool {
        self == Self::Standard
            && (year, month) == (LAST_JULIAN_DAY.0, LAST_JULIAN_DAY.1)
            && day > LAST_JULIAN_DAY.2
            && day <= LAST_JULIAN_DAY.2 + REFORM_GAP_DAYS
    }
}

/// A calendar date, valid in the calendar it was made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Date {
    year: i32,
    month: u32,
    day: u32,
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Date {
    /// Parses `YYYY-MM-DD` (year 1 to 9999) and checks the date exists in `calendar`.
    fn parse(text: &str, calendar: Calendar) -> Result<Self> {
        let bad = |why: String| anyhow!("start date '{text}' is not valid: {why}");
        let parts: Vec<&str> = text.trim().split('-').collect();
        let [year, month, day] = parts.as_slice() else {
            return Err(bad("expected YYYY-MM-DD".to_string()));
        };
        let (Some(year), Some(month), Some(day)) =
            (small_number(year), small_number(month), small_number(day))
        else {
            return Err(bad("expected YYYY-MM-DD".to_string()));
        };
        if !(1..=9999).contains(&year) {
            return Err(bad(format!("year {year} is outside 1-9999")));
        }
        let year = year as i32;
        if !(1..=12).contains(&month) {
            return Err(bad(format!("month {month} does not exist")));
        }
        let last = calendar.month_length(year, month);
        if !(1..=last).contains(&day) {
            return Err(bad(format!(
                "day {day} does not exist in month {month} of {year} in the {} calendar",
                calendar.name()
            )));
        }
        if calendar.skips(year, month, day) {
            return Err(bad(
                "the standard calendar goes from 1582-10-04 straight to 1582-10-15".to_string(),
            ));
        }
        Ok(Self { year, month, day })
    }

    /// Days since the first of January of the same year (0-based).
    fn day_of_year(self, calendar: Calendar) -> u32 {
        let before: u32 = (1..self.month)
            .map(|m| calendar.month_length(self.year, m))
            .sum();
        let after_reform = (self.year, self.month, self.day) > LAST_JULIAN_DAY;
        let skipped =
            if calendar == Calendar::Standard && self.year == LAST_JULIAN_DAY.0 && after_reform {
                REFORM_GAP_DAYS
            } else {
                0
            };
        before + self.day - 1 - skipped
    }

    /// The next day in `calendar`.
    fn next(self, calendar: Calendar) -> Self {
        if calendar == Calendar::Standard && (self.year, self.month, self.day) == LAST_JULIAN_DAY {
            return Self {
                day: self.day + REFORM_GAP_DAYS + 1,
                ..self
            };
        }
        if self.day < calendar.month_length(self.year, self.month) {
            Self {
                day: self.day + 1,
                ..self
            }
        } else if self.month < 12 {
            Self {
                month: self.month + 1,
                day: 1,
                ..self
            }
        } else {
            Self {
                year: self.year + 1,
                month: 1,
                day: 1,
            }
        }
    }
}

/// The value of one to four ASCII digits (the parts of `YYYY-MM-DD`, leniently sized).
fn small_number(part: &str) -> Option<u32> {
    let digits = (1..=4).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| part.parse().ok()).flatten()
}

/// Walks the calendar one day at a time and gives each day's seasonal anomaly.
struct SeasonClock {
    date: Date,
    calendar: Calendar,
}

impl SeasonClock {
    fn new(start: Date, calendar: Calendar) -> Self {
        Self {
            date: start,
            calendar,
        }
    }

    /// The northern-hemisphere seasonal anomaly of the current day, then moves to the next.
    fn next_anomaly(&mut self) -> f64 {
        let year_fraction = f64::from(self.date.day_of_year(self.calendar))
            / f64::from(self.calendar.year_length(self.date.year));
        self.date = self.date.next(self.calendar);
        seasonal_anomaly(year_fraction)
    }

    /// The anomalies of the next `days` days.
    fn take(&mut self, days: usize) -> Vec<f64> {
        (0..days).map(|_| self.next_anomaly()).collect()
    }
}

/// Northern-hemisphere seasonal anomaly (K) at a fraction of the year in `[0, 1)`.
fn seasonal_anomaly(year_fraction: f64) -> f64 {
    SEASON_K * (std::f64::consts::TAU * (year_fraction - SEASON_ZERO_CROSSING)).sin()
}

/// The current UTC time as `YYYY-MM-DDThh:mm:ssZ`, for the `history` attribute.
fn utc_timestamp() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let date = gregorian_date_after_epoch(seconds / 86_400);
    let in_day = seconds % 86_400;
    format!(
        "{date}T{:02}:{:02}:{:02}Z",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60
    )
}

/// The Gregorian date `days` days after 1970-01-01.
fn gregorian_date_after_epoch(days: u64) -> Date {
    let calendar = Calendar::Standard;
    let mut left = days;
    let mut year = 1970;
    while left >= u64::from(calendar.year_length(year)) {
        left -= u64::from(calendar.year_length(year));
        year += 1;
    }
    let mut month = 1;
    while left >= u64::from(calendar.month_length(year, month)) {
        left -= u64::from(calendar.month_length(year, month));
        month += 1;
    }
    Date {
        year,
        month,
        day: left as u32 + 1,
    }
}

// ---------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------

/// Golden-ratio increment of the splitmix64 sequence.
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
/// Tags that give the noise and the mask independent streams from one seed.
const NOISE_STREAM: u64 = 0x6E6F_6973_6520_7461; // "noise ta"
const MASK_STREAM: u64 = 0x6D61_736B_2063_656C; // "mask cel"

/// The splitmix64 output function: a bijective mix of the 64 bits of `z`.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Element `counter` of the splitmix64 sequence started at `key`: random access to a
/// stream of independent-looking 64-bit numbers.
fn stream_bits(key: u64, counter: u64) -> u64 {
    mix64(key.wrapping_add(counter.wrapping_add(1).wrapping_mul(GOLDEN_GAMMA)))
}

/// A uniform number in `[0, 1)` from the top 53 bits of `bits`.
fn unit_interval(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Pair `pair` of independent standard normal numbers of the stream `key`, by the
/// Box-Muller transform of one 64-bit draw: 32 bits for the radius, 32 for the angle.
/// The radius stays below 6.7 (a 32-bit uniform is never below 2^-32): the tail beyond
/// it holds a fraction 3e-11 of a true normal, of no consequence for test data.
fn gaussian_pair(key: u64, pair: u64) -> (f64, f64) {
    let bits = stream_bits(key, pair);
    // In (0, 1], so the logarithm is finite.
    let radius_uniform = (f64::from((bits >> 32) as u32) + 1.0) * (1.0 / 4_294_967_296.0);
    let radius = (-2.0 * radius_uniform.ln()).sqrt();
    let (sin, cos) = sin_cos_of_turn_fraction(bits as u32);
    (radius * cos, radius * sin)
}

/// Sine and cosine of the angle `2 pi * turn / 2^32`, without branches: the top two bits
/// pick the quadrant, and polynomials give the sine and cosine within it (error < 1e-9).
/// Faster than `f64::sin_cos`, and the same on every platform.
fn sin_cos_of_turn_fraction(turn: u32) -> (f64, f64) {
    const QUARTER_TURN_BITS: f64 = (1u64 << 30) as f64;
    let quadrant = (turn >> 30) as usize;
    let x = f64::from(turn & 0x3FFF_FFFF) * (std::f64::consts::FRAC_PI_2 / QUARTER_TURN_BITS);
    let (s, c) = (sin_first_quadrant(x), cos_first_quadrant(x));
    // Turning by a quarter maps (sin, cos) to (cos, -sin).
    let (sin, cos) = if quadrant & 1 == 1 { (c, s) } else { (s, c) };
    const SIGNS: [(f64, f64); 4] = [(1.0, 1.0), (1.0, -1.0), (-1.0, -1.0), (-1.0, 1.0)];
    let (sin_sign, cos_sign) = SIGNS[quadrant & 3];
    (sin * sin_sign, cos * cos_sign)
}

/// `1/3!, 1/5!, ..., 1/13!`: the Taylor coefficients of `sin(x)/x` in `x^2`, up to sign.
const SIN_TAYLOR: [f64; 6] = [
    1.0 / 6.0,
    1.0 / 120.0,
    1.0 / 5_040.0,
    1.0 / 362_880.0,
    1.0 / 39_916_800.0,
    1.0 / 6_227_020_800.0,
];
/// `1/2!, 1/4!, ..., 1/14!`: the Taylor coefficients of `cos(x)` in `x^2`, up to sign.
const COS_TAYLOR: [f64; 7] = [
    1.0 / 2.0,
    1.0 / 24.0,
    1.0 / 720.0,
    1.0 / 40_320.0,
    1.0 / 3_628_800.0,
    1.0 / 479_001_600.0,
    1.0 / 87_178_291_200.0,
];

/// `1 - c[0] y + c[1] y^2 - c[2] y^3 + ...` by Horner's rule.
fn alternating_series(coefficients: &[f64], y: f64) -> f64 {
    let tail = coefficients.iter().rev().fold(0.0, |acc, &c| c - y * acc);
    1.0 - y * tail
}

/// `sin(x)` for `x` in `[0, pi/2]`, from its Taylor series to `x^13` (error < 1e-9).
fn sin_first_quadrant(x: f64) -> f64 {
    x * alternating_series(&SIN_TAYLOR, x * x)
}

/// `cos(x)` for `x` in `[0, pi/2]`, from its Taylor series to `x^14` (error < 1e-10).
fn cos_first_quadrant(x: f64) -> f64 {
    alternating_series(&COS_TAYLOR, x * x)
}

/// The time-independent parts of the field and the keys of its random streams.
struct Field {
    nlat: usize,
    nlon: usize,
    /// `273.15 + 30 cos(lat)` per latitude row.
    base: Vec<f64>,
    /// `+1`, `-1` or `0`: sign of the seasonal anomaly per latitude row.
    hemisphere: Vec<f64>,
    noise_key: u64,
    mask_key: u64,
    fill_fraction: f64,
}

impl Field {
    fn new(plan: &Plan) -> Self {
        let base = plan
            .latitudes()
            .iter()
            .map(|lat| BASE_K + EQUATOR_TO_POLE_K * lat.to_radians().cos())
            .collect();
        // Decided by index so a row centred on the equator gets exactly 0.
        let hemisphere = (0..plan.nlat)
            .map(|i| match (2 * i + 1).cmp(&plan.nlat) {
                std::cmp::Ordering::Less => 1.0,
                std::cmp::Ordering::Equal => 0.0,
                std::cmp::Ordering::Greater => -1.0,
            })
            .collect();
        Self {
            nlat: plan.nlat,
            nlon: plan.nlon,
            base,
            hemisphere,
            noise_key: mix64(plan.seed ^ NOISE_STREAM),
            mask_key: mix64(plan.seed ^ MASK_STREAM),
            fill_fraction: plan.fill_fraction,
        }
    }

    /// Whether cell `(lat, lon)` holds `_FillValue` (on every day).
    fn is_masked(&self, lat: usize, lon: usize) -> bool {
        let cell = (lat * self.nlon + lon) as u64;
        unit_interval(stream_bits(self.mask_key, cell)) < self.fill_fraction
    }

    /// The deterministic part of the value on day `time` at latitude row `lat`.
    fn climatology(&self, lat: usize, season: f64) -> f64 {
        self.base[lat] + season * self.hemisphere[lat]
    }

    /// Fills `row` with the values of day `time`, latitude `lat`, from longitude
    /// `first_lon` on; `masked` says which of those cells hold `_FillValue`.
    fn fill_row(
        &self,
        time: usize,
        lat: usize,
        first_lon: usize,
        season: f64,
        masked: &[bool],
        row: &mut [f32],
    ) {
        let climatology = self.climatology(lat, season);
        let value = |z: f64| (climatology + NOISE_K * z) as f32;
        // Element `n` of the whole array takes component `n % 2` of Gaussian pair `n / 2`.
        let first = ((time * self.nlat + lat) * self.nlon + first_lon) as u64;
        let mut k = 0;
        while k < row.len() {
            let n = first + k as u64;
            let (even, odd) = gaussian_pair(self.noise_key, n / 2);
            if n % 2 == 1 {
                row[k] = value(odd);
                k += 1;
            } else {
                row[k] = value(even);
                if let Some(next) = row.get_mut(k + 1) {
                    *next = value(odd);
                }
                k += 2;
            }
        }
        for (v, &hidden) in row.iter_mut().zip(masked) {
            if hidden {
                *v = FILL_VALUE;
            }
        }
    }

    /// The mask of the slab's cells, row by row.
    fn mask_of(&self, lat: Range<usize>, lon: Range<usize>) -> Vec<bool> {
        lat.flat_map(|i| lon.clone().map(move |j| self.is_masked(i, j)))
            .collect()
    }

    /// Fills `values` (C order, the slab's shape) with the slab's values, in parallel.
    fn fill_slab(&self, slab: &Slab, seasons: &[f64], values: &mut [f32]) {
        let rows_per_day = slab.lat.len();
        let row_len = slab.lon.len();
        let mask = self.mask_of(slab.lat.clone(), slab.lon.clone());
        values
            .par_chunks_mut(row_len)
            .enumerate()
            .for_each(|(r, row)| {
                let day = r / rows_per_day;
                let row_in_day = r % rows_per_day;
                let masked = &mask[row_in_day * row_len..(row_in_day + 1) * row_len];
                let lat = slab.lat.start + row_in_day;
                let time = slab.time.start + day;
                self.fill_row(time, lat, slab.lon.start, seasons[day], masked, row);
            });
    }
}

// ---------------------------------------------------------------------------------------
// Slabs and the compute/write pipeline
// ---------------------------------------------------------------------------------------

/// A box of the array made of whole on-disk chunks (edge chunks may be partial).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slab {
    time: Range<usize>,
    lat: Range<usize>,
    lon: Range<usize>,
}

impl Slab {
    fn len(&self) -> usize {
        self.time.len() * self.lat.len() * self.lon.len()
    }

    fn ranges(&self) -> [Range<usize>; 3] {
        [self.time.clone(), self.lat.clone(), self.lon.clone()]
    }
}

/// How the array is cut into slabs: whole chunks, grown along lon, then lat, then time
/// while the slab stays within the byte budget (a slab holds at least one chunk).
#[derive(Debug, Clone, Copy)]
struct SlabShape {
    days: usize,
    lats: usize,
    lons: usize,
}

impl SlabShape {
    fn new(shape: [usize; 3], chunks: [usize; 3], max_bytes: usize) -> Self {
        let budget = (max_bytes / std::mem::size_of::<f32>()).max(1);
        let [ct, cy, cx] = chunks;
        let [nt, nlat, nlon] = shape;
        // Extent along one axis: as many whole chunks (at least one) as the budget allows
        // when each step along the axis costs `values_per_step`, capped at the axis length.
        let fit = |chunk: usize, values_per_step: usize, axis_len: usize| {
            let whole_chunks = (budget / (chunk * values_per_step).max(1)).max(1);
            whole_chunks.saturating_mul(chunk).min(axis_len)
        };
        let lons = fit(cx, ct * cy, nlon);
        let lats = if lons < nlon {
            cy
        } else {
            fit(cy, ct * nlon, nlat)
        };
        let days = if lats < nlat {
            ct
        } else {
            fit(ct, nlat * nlon, nt)
        };
        Self { days, lats, lons }
    }

    /// The time blocks, in order.
    fn time_blocks(&self, days: usize) -> impl Iterator<Item = Range<usize>> + '_ {
        (0..days)
            .step_by(self.days)
            .map(move |t| t..(t + self.days).min(days))
    }

    /// The (lat, lon) bands of one time block, in order.
    fn bands(&self, nlat: usize, nlon: usize) -> Vec<(Range<usize>, Range<usize>)> {
        let mut bands = Vec::new();
        for i in (0..nlat).step_by(self.lats) {
            for j in (0..nlon).step_by(self.lons) {
                bands.push((i..(i + self.lats).min(nlat), j..(j + self.lons).min(nlon)));
            }
        }
        bands
    }
}

/// Computes the field slab by slab on this thread (in parallel, with rayon) and hands the
/// slabs, in array order, to `write_file`, which runs on a thread of its own and does all
/// the file library calls. The next slab is computed while the current one is written,
/// with two slab buffers in all.
///
/// Computing here rather than on a helper thread keeps a caller that is itself a rayon
/// worker from blocking the pool it needs: its `par_chunks_mut` runs within that pool.
fn generate_into<F>(plan: &Plan, tuning: &Tuning, write_file: F) -> Result<()>
where
    F: FnOnce(SlabFeed) -> Result<()> + Send,
{
    let field = Field::new(plan);
    let shape = SlabShape::new(plan.shape(), plan.chunks, tuning.max_slab_bytes);
    // A rendezvous channel: a finished slab waits here until the writer is ready for it.
    let (full_tx, full_rx) = mpsc::sync_channel::<(Slab, Vec<f32>)>(0);
    let (free_tx, free_rx) = mpsc::channel::<Vec<f32>>();
    let feed = SlabFeed {
        full: full_rx,
        free: free_tx,
        fail_after_slabs: tuning.fail_after_slabs,
    };
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || {
            // The NetCDF library probes for optional HDF5 attributes and expects
            // failures; keep HDF5 from printing them (errors are still returned).
            hdf5::silence_errors(true);
            write_file(feed)
        });
        let mut clock = SeasonClock::new(plan.start, plan.calendar);
        let bands = shape.bands(plan.nlat, plan.nlon);
        'days: for time in shape.time_blocks(plan.days) {
            let seasons = clock.take(time.len());
            for (lat, lon) in &bands {
                let slab = Slab {
                    time: time.clone(),
                    lat: lat.clone(),
                    lon: lon.clone(),
                };
                let mut values = free_rx.try_recv().unwrap_or_default();
                values.resize(slab.len(), 0.0);
                field.fill_slab(&slab, &seasons, &mut values);
                if full_tx.send((slab, values)).is_err() {
                    break 'days; // the writer stopped early and will say why
                }
            }
        }
        drop(full_tx); // the end of the data
        writer
            .join()
            .map_err(|_| anyhow!("the file writer panicked"))?
    })
}

/// The writer's end of [`generate_into`]: the slabs, in array order.
struct SlabFeed {
    full: mpsc::Receiver<(Slab, Vec<f32>)>,
    free: mpsc::Sender<Vec<f32>>,
    fail_after_slabs: Option<usize>,
}

impl SlabFeed {
    /// Calls `write` on every slab, handing each buffer back for reuse.
    fn write_each<W>(self, mut write: W) -> Result<()>
    where
        W: FnMut(&Slab, &[f32]) -> Result<()>,
    {
        for (count, (slab, values)) in self.full.iter().enumerate() {
            if self.fail_after_slabs == Some(count) {
                bail!("stopped on purpose after {count} slabs");
            }
            write(&slab, &values)?;
            // Fails only once the generator is done, when the buffer is no longer needed.
            let _ = self.free.send(values);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// NetCDF-4 and HDF5
// ---------------------------------------------------------------------------------------

/// The container format, chosen by the target's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileFormat {
    NetCdf4,
    Hdf5,
}

impl FileFormat {
    fn of(path: &Path) -> Self {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("h5" | "hdf5") => Self::Hdf5,
            _ => Self::NetCdf4,
        }
    }
}

const TITLE: &str = "Synthetic daily near-surface air temperature";
const SOURCE: &str = "tessera gen climate";

/// CF attributes of the `time` coordinate.
fn time_attributes(plan: &Plan) -> Vec<(&'static str, String)> {
    vec![
        ("units", plan.time_units()),
        ("calendar", plan.calendar.name().to_string()),
        ("standard_name", "time".to_string()),
        ("long_name", "time".to_string()),
        ("axis", "T".to_string()),
    ]
}

/// CF attributes of the `lat` coordinate.
fn lat_attributes() -> Vec<(&'static str, String)> {
    vec![
        ("units", "degrees_north".to_string()),
        ("standard_name", "latitude".to_string()),
        ("long_name", "latitude".to_string()),
        ("axis", "Y".to_string()),
    ]
}

/// CF attributes of the `lon` coordinate.
fn lon_attributes() -> Vec<(&'static str, String)> {
    vec![
        ("units", "degrees_east".to_string()),
        ("standard_name", "longitude".to_string()),
        ("long_name", "longitude".to_string()),
        ("axis", "X".to_string()),
    ]
}

/// CF attributes of the data variable (`_FillValue` is set with the variable's type).
fn data_attributes() -> Vec<(&'static str, String)> {
    vec![
        ("standard_name", "air_temperature".to_string()),
        ("long_name", "Near-Surface Air Temperature".to_string()),
        ("units", "K".to_string()),
        ("cell_methods", "time: mean".to_string()),
    ]
}

/// Attributes of the file itself.
fn global_attributes(plan: &Plan) -> Vec<(&'static str, String)> {
    vec![
        ("Conventions", "CF-1.8".to_string()),
        ("title", TITLE.to_string()),
        ("source", SOURCE.to_string()),
        ("history", plan.history()),
    ]
}

/// Writes the whole file to `temp` as NetCDF-4: dimensions, coordinates, attributes, then
/// the data variable slab by slab as `feed` delivers it.
fn write_netcdf(temp: &Path, plan: &Plan, feed: SlabFeed) -> Result<()> {
    let mut file = netcdf::create_with(temp, netcdf::Options::NETCDF4)?;
    for (name, value) in global_attributes(plan) {
        file.add_attribute(name, value.as_str())?;
    }
    let coordinates = [
        ("time", plan.times(), time_attributes(plan)),
        ("lat", plan.latitudes(), lat_attributes()),
        ("lon", plan.longitudes(), lon_attributes()),
    ];
    for (name, values, _) in &coordinates {
        file.add_dimension(name, values.len())?;
    }
    for (name, values, attributes) in &coordinates {
        let mut var = file.add_variable::<f64>(name, &[name])?;
        for (key, value) in attributes {
            var.put_attribute(key, value.as_str())?;
        }
        var.put_values(values, ..)?;
    }
    let mut var = file.add_variable::<f32>(&plan.variable, &COORDINATE_NAMES)?;
    var.set_chunking(&plan.chunks)?;
    if let Some(level) = plan.deflate {
        var.set_compression(i32::from(level), true)?;
    }
    var.set_fill_value(FILL_VALUE)?;
    for (key, value) in data_attributes() {
        var.put_attribute(key, value.as_str())?;
    }
    feed.write_each(|slab, values| {
        let mut var = file
            .variable_mut(&plan.variable)
            .ok_or_else(|| anyhow!("variable '{}' vanished while writing", plan.variable))?;
        var.put_values(values, slab.ranges())?;
        Ok(())
    })?;
    file.close()?;
    Ok(())
}

/// Writes the whole file to `temp` as plain HDF5: the same datasets and attributes as the
/// NetCDF-4 file, with the dimension names in a `dimensions` attribute of the data.
fn write_hdf5(temp: &Path, plan: &Plan, feed: SlabFeed) -> Result<()> {
    let file = hdf5::File::create(temp)?;
    for (name, value) in global_attributes(plan) {
        write_hdf5_text(&file, name, &value)?;
    }
    let coordinates = [
        ("time", plan.times(), time_attributes(plan)),
        ("lat", plan.latitudes(), lat_attributes()),
        ("lon", plan.longitudes(), lon_attributes()),
    ];
    for (name, values, attributes) in &coordinates {
        let ds = file
            .new_dataset::<f64>()
            .shape(values.len())
            .create(*name)?;
        ds.write_raw(values.as_slice())?;
        for (key, value) in attributes {
            write_hdf5_text(&ds, key, value)?;
        }
    }
    let mut builder = file
        .new_dataset::<f32>()
        .chunk(plan.chunks)
        .fill_value(FILL_VALUE);
    if let Some(level) = plan.deflate {
        builder = builder.shuffle().deflate(level);
    }
    let ds = builder.shape(plan.shape()).create(plan.variable.as_str())?;
    for (key, value) in data_attributes() {
        write_hdf5_text(&ds, key, &value)?;
    }
    write_hdf5_text(&ds, "dimensions", &COORDINATE_NAMES.join(" "))?;
    ds.new_attr::<f32>()
        .create("_FillValue")?
        .write_scalar(&FILL_VALUE)?;
    feed.write_each(|slab, values| {
        let shape = (slab.time.len(), slab.lat.len(), slab.lon.len());
        let view = ndarray::ArrayView3::from_shape(shape, values)?;
        ds.write_slice(
            view,
            ndarray::s![slab.time.clone(), slab.lat.clone(), slab.lon.clone()],
        )?;
        Ok(())
    })?;
    drop(ds);
    file.close()?;
    Ok(())
}

/// Writes a scalar variable-length UTF-8 string attribute.
fn write_hdf5_text(location: &hdf5::Location, name: &str, value: &str) -> Result<()> {
    let text: hdf5::types::VarLenUnicode = value
        .parse()
        .map_err(|e| anyhow!("attribute {name}: {e}"))?;
    location
        .new_attr::<hdf5::types::VarLenUnicode>()
        .create(name)?
        .write_scalar(&text)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The target and its temporary file
// ---------------------------------------------------------------------------------------

/// Checks that `path` can be written: it names a file in an existing directory, and does
/// not exist yet unless `overwrite`.
fn check_target(path: &Path, overwrite: bool) -> Result<()> {
    let shown = crate::quote::path(path);
    if path.file_name().is_none() {
        bail!("'{shown}' does not name a file");
    }
    let dir = directory_of(path);
    if !dir.is_dir() {
        bail!(
            "{shown}: directory '{}' does not exist",
            crate::quote::path(dir)
        );
    }
    if path.is_dir() {
        bail!("{shown}: is a directory");
    }
    if path.exists() && !overwrite {
        bail!("{shown}: already exists; pass --overwrite to replace it");
    }
    Ok(())
}

/// The directory `path` is in (`.` for a bare file name).
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A file beside the target that is removed on drop unless moved over the target (and
/// when SIGINT/SIGTERM stops the process).
struct TempFile {
    path: PathBuf,
    moved: bool,
    _on_signal: crate::signal::OnSignal,
}

impl TempFile {
    /// `.<name>.tmp-<pid>-<n>` in the target's directory (nothing is created yet).
    fn beside(target: &Path) -> Result<Self> {
        static SEQUENCE: AtomicU64 = AtomicU64::new(0);
        let name = target
            .file_name()
            .ok_or_else(|| anyhow!("'{}' does not name a file", crate::quote::path(target)))?
            .to_string_lossy();
        let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let file = format!(".{name}.tmp-{}-{n}", std::process::id());
        let path = directory_of(target).join(file);
        let kind = crate::signal::Kind::File;
        Ok(Self {
            _on_signal: crate::signal::remove_on_signal(&path, kind),
            path,
            moved: false,
        })
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the finished file over `target`.
    fn move_to(mut self, target: &Path, overwrite: bool) -> Result<()> {
        if !overwrite && target.exists() {
            bail!(
                "{}: appeared while the file was being written; not replaced (pass \
                 --overwrite to replace it)",
                target.display()
            );
        }
        std::fs::rename(&self.path, target).with_context(|| {
            format!(
                "{}: cannot move the finished file {} into place",
                target.display(),
                self.path.display()
            )
        })?;
        self.moved = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.moved {
            // Nothing to do if it was never created.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdf5::types::VarLenUnicode;
    use std::sync::{PoisonError, RwLock, RwLockReadGuard};

    /// Held (shared) by every test while it has files open. HDF5 opens files without
    /// close-on-exec, so a child process started meanwhile inherits the descriptors and
    /// HDF5's lock on them, and a test opening such a file fails with "unable to lock
    /// file"; [`ncdump`] therefore runs alone.
    static FILES: RwLock<()> = RwLock::new(());

    /// A fresh, empty directory for one test, and leave to open files.
    fn scratch_dir(test: &str) -> (PathBuf, RwLockReadGuard<'static, ()>) {
        let files = FILES.read().unwrap_or_else(PoisonError::into_inner);
        hdf5::silence_errors(true); // reading NetCDF-4 probes attributes that may be absent
        let dir =
            std::env::temp_dir().join(format!("tessera-gen-climate-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        (dir, files)
    }

    /// 40 days on a 10-degree grid (18 x 36 cells): small enough for every test.
    fn small_spec() -> ClimateSpec {
        ClimateSpec {
            days: 40,
            grid_degrees: 10.0,
            seed: 7,
            ..ClimateSpec::default()
        }
    }

    /// Temporary files left in `dir`.
    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains(".tmp-"))
            .collect()
    }

    fn text(value: netcdf::AttributeValue) -> String {
        match value {
            netcdf::AttributeValue::Str(s) => s,
            other => panic!("expected a text attribute, got {other:?}"),
        }
    }

    fn nc_attr(var: &netcdf::Variable, name: &str) -> String {
        text(var.attribute_value(name).unwrap().unwrap())
    }

    fn nc_values(path: &Path, name: &str) -> Vec<f32> {
        let file = netcdf::open(path).unwrap();
        let var = file.variable(name).unwrap();
        var.get_values::<f32, _>(..).unwrap()
    }

    fn h5_attr(location: &hdf5::Location, name: &str) -> String {
        location
            .attr(name)
            .unwrap()
            .read_scalar::<VarLenUnicode>()
            .unwrap()
            .as_str()
            .to_string()
    }

    fn h5_values(path: &Path, name: &str) -> Vec<f32> {
        let file = hdf5::File::open(path).unwrap();
        file.dataset(name).unwrap().read_raw::<f32>().unwrap()
    }

    /// Runs `ncdump` with `args` on `path`, or `None` if `ncdump` is not installed.
    fn ncdump(args: &[&str], path: &Path) -> Option<String> {
        let _alone = FILES.write().unwrap_or_else(PoisonError::into_inner);
        let output = std::process::Command::new("ncdump")
            .args(args)
            .arg(path)
            .output();
        match output {
            Ok(out) => {
                assert!(
                    out.status.success(),
                    "ncdump failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                Some(String::from_utf8_lossy(&out.stdout).into_owned())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("ncdump not installed; skipping the ncdump check");
                None
            }
            Err(e) => panic!("cannot run ncdump: {e}"),
        }
    }

    fn expected_latitudes() -> Vec<f64> {
        (0..18).map(|i| 85.0 - 10.0 * i as f64).collect()
    }

    fn expected_longitudes() -> Vec<f64> {
        (0..36).map(|j| 5.0 + 10.0 * j as f64).collect()
    }

    #[test]
    fn netcdf_file_has_the_cf_layout() {
        let (dir, files) = scratch_dir("netcdf-layout");
        let path = dir.join("small.nc");
        let summary = climate(&path, &small_spec(), false).unwrap();
        assert_eq!(summary.shape, [40, 18, 36]);
        assert_eq!(summary.path, path);
        assert_eq!(summary.bytes, std::fs::metadata(&path).unwrap().len());
        assert!(summary.seconds > 0.0);

        let file = netcdf::open(&path).unwrap();
        let global = |name: &str| text(file.attribute(name).unwrap().value().unwrap());
        assert_eq!(global("Conventions"), "CF-1.8");
        assert_eq!(global("source"), "tessera gen climate");
        assert!(!global("title").is_empty());
        assert!(global("history").contains("tessera gen climate --days 40 --grid 10"));
        for (name, len) in [("time", 40), ("lat", 18), ("lon", 36)] {
            assert_eq!(file.dimension(name).unwrap().len(), len);
        }

        let time = file.variable("time").unwrap();
        assert_eq!(nc_attr(&time, "units"), "days since 2000-01-01 00:00:00");
        assert_eq!(nc_attr(&time, "calendar"), "standard");
        assert_eq!(nc_attr(&time, "standard_name"), "time");
        assert_eq!(nc_attr(&time, "axis"), "T");
        let days: Vec<f64> = time.get_values(..).unwrap();
        assert_eq!(days, (0..40).map(f64::from).collect::<Vec<_>>());

        let lat = file.variable("lat").unwrap();
        assert_eq!(nc_attr(&lat, "units"), "degrees_north");
        assert_eq!(nc_attr(&lat, "standard_name"), "latitude");
        assert_eq!(nc_attr(&lat, "axis"), "Y");
        assert_eq!(lat.get_values::<f64, _>(..).unwrap(), expected_latitudes());

        let lon = file.variable("lon").unwrap();
        assert_eq!(nc_attr(&lon, "units"), "degrees_east");
        assert_eq!(nc_attr(&lon, "standard_name"), "longitude");
        assert_eq!(nc_attr(&lon, "axis"), "X");
        assert_eq!(lon.get_values::<f64, _>(..).unwrap(), expected_longitudes());

        let tas = file.variable("tas").unwrap();
        let dims: Vec<String> = tas.dimensions().iter().map(|d| d.name()).collect();
        assert_eq!(dims, ["time", "lat", "lon"]);
        assert_eq!(
            tas.vartype(),
            netcdf::types::NcVariableType::Float(netcdf::types::FloatType::F32)
        );
        assert_eq!(nc_attr(&tas, "standard_name"), "air_temperature");
        assert_eq!(nc_attr(&tas, "units"), "K");
        assert_eq!(nc_attr(&tas, "cell_methods"), "time: mean");
        assert!(!nc_attr(&tas, "long_name").is_empty());
        assert_eq!(tas.fill_value::<f32>().unwrap(), Some(1e20));
        assert!(matches!(
            tas.attribute_value("_FillValue").unwrap().unwrap(),
            netcdf::AttributeValue::Float(f) if f == 1e20
        ));
        // The default chunks (73, 90, 180), clipped to the shape.
        assert_eq!(tas.chunking().unwrap(), Some(vec![40, 18, 36]));
        drop(file);
        drop(files);

        if let Some(header) = ncdump(&["-h"], &path) {
            assert!(header.contains("float tas(time, lat, lon)"), "{header}");
            assert!(header.contains("tas:_FillValue = 1.e+20f"), "{header}");
            assert!(header.contains(":Conventions = \"CF-1.8\""), "{header}");
            assert!(header.contains("time:calendar = \"standard\""), "{header}");
        }
        assert!(leftovers(&dir).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hdf5_file_has_the_same_layout_and_values() {
        let (dir, _files) = scratch_dir("hdf5-layout");
        let h5 = dir.join("small.h5");
        let nc = dir.join("small.nc");
        let summary = climate(&h5, &small_spec(), false).unwrap();
        assert_eq!(summary.shape, [40, 18, 36]);
        climate(&nc, &small_spec(), false).unwrap();

        let file = hdf5::File::open(&h5).unwrap();
        assert_eq!(h5_attr(&file, "Conventions"), "CF-1.8");
        assert_eq!(h5_attr(&file, "source"), "tessera gen climate");
        assert!(h5_attr(&file, "history").contains("--days 40"));
        let time = file.dataset("time").unwrap();
        assert_eq!(h5_attr(&time, "units"), "days since 2000-01-01 00:00:00");
        assert_eq!(h5_attr(&time, "calendar"), "standard");
        assert_eq!(h5_attr(&time, "axis"), "T");
        assert_eq!(
            time.read_raw::<f64>().unwrap(),
            (0..40).map(f64::from).collect::<Vec<_>>()
        );
        let lat = file.dataset("lat").unwrap();
        assert_eq!(h5_attr(&lat, "units"), "degrees_north");
        assert_eq!(lat.read_raw::<f64>().unwrap(), expected_latitudes());
        let lon = file.dataset("lon").unwrap();
        assert_eq!(h5_attr(&lon, "standard_name"), "longitude");
        assert_eq!(lon.read_raw::<f64>().unwrap(), expected_longitudes());
        let tas = file.dataset("tas").unwrap();
        assert_eq!(tas.shape(), [40, 18, 36]);
        assert_eq!(tas.chunk(), Some(vec![40, 18, 36]));
        assert_eq!(h5_attr(&tas, "dimensions"), "time lat lon");
        assert_eq!(h5_attr(&tas, "standard_name"), "air_temperature");
        assert_eq!(h5_attr(&tas, "units"), "K");
        assert_eq!(h5_attr(&tas, "cell_methods"), "time: mean");
        let fill = tas
            .attr("_FillValue")
            .unwrap()
            .read_scalar::<f32>()
            .unwrap();
        assert_eq!(fill, 1e20);
        drop((time, lat, lon, tas, file));

        assert_eq!(h5_values(&h5, "tas"), nc_values(&nc, "tas"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn values_do_not_depend_on_chunks_or_slab_size() {
        let (dir, _files) = scratch_dir("slabs");
        let reference = dir.join("reference.nc");
        climate(&reference, &small_spec(), false).unwrap();
        let expected = nc_values(&reference, "tas");
        // Odd chunk sizes split Gaussian pairs between slabs; tiny budgets force slabs of
        // one chunk, split along lat and lon.
        let cases = [
            ([1, 18, 36], MAX_SLAB_BYTES),
            ([7, 5, 7], MAX_SLAB_BYTES),
            ([7, 5, 7], 1),
            ([3, 4, 36], 4 * 3 * 4 * 36 * 2),
            ([40, 18, 5], 4 * 40 * 18 * 5 * 3),
        ];
        for (k, (chunks, max_slab_bytes)) in cases.into_iter().enumerate() {
            let spec = ClimateSpec {
                chunks: Some(chunks),
                ..small_spec()
            };
            let tuning = Tuning {
                max_slab_bytes,
                fail_after_slabs: None,
            };
            for ext in ["nc", "h5"] {
                let path = dir.join(format!("case{k}.{ext}"));
                write_climate(&path, &spec, false, &tuning).unwrap();
                let values = if ext == "nc" {
                    nc_values(&path, "tas")
                } else {
                    h5_values(&path, "tas")
                };
                assert!(
                    values == expected,
                    "chunks {chunks:?} ({ext}) changed the values"
                );
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn slabs_tile_the_array_in_whole_chunks_within_the_budget() {
        let shape = [40, 18, 36];
        for (chunks, budget) in [
            ([7, 5, 7], 1),
            ([7, 5, 7], 4 * 7 * 5 * 36 * 2),
            ([7, 5, 7], 4 * 7 * 18 * 36 * 3),
            ([73, 90, 180], MAX_SLAB_BYTES),
        ] {
            let chunks = resolve_chunks(Some(chunks), shape).unwrap();
            let slab = SlabShape::new(shape, chunks, budget);
            for (extent, (&n, &c)) in [slab.days, slab.lats, slab.lons]
                .into_iter()
                .zip(shape.iter().zip(&chunks))
            {
                assert!(
                    extent == n || extent % c == 0,
                    "{slab:?} cuts chunks {chunks:?}"
                );
            }
            let bytes = 4 * slab.days * slab.lats * slab.lons;
            let one_chunk = 4 * chunks.iter().product::<usize>();
            assert!(
                bytes <= budget.max(one_chunk),
                "{slab:?} over {budget} bytes"
            );
            let mut covered = vec![0u8; shape.iter().product()];
            for time in slab.time_blocks(shape[0]) {
                for (lat, lon) in slab.bands(shape[1], shape[2]) {
                    for t in time.clone() {
                        for i in lat.clone() {
                            for j in lon.clone() {
                                covered[(t * shape[1] + i) * shape[2] + j] += 1;
                            }
                        }
                    }
                }
            }
            assert!(covered.iter().all(|&c| c == 1), "{slab:?} does not tile");
        }
        // At 0.5 degrees the default slab is one 73-day block of the whole grid (~75 MB).
        let shape = [3650, 360, 720];
        let slab = SlabShape::new(shape, resolve_chunks(None, shape).unwrap(), MAX_SLAB_BYTES);
        assert_eq!([slab.days, slab.lats, slab.lons], [73, 360, 720]);
    }

    #[test]
    fn fill_mask_is_fixed_and_near_the_requested_fraction() {
        let (dir, _files) = scratch_dir("mask");
        for (grid, fraction, tolerance) in
            [(10.0, 0.02, 0.015), (2.0, 0.02, 0.004), (2.0, 0.3, 0.02)]
        {
            let spec = ClimateSpec {
                days: 3,
                grid_degrees: grid,
                fill_fraction: fraction,
                ..small_spec()
            };
            let path = dir.join(format!("mask-{grid}-{fraction}.nc"));
            let summary = climate(&path, &spec, false).unwrap();
            let cells = summary.shape[1] * summary.shape[2];
            let values = nc_values(&path, "tas");
            let masked: Vec<Vec<bool>> = values
                .chunks(cells)
                .map(|day| day.iter().map(|&v| v == FILL_VALUE).collect())
                .collect();
            assert!(masked.iter().all(|day| day == &masked[0]), "the mask moves");
            let share = masked[0].iter().filter(|&&m| m).count() as f64 / cells as f64;
            assert!(
                (share - fraction).abs() < tolerance,
                "{share} of the cells masked, wanted {fraction}"
            );
            assert!(values
                .iter()
                .all(|&v| v == FILL_VALUE || (150.0..400.0).contains(&v)));
        }
        let none = ClimateSpec {
            fill_fraction: 0.0,
            ..small_spec()
        };
        let path = dir.join("none.nc");
        climate(&path, &none, false).unwrap();
        assert!(nc_values(&path, "tas").iter().all(|&v| v != FILL_VALUE));
        // Another seed masks other cells.
        let other = ClimateSpec {
            seed: 8,
            fill_fraction: 0.3,
            ..small_spec()
        };
        let (a, b) = (dir.join("seed7.nc"), dir.join("seed8.nc"));
        climate(
            &a,
            &ClimateSpec {
                fill_fraction: 0.3,
                ..small_spec()
            },
            false,
        )
        .unwrap();
        climate(&b, &other, false).unwrap();
        let mask_of = |p: &Path| -> Vec<bool> {
            nc_values(p, "tas")[..18 * 36]
                .iter()
                .map(|&v| v == FILL_VALUE)
                .collect()
        };
        assert_ne!(mask_of(&a), mask_of(&b));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn mean_and_noise_follow_the_model() {
        let (dir, _files) = scratch_dir("model");
        let spec = small_spec();
        let path = dir.join("model.nc");
        climate(&path, &spec, false).unwrap();
        let values = nc_values(&path, "tas");
        let plan = Plan::from_spec(&spec).unwrap();
        let field = Field::new(&plan);
        let seasons = SeasonClock::new(plan.start, plan.calendar).take(plan.days);

        let mean_cos: f64 = plan
            .latitudes()
            .iter()
            .map(|lat| 30.0 * lat.to_radians().cos())
            .sum::<f64>()
            / plan.nlat as f64;
        let valid: Vec<f64> = values
            .iter()
            .filter(|&&v| v != FILL_VALUE)
            .map(|&v| f64::from(v))
            .collect();
        let mean = valid.iter().sum::<f64>() / valid.len() as f64;
        assert!(
            (mean - (273.15 + mean_cos)).abs() < 0.3,
            "mean {mean}, expected about {}",
            273.15 + mean_cos
        );

        // What is left after the climatology is N(0, 2 K).
        let mut residuals = Vec::new();
        for (n, &v) in values.iter().enumerate() {
            if v == FILL_VALUE {
                continue;
            }
            let t = n / (plan.nlat * plan.nlon);
            let i = n / plan.nlon % plan.nlat;
            residuals.push(f64::from(v) - field.climatology(i, seasons[t]));
        }
        let count = residuals.len() as f64;
        let mean = residuals.iter().sum::<f64>() / count;
        let sd = (residuals.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / count).sqrt();
        assert!(mean.abs() < 0.05, "noise mean {mean}");
        assert!((sd - 2.0).abs() < 0.05, "noise sd {sd}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn seasons_are_opposite_in_the_two_hemispheres() {
        let (dir, _files) = scratch_dir("seasons");
        let spec = ClimateSpec {
            days: 360,
            grid_degrees: 30.0,
            calendar: "360_day".into(),
            fill_fraction: 0.0,
            ..small_spec()
        };
        let path = dir.join("seasons.nc");
        climate(&path, &spec, false).unwrap();
        let values = nc_values(&path, "tas");
        // 6 latitudes (75, 45, 15, -15, -45, -75) x 12 longitudes.
        let row_mean = |days: Range<usize>, rows: Range<usize>| -> f64 {
            let mut sum = 0.0;
            let mut n = 0.0;
            for t in days {
                for i in rows.clone() {
                    for j in 0..12 {
                        sum += f64::from(values[(t * 6 + i) * 12 + j]);
                        n += 1.0;
                    }
                }
            }
            sum / n
        };
        let (january, july) = (0..30, 180..210);
        let north = row_mean(july.clone(), 0..3) - row_mean(january.clone(), 0..3);
        let south = row_mean(july, 3..6) - row_mean(january, 3..6);
        assert!(north > 15.0, "northern July - January = {north}");
        assert!(south < -15.0, "southern July - January = {south}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn compression_keeps_the_values() {
        let (dir, files) = scratch_dir("deflate");
        let plain = dir.join("plain.nc");
        climate(&plain, &small_spec(), false).unwrap();
        let spec = ClimateSpec {
            deflate: Some(4),
            chunks: Some([7, 18, 36]),
            ..small_spec()
        };
        for name in ["packed.nc", "packed.h5"] {
            let path = dir.join(name);
            climate(&path, &spec, false).unwrap();
            let values = if name.ends_with(".nc") {
                nc_values(&path, "tas")
            } else {
                h5_values(&path, "tas")
            };
            assert!(values == nc_values(&plain, "tas"));
        }
        drop(files);
        if let Some(header) = ncdump(&["-hs"], &dir.join("packed.nc")) {
            assert!(header.contains("tas:_DeflateLevel = 4"), "{header}");
            assert!(header.contains("tas:_Shuffle = \"true\""), "{header}");
            assert!(header.contains("tas:_ChunkSizes = 7, 18, 36"), "{header}");
        }
        let h5 = hdf5::File::open(dir.join("packed.h5")).unwrap();
        let filters = h5.dataset("tas").unwrap().filters();
        assert!(
            filters.contains(&hdf5::filters::Filter::Deflate(4)),
            "{filters:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn calendars_give_the_day_of_year() {
        let date = |s: &str, c: Calendar| Date::parse(s, c).unwrap();
        let standard = Calendar::Standard;
        assert_eq!(date("2000-03-01", standard).day_of_year(standard), 60);
        assert_eq!(date("2001-03-01", standard).day_of_year(standard), 59);
        assert_eq!(
            date("2000-03-01", Calendar::NoLeap).day_of_year(Calendar::NoLeap),
            59
        );
        assert_eq!(
            date("2000-03-01", Calendar::Day360).day_of_year(Calendar::Day360),
            60
        );
        assert_eq!(standard.year_length(2000), 366);
        assert_eq!(standard.year_length(1900), 365);
        assert_eq!(standard.year_length(1500), 366); // Julian
        assert_eq!(standard.year_length(1582), 355); // the reform year
        assert_eq!(Calendar::NoLeap.year_length(2000), 365);
        assert_eq!(Calendar::Day360.year_length(2000), 360);
        assert_eq!(
            date("1582-10-04", standard).next(standard),
            date("1582-10-15", standard)
        );
        assert_eq!(date("1582-10-15", standard).day_of_year(standard), 277);
        assert_eq!(date("1582-12-31", standard).day_of_year(standard), 354);
        assert_eq!(
            date("2000-02-30", Calendar::Day360).next(Calendar::Day360),
            date("2000-03-01", Calendar::Day360)
        );
        assert_eq!(
            date("1999-12-31", standard).next(standard),
            date("2000-01-01", standard)
        );
        assert_eq!(date("0800-1-2", standard).to_string(), "0800-01-02");

        // A year of days from any start comes back to the same day of the year.
        for (calendar, start, days) in [
            (standard, "2000-01-01", 366),
            (standard, "2001-07-14", 365),
            (Calendar::NoLeap, "2000-02-28", 365),
            (Calendar::Day360, "1999-12-30", 360),
        ] {
            let first = date(start, calendar);
            let mut d = first;
            for _ in 0..days {
                d = d.next(calendar);
            }
            assert_eq!(
                d.day_of_year(calendar),
                first.day_of_year(calendar),
                "{start}"
            );
        }

        // The clock's phase starts at the day of the year of the start date.
        let mut clock = SeasonClock::new(date("2000-12-31", standard), standard);
        assert_eq!(clock.next_anomaly(), seasonal_anomaly(365.0 / 366.0));
        assert_eq!(clock.next_anomaly(), seasonal_anomaly(0.0));
        assert_eq!(gregorian_date_after_epoch(0).to_string(), "1970-01-01");
        assert_eq!(gregorian_date_after_epoch(11_016).to_string(), "2000-02-29");
        assert_eq!(gregorian_date_after_epoch(20_000).to_string(), "2024-10-04");
    }

    #[test]
    fn noise_is_standard_normal_and_reproducible() {
        let key = mix64(42 ^ NOISE_STREAM);
        let samples: Vec<f64> = (0..200_000u64)
            .flat_map(|p| {
                let (a, b) = gaussian_pair(key, p);
                [a, b]
            })
            .collect();
        let n = samples.len() as f64;
        let mean = samples.iter().sum::<f64>() / n;
        let var = samples.iter().map(|z| (z - mean).powi(2)).sum::<f64>() / n;
        let beyond_two = samples.iter().filter(|z| z.abs() > 2.0).count() as f64 / n;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "variance {var}");
        assert!(
            (beyond_two - 0.0455).abs() < 0.002,
            "P(|z| > 2) = {beyond_two}"
        );
        assert_eq!(gaussian_pair(key, 12_345), gaussian_pair(key, 12_345));
        assert_ne!(gaussian_pair(key, 12_345), gaussian_pair(key ^ 1, 12_345));

        for turn in (0..=u32::MAX).step_by(65_537) {
            let angle = std::f64::consts::TAU * f64::from(turn) / 4_294_967_296.0;
            let (sin, cos) = sin_cos_of_turn_fraction(turn);
            assert!((sin - angle.sin()).abs() < 1e-9, "sin at {turn}");
            assert!((cos - angle.cos()).abs() < 1e-9, "cos at {turn}");
        }
    }

    #[test]
    fn bad_settings_are_errors_naming_the_value() {
        let (dir, _files) = scratch_dir("bad-settings");
        let path = dir.join("bad.nc");
        let cases: Vec<(ClimateSpec, &str)> = vec![
            (
                ClimateSpec {
                    grid_degrees: 0.7,
                    ..small_spec()
                },
                "0.7",
            ),
            (
                ClimateSpec {
                    grid_degrees: 0.0,
                    ..small_spec()
                },
                "grid",
            ),
            (
                ClimateSpec {
                    grid_degrees: f64::NAN,
                    ..small_spec()
                },
                "NaN",
            ),
            (
                ClimateSpec {
                    grid_degrees: 200.0,
                    ..small_spec()
                },
                "200",
            ),
            (
                ClimateSpec {
                    days: 0,
                    ..small_spec()
                },
                "days",
            ),
            (
                ClimateSpec {
                    calendar: "julian".into(),
                    ..small_spec()
                },
                "'julian'",
            ),
            (
                ClimateSpec {
                    start: "2000-13-01".into(),
                    ..small_spec()
                },
                "month 13",
            ),
            (
                ClimateSpec {
                    start: "2001-02-29".into(),
                    ..small_spec()
                },
                "2001-02-29",
            ),
            (
                ClimateSpec {
                    start: "yesterday".into(),
                    ..small_spec()
                },
                "'yesterday'",
            ),
            (
                ClimateSpec {
                    start: "2000-01-01-".into(),
                    ..small_spec()
                },
                "YYYY-MM-DD",
            ),
            (
                ClimateSpec {
                    start: "0000-01-01".into(),
                    ..small_spec()
                },
                "year 0",
            ),
            (
                ClimateSpec {
                    start: "1582-10-10".into(),
                    ..small_spec()
                },
                "1582-10-10",
            ),
            (
                ClimateSpec {
                    start: "2000-02-29".into(),
                    calendar: "noleap".into(),
                    ..small_spec()
                },
                "day 29",
            ),
            (
                ClimateSpec {
                    chunks: Some([0, 5, 5]),
                    ..small_spec()
                },
                "0,5,5",
            ),
            (
                ClimateSpec {
                    chunks: Some([100_000, 100_000, 100_000]),
                    grid_degrees: 0.1,
                    days: 100_000,
                    ..small_spec()
                },
                "4 GiB",
            ),
            (
                ClimateSpec {
                    deflate: Some(10),
                    ..small_spec()
                },
                "10",
            ),
            (
                ClimateSpec {
                    fill_fraction: 1.5,
                    ..small_spec()
                },
                "1.5",
            ),
            (
                ClimateSpec {
                    fill_fraction: f64::NAN,
                    ..small_spec()
                },
                "NaN",
            ),
            (
                ClimateSpec {
                    variable: "lat".into(),
                    ..small_spec()
                },
                "'lat'",
            ),
            (
                ClimateSpec {
                    variable: "2m temp".into(),
                    ..small_spec()
                },
                "'2m temp'",
            ),
            (
                ClimateSpec {
                    variable: String::new(),
                    ..small_spec()
                },
                "''",
            ),
            (
                ClimateSpec {
                    days: usize::MAX / 2,
                    ..small_spec()
                },
                "too large",
            ),
        ];
        for (spec, needle) in cases {
            let err = climate(&path, &spec, false).unwrap_err().to_string();
            assert!(
                err.contains(needle),
                "{spec:?}: '{err}' does not name {needle}"
            );
        }
        assert!(!path.exists());
        assert!(std::fs::read_dir(&dir).unwrap().next().is_none());
        // Allowed: the calendar aliases, deflate 0 (none), the whole grid masked.
        let fine = ClimateSpec {
            calendar: "gregorian".into(),
            deflate: Some(0),
            fill_fraction: 1.0,
            days: 2,
            ..small_spec()
        };
        climate(&path, &fine, false).unwrap();
        assert!(nc_values(&path, "tas").iter().all(|&v| v == FILL_VALUE));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_targets_are_errors_and_leave_nothing_behind() {
        let (dir, _files) = scratch_dir("bad-targets");
        let missing = dir.join("no-such-dir").join("x.nc");
        let err = climate(&missing, &small_spec(), false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no-such-dir") && err.contains("does not exist"),
            "{err}"
        );
        let err = climate(&dir, &small_spec(), true).unwrap_err().to_string();
        assert!(err.contains("directory"), "{err}");

        let existing = dir.join("existing.nc");
        std::fs::write(&existing, "old").unwrap();
        let err = climate(&existing, &small_spec(), false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("already exists") && err.contains("--overwrite"),
            "{err}"
        );
        assert_eq!(std::fs::read(&existing).unwrap(), b"old");
        climate(&existing, &small_spec(), true).unwrap();
        assert_eq!(nc_values(&existing, "tas").len(), 40 * 18 * 36);
        assert!(leftovers(&dir).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file_and_keeps_the_old_target() {
        let (dir, _files) = scratch_dir("failed-write");
        let failing = Tuning {
            max_slab_bytes: 1,
            fail_after_slabs: Some(2),
        };
        let spec = ClimateSpec {
            chunks: Some([5, 18, 36]),
            ..small_spec()
        };
        for name in ["new.nc", "new.h5"] {
            let path = dir.join(name);
            let err = write_climate(&path, &spec, false, &failing).unwrap_err();
            assert!(format!("{err:#}").contains("on purpose"), "{err:#}");
            assert!(err.to_string().contains(name), "{err}");
            assert!(!path.exists());
        }
        for name in ["old.nc", "old.h5"] {
            let path = dir.join(name);
            std::fs::write(&path, "old").unwrap();
            write_climate(&path, &spec, true, &failing).unwrap_err();
            assert_eq!(std::fs::read(&path).unwrap(), b"old");
        }
        assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn runs_inside_rayon_workers_without_starving_the_pool() {
        // More concurrent calls than the global pool has workers: each call must compute on
        // its own worker rather than wait for a pool that is busy waiting for it.
        let (dir, _files) = scratch_dir("rayon-workers");
        let calls = rayon::current_num_threads() + 2;
        let shapes: Vec<[usize; 3]> = (0..calls)
            .into_par_iter()
            .map(|k| climate(&dir.join(format!("{k}.nc")), &small_spec(), false))
            .map(|summary| summary.map(|s| s.shape))
            .collect::<Result<_>>()
            .unwrap();
        assert!(shapes.iter().all(|&s| s == [40, 18, 36]));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_format_follows_the_extension() {
        assert_eq!(FileFormat::of(Path::new("a.h5")), FileFormat::Hdf5);
        assert_eq!(FileFormat::of(Path::new("a.HDF5")), FileFormat::Hdf5);
        assert_eq!(FileFormat::of(Path::new("a.nc")), FileFormat::NetCdf4);
        assert_eq!(FileFormat::of(Path::new("a.nc4")), FileFormat::NetCdf4);
        assert_eq!(FileFormat::of(Path::new("a")), FileFormat::NetCdf4);
    }
}
