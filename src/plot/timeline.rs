//! Task timeline and memory plot of one run report.
//!
//! A [`RunReport`]'s totals say how long a computation took but not where the time went:
//! whether one worker idled while another ran a long tail of tasks, which kind of task
//! (read, rechunk, an arithmetic fusion, a user call) dominated, or when memory peaked.
//! [`plot`] draws that picture:
//!
//! * top panel — a Gantt chart with one row per worker, x = seconds since the start, the
//!   bars coloured by task kind (the eight kinds with the most time get their own colour,
//!   the rest share "other"); past 128 workers a row shows a band of workers;
//! * bottom panel — each worker's store bytes (solid) and resident memory (dashed) over the
//!   same time axis; past 8 workers, the spread across workers (min–max band, mean, max)
//!   instead of a line each.
//!
//! A report without a timeline (written before spans were recorded) gets a bar chart of
//! each worker's busy seconds instead, and one without memory samples gets each worker's
//! peak store and RSS bytes as bars; the title says so.
//!
//! Reports of large runs hold ~200,000 spans, far more than there are pixels. Spans are
//! therefore not drawn one by one: each worker row is cut into one-pixel time columns, the
//! time each kind spent in a column is summed, and the column is filled bottom-up with each
//! kind's share of it (a column a task covers fully is filled with its colour; a column with
//! a few short tasks is only partly filled). Neighbouring columns that fill alike are merged
//! into one rectangle, so the picture costs at most a few rectangles per pixel column and
//! worker whatever the number of spans.
//!
//! SVG and HTML draw their text as SVG `<text>` and need no fonts on the machine. PNG
//! rasterises text with a TrueType font found at run time (`$TESSERA_PLOT_FONT`, then
//! `fc-match sans-serif`, then common paths such as Debian's `fonts-dejavu-core`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendTextStyle, DrawingErrorKind};

use crate::runtime::report::{MemorySample, RunReport, TaskSpan, WorkerStats};

/// What [`plot`] drew.
#[derive(Debug, Clone)]
pub struct PlotSummary {
    /// Task spans taken into the timeline: those with finite times and `end >= start`
    /// (spans with a NaN, infinite or reversed interval are skipped). They are drawn merged
    /// per pixel column, not as one rectangle each.
    pub spans_drawn: usize,
    /// Workers drawn: every rank that has stats, spans or memory samples (past 128 workers,
    /// several share one timeline row).
    pub workers: usize,
    /// Output format: `"png"`, `"svg"` or `"html"`.
    pub format: &'static str,
}

/// Draws the task timeline per worker and memory over time to `out`: PNG for .png, SVG for
/// .svg, a self-contained HTML page for .html/.htm.
///
/// The file is written atomically (a temporary file in the same directory, then a rename),
/// so on error no partial plot is left behind. Errors name an unsupported extension, a
/// missing output directory, or, for PNG only, a machine without a usable font.
pub fn plot(report: &RunReport, out: &Path) -> Result<PlotSummary> {
    let format = OutputFormat::from_path(out)?;
    check_output_dir(out)?;
    let model = Model::from_report(report);
    let bytes = match format {
        OutputFormat::Png => render_png(&model)?,
        OutputFormat::Svg => render_svg(&model)?.into_bytes(),
        OutputFormat::Html => render_html(report, &model)?.into_bytes(),
    };
    write_atomically(out, &bytes)?;
    Ok(PlotSummary {
        spans_drawn: model.spans_drawn,
        workers: model.ranks.len(),
        format: format.name(),
    })
}

// ---------------------------------------------------------------------------------------
// Output format, directory and atomic write
// ---------------------------------------------------------------------------------------

/// The file formats [`plot`] writes, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutputFormat {
    Png,
    Svg,
    Html,
}

impl OutputFormat {
    const SUPPORTED: &'static str = ".png, .svg, .html or .htm";

    fn from_path(out: &Path) -> Result<Self> {
        let ext = out
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .ok_or_else(|| {
                anyhow!(
                    "cannot tell the plot format of {}: it has no extension (use {})",
                    out.display(),
                    Self::SUPPORTED
                )
            })?;
        match ext.as_str() {
            "png" => Ok(Self::Png),
            "svg" => Ok(Self::Svg),
            "html" | "htm" => Ok(Self::Html),
            other => bail!(
                "unsupported plot format '.{other}' for {}: use {}",
                out.display(),
                Self::SUPPORTED
            ),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Svg => "svg",
            Self::Html => "html",
        }
    }
}

/// The directory `out` goes into: its parent, or `.` for a bare file name.
fn output_dir(out: &Path) -> &Path {
    match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn check_output_dir(out: &Path) -> Result<()> {
    let dir = output_dir(out);
    if !dir.is_dir() {
        bail!(
            "cannot write plot {}: output directory {} does not exist",
            out.display(),
            dir.display()
        );
    }
    if out.is_dir() {
        bail!("cannot write plot {}: it is a directory", out.display());
    }
    Ok(())
}

/// Writes `bytes` to a temporary file beside `out`, then renames it over `out`.
fn write_atomically(out: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plot".to_string());
    let tmp = output_dir(out).join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = write_and_sync(&tmp, bytes).and_then(|()| {
        std::fs::rename(&tmp, out)
            .with_context(|| format!("cannot move {} to {}", tmp.display(), out.display()))
    });
    if written.is_err() {
        // Best effort: the temporary file may not even exist.
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn write_and_sync(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

// ---------------------------------------------------------------------------------------
// The model: what to draw, independent of the output format
// ---------------------------------------------------------------------------------------

/// Kinds with their own colour; the rest are drawn as "other".
const MAX_KINDS: usize = 8;
const OTHER_KIND: &str = "other";

/// One task (or busy interval) of one worker row, clamped to `t >= 0`.
#[derive(Debug, Clone, Copy)]
struct Piece {
    kind: usize,
    start: f64,
    end: f64,
}

/// A legend entry of the timeline: a kind, the seconds its tasks ran in total, its colour.
#[derive(Debug, Clone)]
struct KindTotal {
    name: String,
    seconds: f64,
    colour: RGBColor,
}

/// The timeline's rows: one per worker, or one per band of `per_row` consecutive workers
/// when there are more than [`MAX_GANTT_ROWS`] workers (rows would get thinner than a few
/// pixels, and an SVG would hold a rectangle per worker and pixel column).
#[derive(Debug, Clone)]
struct GanttRows {
    ranks: Vec<u32>,
    per_row: usize,
}

impl GanttRows {
    fn new(ranks: &[u32]) -> Self {
        GanttRows {
            ranks: ranks.to_vec(),
            per_row: ranks.len().div_ceil(MAX_GANTT_ROWS).max(1),
        }
    }

    fn len(&self) -> usize {
        self.ranks.len().div_ceil(self.per_row)
    }

    /// The row of the worker at `index` in the ascending ranks.
    fn row_of(&self, index: usize) -> usize {
        index / self.per_row
    }

    fn workers_in(&self, row: usize) -> usize {
        self.ranks
            .len()
            .saturating_sub(row * self.per_row)
            .min(self.per_row)
    }

    fn label(&self, row: usize) -> String {
        let first = self
            .ranks
            .get(row * self.per_row)
            .copied()
            .unwrap_or_default();
        let last_index = (row * self.per_row + self.workers_in(row)).saturating_sub(1);
        match self.ranks.get(last_index) {
            Some(&last) if last != first => format!("workers {first}–{last}"),
            _ => format!("worker {first}"),
        }
    }
}

/// The top panel: pieces per row over `0..x_max`.
#[derive(Debug)]
struct Gantt {
    caption: String,
    rows: GanttRows,
    legend_heading: &'static str,
    /// A last legend line explaining the bars, if they need it.
    legend_note: Option<&'static str>,
    x_desc: &'static str,
    x_max: f64,
    kinds: Vec<KindTotal>,
    pieces_by_row: Vec<Vec<Piece>>,
}

/// One worker's memory samples as `(t, store bytes, rss bytes)`, sorted by time.
#[derive(Debug)]
struct WorkerMemory {
    /// Position of the worker's rank in [`Model::ranks`].
    index: usize,
    points: Vec<(f64, f64, f64)>,
}

/// The bottom panel: memory over time, or peaks when the report has no samples.
#[derive(Debug)]
enum MemoryPanel {
    Series {
        x_max: f64,
        workers: Vec<WorkerMemory>,
    },
    Peaks {
        store: Vec<f64>,
        rss: Vec<f64>,
    },
}

/// Everything [`plot`] draws, taken from a report once.
#[derive(Debug)]
struct Model {
    /// Worker ranks, one row each, ascending.
    ranks: Vec<u32>,
    title: String,
    subtitle: String,
    notes: Vec<String>,
    gantt: Gantt,
    memory: MemoryPanel,
    spans_drawn: usize,
}

impl Model {
    fn from_report(report: &RunReport) -> Self {
        let ranks = worker_ranks(report);
        let index_of: HashMap<u32, usize> =
            ranks.iter().enumerate().map(|(i, &r)| (r, i)).collect();
        let valid: Vec<&TaskSpan> = report
            .timeline
            .iter()
            .filter(|s| span_is_valid(s))
            .collect();
        let time_max = time_extent(report, &valid);
        let mut notes = Vec::new();
        if report.timeline_truncated {
            notes.push("timeline truncated: the report holds only part of the tasks".to_string());
        }
        let rows = GanttRows::new(&ranks);
        let gantt = if report.timeline.is_empty() {
            notes.push("no task timeline in this report: top panel shows busy seconds".into());
            busy_gantt(report, &index_of, rows)
        } else {
            timeline_gantt(&valid, &index_of, rows, time_max)
        };
        let memory = if report.memory.is_empty() {
            notes.push("no memory samples in this report: bottom panel shows peaks".into());
            peak_memory(report, &index_of, ranks.len())
        } else {
            MemoryPanel::Series {
                x_max: time_max,
                workers: memory_series(&report.memory, &index_of),
            }
        };
        Model {
            title: title_line(report, ranks.len()),
            subtitle: volume_line(report),
            notes,
            gantt,
            memory,
            spans_drawn: valid.len(),
            ranks,
        }
    }
}

/// Every rank that appears in the stats, the timeline or the memory samples, ascending.
fn worker_ranks(report: &RunReport) -> Vec<u32> {
    let mut ranks: Vec<u32> = report
        .workers
        .iter()
        .map(|w| w.rank)
        .chain(report.timeline.iter().map(|s| s.worker))
        .chain(report.memory.iter().map(|m| m.worker))
        .collect();
    ranks.sort_unstable();
    ranks.dedup();
    ranks
}

fn span_is_valid(span: &TaskSpan) -> bool {
    span.start.is_finite() && span.end.is_finite() && span.end >= span.start
}

/// The end of the time axis: the wall time, stretched to cover every span and sample (a
/// worker clock may run slightly past rank 0's); 1 s when nothing gives a positive time.
fn time_extent(report: &RunReport, spans: &[&TaskSpan]) -> f64 {
    let ends = spans.iter().map(|s| s.end);
    let samples = report.memory.iter().map(|m| m.t);
    let max = std::iter::once(report.wall_seconds)
        .chain(ends)
        .chain(samples)
        .filter(|t| t.is_finite())
        .fold(0.0_f64, f64::max);
    positive_or(max, 1.0)
}

fn is_positive(value: f64) -> bool {
    value.is_finite() && value > 0.0
}

fn positive_or(value: f64, fallback: f64) -> f64 {
    if is_positive(value) {
        value
    } else {
        fallback
    }
}

fn timeline_gantt(
    spans: &[&TaskSpan],
    index_of: &HashMap<u32, usize>,
    rows: GanttRows,
    x_max: f64,
) -> Gantt {
    let (kinds, kind_of) = rank_kinds(spans);
    let mut pieces_by_row = vec![Vec::new(); rows.len()];
    for span in spans {
        let (Some(&index), Some(&kind)) =
            (index_of.get(&span.worker), kind_of.get(span.kind.as_str()))
        else {
            continue;
        };
        pieces_by_row[rows.row_of(index)].push(Piece {
            kind,
            start: span.start.max(0.0),
            end: span.end.max(0.0),
        });
    }
    let caption = match rows.per_row {
        1 => "Tasks per worker".to_string(),
        n => format!("Tasks per worker ({n} workers per row: bar height is their mean share)"),
    };
    Gantt {
        caption,
        rows,
        legend_heading: "Task kind (share of time)",
        legend_note: Some("bar height = busy share of a pixel"),
        x_desc: "seconds since the computation started",
        x_max,
        kinds,
        pieces_by_row,
    }
}

/// The legend kinds, most time first (at most [`MAX_KINDS`] of them plus "other"), and the
/// legend index of every kind name seen.
fn rank_kinds<'a>(spans: &[&'a TaskSpan]) -> (Vec<KindTotal>, HashMap<&'a str, usize>) {
    let mut totals: HashMap<&str, f64> = HashMap::new();
    for span in spans {
        *totals.entry(span.kind.as_str()).or_default() += span.end.max(0.0) - span.start.max(0.0);
    }
    let mut sorted: Vec<(&str, f64)> = totals.into_iter().collect();
    sorted.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    // Nine kinds fit the legend as well as eight plus "other".
    let named = if sorted.len() <= MAX_KINDS + 1 {
        sorted.len()
    } else {
        MAX_KINDS
    };
    let mut kinds: Vec<KindTotal> = sorted[..named]
        .iter()
        .zip(KIND_COLOURS)
        .map(|(&(name, seconds), colour)| KindTotal {
            name: display_kind(name),
            seconds,
            colour,
        })
        .collect();
    let mut kind_of: HashMap<&str, usize> = HashMap::new();
    for (i, &(name, _)) in sorted.iter().enumerate() {
        kind_of.insert(name, i.min(named));
    }
    if sorted.len() > named {
        let seconds = sorted[named..].iter().map(|k| k.1).sum();
        kinds.push(KindTotal {
            name: OTHER_KIND.to_string(),
            seconds,
            colour: OTHER_COLOUR,
        });
    }
    (kinds, kind_of)
}

fn display_kind(name: &str) -> String {
    if name.trim().is_empty() {
        "(unnamed)".to_string()
    } else {
        name.to_string()
    }
}

/// The fallback top panel: one bar per worker from 0 to its busy seconds.
fn busy_gantt(report: &RunReport, index_of: &HashMap<u32, usize>, rows: GanttRows) -> Gantt {
    let mut pieces_by_row = vec![Vec::new(); rows.len()];
    let mut total = 0.0;
    for w in &report.workers {
        let busy = finite_non_negative(w.busy_seconds);
        if let Some(&index) = index_of.get(&w.rank) {
            pieces_by_row[rows.row_of(index)].push(Piece {
                kind: 0,
                start: 0.0,
                end: busy,
            });
            total += busy;
        }
    }
    // Up to the wall time, so the bars read as a share of the run.
    let x_max = report
        .workers
        .iter()
        .map(|w| finite_non_negative(w.busy_seconds))
        .fold(finite_non_negative(report.wall_seconds), f64::max)
        * 1.02;
    Gantt {
        caption: "Busy seconds per worker (no task timeline in this report)".to_string(),
        rows,
        legend_heading: "Busy time",
        legend_note: None,
        x_desc: "busy seconds",
        x_max: positive_or(x_max, 1.0),
        kinds: vec![KindTotal {
            name: "busy".to_string(),
            seconds: total,
            colour: KIND_COLOURS[0],
        }],
        pieces_by_row,
    }
}

fn finite_non_negative(v: f64) -> f64 {
    if v.is_finite() {
        v.max(0.0)
    } else {
        0.0
    }
}

fn memory_series(samples: &[MemorySample], index_of: &HashMap<u32, usize>) -> Vec<WorkerMemory> {
    let mut by_worker: HashMap<usize, Vec<(f64, f64, f64)>> = HashMap::new();
    for m in samples.iter().filter(|m| m.t.is_finite()) {
        if let Some(&index) = index_of.get(&m.worker) {
            let point = (m.t.max(0.0), m.store_bytes as f64, m.rss_bytes as f64);
            by_worker.entry(index).or_default().push(point);
        }
    }
    let mut workers: Vec<WorkerMemory> = by_worker
        .into_iter()
        .map(|(index, mut points)| {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            WorkerMemory { index, points }
        })
        .collect();
    workers.sort_by_key(|w| w.index);
    workers
}

fn peak_memory(report: &RunReport, index_of: &HashMap<u32, usize>, n: usize) -> MemoryPanel {
    let mut store = vec![0.0; n];
    let mut rss = vec![0.0; n];
    for w in &report.workers {
        if let Some(&i) = index_of.get(&w.rank) {
            store[i] = f64::max(store[i], w.peak_store_bytes as f64);
            rss[i] = f64::max(rss[i], w.peak_rss_bytes as f64);
        }
    }
    MemoryPanel::Peaks { store, rss }
}

fn title_line(report: &RunReport, workers: usize) -> String {
    let transport = if report.transport.trim().is_empty() {
        "unknown transport"
    } else {
        report.transport.as_str()
    };
    format!(
        "Tessera run · {transport} · wall {} · {} tasks · {workers} worker{}",
        format_seconds(report.wall_seconds),
        group_thousands(report.tasks),
        if workers == 1 { "" } else { "s" }
    )
}

fn volume_line(report: &RunReport) -> String {
    format!(
        "moved {} · read {} · spilled {} · scattered {} · gathered {}",
        human_bytes(report.bytes_moved as f64),
        human_bytes(report.bytes_read as f64),
        human_bytes(report.bytes_spilled as f64),
        human_bytes(report.bytes_scattered as f64),
        human_bytes(report.bytes_gathered as f64)
    )
}

// ---------------------------------------------------------------------------------------
// Per-pixel-column occupancy of one worker row
// ---------------------------------------------------------------------------------------

/// Adjacent pixel columns of one row that are filled alike. `tops[k]` is how many pixels
/// (from the bottom of the bar) kinds `0..=k` fill together, so kind `k` fills
/// `tops[k-1]..tops[k]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ColumnRun {
    cols: Range<usize>,
    tops: Vec<u32>,
}

/// Sums, per kind and pixel column, the seconds `pieces` spend in the column (columns of
/// `x_max / cols` seconds), turns each column into a bottom-up stack of kind shares of a
/// `bar_px`-high bar, and merges neighbouring columns with equal stacks. A full bar is
/// `workers` times a column's seconds (a row may show a band of workers); columns where
/// tasks overlap beyond that are scaled to fill the bar.
fn occupancy_runs(
    pieces: &[Piece],
    (kinds, workers): (usize, usize),
    cols: usize,
    x_max: f64,
    bar_px: u32,
) -> Vec<ColumnRun> {
    if kinds == 0 || cols == 0 || !is_positive(x_max) {
        return Vec::new();
    }
    let dt = x_max / cols as f64;
    let (partial, full) = accumulate_columns(pieces, kinds, cols, dt);
    let mut runs: Vec<ColumnRun> = Vec::new();
    let mut covering = vec![0_i64; kinds];
    let mut seconds = vec![0.0_f64; kinds];
    for c in 0..cols {
        for k in 0..kinds {
            covering[k] += full[k * (cols + 1) + c];
            seconds[k] = partial[k * cols + c] + covering[k] as f64 * dt;
        }
        let tops = stack_tops(&seconds, dt * workers.max(1) as f64, bar_px);
        if tops.last().copied().unwrap_or(0) == 0 {
            continue;
        }
        match runs.last_mut() {
            Some(run) if run.cols.end == c && run.tops == tops => run.cols.end = c + 1,
            _ => runs.push(ColumnRun {
                cols: c..c + 1,
                tops,
            }),
        }
    }
    runs
}

/// Seconds of each kind in each column: `partial[k * cols + c]` holds the partly covered
/// end columns of pieces, `full[k * (cols + 1) + c]` a difference array of the columns
/// pieces cover entirely (so a long task costs O(1), not O(columns)).
fn accumulate_columns(
    pieces: &[Piece],
    kinds: usize,
    cols: usize,
    dt: f64,
) -> (Vec<f64>, Vec<i64>) {
    let mut partial = vec![0.0_f64; kinds * cols];
    let mut full = vec![0_i64; kinds * (cols + 1)];
    if cols == 0 {
        return (partial, full);
    }
    let x_max = dt * cols as f64;
    let column_of = |t: f64| ((t / dt) as usize).min(cols - 1);
    for p in pieces.iter().filter(|p| p.kind < kinds) {
        let (start, end) = (p.start.clamp(0.0, x_max), p.end.clamp(0.0, x_max));
        if end <= start {
            continue;
        }
        let (first, last) = (column_of(start), column_of(end));
        let row = &mut partial[p.kind * cols..(p.kind + 1) * cols];
        if first == last {
            row[first] += end - start;
            continue;
        }
        row[first] += (first + 1) as f64 * dt - start;
        row[last] += end - last as f64 * dt;
        if last > first + 1 {
            full[p.kind * (cols + 1) + first + 1] += 1;
            full[p.kind * (cols + 1) + last] -= 1;
        }
    }
    (partial, full)
}

/// Cumulative pixel heights of each kind's share of a column's `capacity` seconds.
fn stack_tops(seconds: &[f64], capacity: f64, bar_px: u32) -> Vec<u32> {
    let total: f64 = seconds.iter().sum();
    let scale = f64::from(bar_px) / total.max(capacity);
    let mut cumulative = 0.0;
    seconds
        .iter()
        .map(|s| {
            cumulative += s;
            ((cumulative * scale).round() as u32).min(bar_px)
        })
        .collect()
}

/// Keeps at most about two points per pixel column: the largest store and RSS bytes of
/// each column, at the column's middle. Memory peaks survive; sample noise does not cost
/// SVG size.
fn decimate_memory(points: &[(f64, f64, f64)], cols: usize, x_max: f64) -> Vec<(f64, f64, f64)> {
    if cols == 0 || points.len() <= 2 * cols || !is_positive(x_max) {
        return points.to_vec();
    }
    let dt = x_max / cols as f64;
    let mut out: Vec<(f64, f64, f64)> = Vec::with_capacity(cols);
    let mut current: Option<(usize, f64, f64)> = None;
    for &(t, store, rss) in points {
        let col = ((t / dt) as usize).min(cols - 1);
        current = match current {
            Some((c, s, r)) if c == col => Some((c, s.max(store), r.max(rss))),
            Some((c, s, r)) => {
                out.push(((c as f64 + 0.5) * dt, s, r));
                Some((col, store, rss))
            }
            None => Some((col, store, rss)),
        };
    }
    if let Some((c, s, r)) = current {
        out.push(((c as f64 + 0.5) * dt, s, r));
    }
    out
}

// ---------------------------------------------------------------------------------------
// Layout, colours and text
// ---------------------------------------------------------------------------------------

const FONT: &str = "sans-serif";
const WIDTH: u32 = 1400;
const TITLE_H: u32 = 72;
const NOTE_H: u32 = 24;
const LEGEND_W: u32 = 270;
const Y_LABEL_W: u32 = 124;
const X_LABEL_H: u32 = 48;
const PANEL_MARGIN: u32 = 10;
const CAPTION_H: u32 = 34;
const MEMORY_PLOT_H: u32 = 260;
const ROW_PX: u32 = 40;
const MIN_GANTT_PLOT_H: u32 = 180;
const MAX_GANTT_PLOT_H: u32 = 760;
const LEGEND_ROW_H: i32 = 22;
const LABEL_SIZE: f64 = 15.0;
/// Up to this many workers get a memory line each; more are summarised across workers.
const MAX_MEMORY_LINES: usize = 8;
/// At most this many timeline rows (about 6 px each); more workers share rows.
const MAX_GANTT_ROWS: usize = 128;

/// Tableau 10 (distinct on white, fairly colour-blind safe) for task kinds; its grey is
/// kept for "other". Nine colours: nine kinds are shown without an "other".
const KIND_COLOURS: [RGBColor; MAX_KINDS + 1] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(89, 161, 79),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(237, 201, 72),
    RGBColor(176, 122, 161),
    RGBColor(156, 117, 95),
    RGBColor(255, 157, 167),
];
const OTHER_COLOUR: RGBColor = RGBColor(186, 176, 172);
/// Dark2-like line colours for workers' memory, cycled.
const WORKER_COLOURS: [RGBColor; 8] = [
    RGBColor(27, 158, 119),
    RGBColor(217, 95, 2),
    RGBColor(117, 112, 179),
    RGBColor(231, 41, 138),
    RGBColor(102, 166, 30),
    RGBColor(200, 150, 0),
    RGBColor(166, 118, 29),
    RGBColor(80, 80, 80),
];
const TEXT_COLOUR: RGBColor = RGBColor(30, 30, 30);
const NOTE_COLOUR: RGBColor = RGBColor(170, 40, 40);
const GRID_COLOUR: RGBColor = RGBColor(225, 225, 225);
const ROW_RULE_COLOUR: RGBColor = RGBColor(238, 238, 238);

const SPREAD_BAND_COLOUR: RGBColor = RGBColor(190, 215, 235);
const SPREAD_MEAN_COLOUR: RGBColor = RGBColor(78, 121, 167);
const SPREAD_MAX_COLOUR: RGBColor = RGBColor(40, 40, 60);
const PEAK_STORE_COLOUR: RGBColor = RGBColor(78, 121, 167);
const PEAK_RSS_COLOUR: RGBColor = RGBColor(168, 194, 220);

fn kind_colour(kinds: &[KindTotal], kind: usize) -> RGBColor {
    kinds.get(kind).map_or(OTHER_COLOUR, |k| k.colour)
}

fn worker_colour(index: usize) -> RGBColor {
    WORKER_COLOURS[index % WORKER_COLOURS.len()]
}

/// Pixel sizes of the figure; the timeline grows with the number of workers.
#[derive(Debug, Clone, Copy)]
struct Layout {
    width: u32,
    title_h: u32,
    gantt_h: u32,
    memory_h: u32,
}

impl Layout {
    fn for_model(model: &Model) -> Self {
        let notes = if model.notes.is_empty() { 0 } else { NOTE_H };
        let rows = u32::try_from(model.gantt.rows.len()).unwrap_or(u32::MAX);
        let plot_h = rows
            .saturating_mul(ROW_PX)
            .clamp(MIN_GANTT_PLOT_H, MAX_GANTT_PLOT_H);
        let chrome = 2 * PANEL_MARGIN + CAPTION_H + X_LABEL_H;
        Layout {
            width: WIDTH,
            title_h: TITLE_H + notes,
            gantt_h: plot_h + chrome,
            memory_h: MEMORY_PLOT_H + chrome,
        }
    }

    fn height(self) -> u32 {
        self.title_h + self.gantt_h + self.memory_h
    }

    fn size(self) -> (u32, u32) {
        (self.width, self.height())
    }
}

fn text_style(size: f64, colour: RGBColor, anchor: Pos) -> TextStyle<'static> {
    TextStyle {
        font: (FONT, size).into_font(),
        color: colour.to_backend_color(),
        pos: anchor,
    }
}

const LEFT_TOP: Pos = Pos {
    h_pos: HPos::Left,
    v_pos: VPos::Top,
};
const LEFT_CENTER: Pos = Pos {
    h_pos: HPos::Left,
    v_pos: VPos::Center,
};
const RIGHT_CENTER: Pos = Pos {
    h_pos: HPos::Right,
    v_pos: VPos::Center,
};
const CENTER_TOP: Pos = Pos {
    h_pos: HPos::Center,
    v_pos: VPos::Top,
};
const CENTER_CENTER: Pos = Pos {
    h_pos: HPos::Center,
    v_pos: VPos::Center,
};

/// Decimal units (1 MB = 10^6 bytes), three significant digits.
fn human_bytes(bytes: f64) -> String {
    const UNITS: [(f64, &str); 4] = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")];
    if !is_positive(bytes) {
        return "0 B".to_string();
    }
    UNITS
        .iter()
        .find(|(scale, _)| bytes >= *scale)
        .map(|(scale, unit)| format!("{} {unit}", three_digits(bytes / scale)))
        .unwrap_or_else(|| format!("{bytes:.0} B"))
}

fn format_seconds(seconds: f64) -> String {
    if !is_positive(seconds) {
        "0 s".to_string()
    } else if seconds < 1.0 {
        format!("{} ms", three_digits(seconds * 1e3))
    } else {
        format!("{} s", three_digits(seconds))
    }
}

/// `v` with three significant digits (all integer digits from 1000 on), no trailing zeros.
fn three_digits(v: f64) -> String {
    let text = if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    trim_fraction(text)
}

fn trim_fraction(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Axis tick label for seconds, without float noise or trailing zeros.
fn tick_seconds(v: &f64) -> String {
    trim_fraction(format!("{v:.6}"))
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Shortens a label to `max` characters with an ellipsis.
fn truncate_label(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let kept: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

// ---------------------------------------------------------------------------------------
// Drawing (any plotters backend)
// ---------------------------------------------------------------------------------------

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A legend swatch: a filled box, or a short solid or dashed line.
#[derive(Debug, Clone, Copy)]
enum Swatch {
    Box(RGBColor),
    Line(RGBColor),
    Dashed(RGBColor),
    None,
}

fn draw_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    model: &Model,
    layout: Layout,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (title, rest) = root.split_vertically(layout.title_h);
    let (gantt, memory) = rest.split_vertically(layout.gantt_h);
    draw_title(&title, model)?;
    let (gantt_chart, gantt_legend) = gantt.split_horizontally(layout.width - LEGEND_W);
    let cols = draw_gantt(root, &gantt_chart, model)?;
    draw_legend(
        &gantt_legend,
        model.gantt.legend_heading,
        &kind_legend(&model.gantt),
    )?;
    let (memory_chart, memory_legend) = memory.split_horizontally(layout.width - LEGEND_W);
    let legend = match &model.memory {
        MemoryPanel::Series { x_max, workers } => {
            draw_memory_series(&memory_chart, *x_max, workers, cols)?;
            memory_series_legend(&model.ranks, workers)
        }
        MemoryPanel::Peaks { store, rss } => {
            draw_memory_peaks(root, &memory_chart, &model.ranks, store, rss)?;
            memory_peaks_legend()
        }
    };
    draw_legend(&memory_legend, "Memory", &legend)
}

fn draw_title<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, model: &Model) -> DrawResult<DB> {
    area.draw(&Text::new(
        model.title.clone(),
        (16, 12),
        text_style(22.0, TEXT_COLOUR, LEFT_TOP),
    ))?;
    area.draw(&Text::new(
        model.subtitle.clone(),
        (16, 42),
        text_style(16.0, TEXT_COLOUR, LEFT_TOP),
    ))?;
    if !model.notes.is_empty() {
        area.draw(&Text::new(
            model.notes.join(" · "),
            (16, 66),
            text_style(15.0, NOTE_COLOUR, LEFT_TOP),
        ))?;
    }
    Ok(())
}

/// Draws the timeline panel; returns the plot's width in pixels (its time columns).
fn draw_gantt<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    model: &Model,
) -> Result<usize, DrawingAreaErrorKind<DB::ErrorType>> {
    let gantt = &model.gantt;
    let rows = gantt.rows.len();
    let mut chart = ChartBuilder::on(area)
        .caption(&gantt.caption, (FONT, 18.0))
        .margin(PANEL_MARGIN)
        .x_label_area_size(X_LABEL_H)
        .y_label_area_size(Y_LABEL_W)
        .build_cartesian_2d(0.0..gantt.x_max, 0.0..rows.max(1) as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(12)
        .x_label_formatter(&tick_seconds)
        .x_desc(gantt.x_desc)
        .label_style((FONT, LABEL_SIZE))
        .axis_desc_style((FONT, LABEL_SIZE))
        .bold_line_style(GRID_COLOUR)
        .light_line_style(WHITE)
        .draw()?;
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let cols = usize::try_from(xs.end - xs.start).unwrap_or(0);
    if rows == 0 {
        draw_centered_note(root, &xs, &ys, "no workers in this report")?;
        return Ok(cols);
    }
    let row_px = f64::from(ys.end - ys.start) / rows as f64;
    for (row, pieces) in gantt.pieces_by_row.iter().enumerate() {
        let top = ys.start + (row as f64 * row_px).round() as i32;
        let bottom = ys.start + ((row + 1) as f64 * row_px).round() as i32;
        let workers = gantt.rows.workers_in(row);
        draw_row_bars(
            root,
            gantt,
            (pieces, workers),
            xs.start,
            cols,
            (top, bottom),
        )?;
        if row > 0 && row_px >= 8.0 {
            root.draw(&PathElement::new(
                vec![(xs.start, top), (xs.end - 1, top)],
                ROW_RULE_COLOUR,
            ))?;
        }
    }
    draw_row_labels(root, &gantt.rows, xs.start - 8, ys.start, row_px)?;
    Ok(cols)
}

/// Fills one row (pixel rows `top..bottom`; its pieces and how many workers it shows) from
/// its per-column occupancy.
fn draw_row_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    gantt: &Gantt,
    (pieces, workers): (&[Piece], usize),
    x0: i32,
    cols: usize,
    (top, bottom): (i32, i32),
) -> DrawResult<DB> {
    let height = bottom - top;
    let pad = if height >= 8 { height / 8 } else { 0 };
    let (bar_top, bar_bottom) = (top + pad, bottom - pad);
    let bar_px = u32::try_from(bar_bottom - bar_top).unwrap_or(0).max(1);
    let kinds = gantt.kinds.len();
    let runs = occupancy_runs(pieces, (kinds, workers), cols, gantt.x_max, bar_px);
    let rects = runs.iter().flat_map(|run| {
        // Filled rectangles exclude their bottom-right corner on both backends.
        let left = x0 + run.cols.start as i32;
        let right = x0 + run.cols.end as i32;
        let mut below = 0_u32;
        run.tops
            .iter()
            .enumerate()
            .filter_map(move |(kind, &up_to)| {
                let from = below;
                below = up_to;
                (up_to > from).then(|| {
                    let y_top = bar_bottom - up_to as i32;
                    let y_end = bar_bottom - from as i32;
                    Rectangle::new(
                        [(left, y_top), (right, y_end)],
                        kind_colour(&gantt.kinds, kind).filled(),
                    )
                })
            })
    });
    for rect in rects {
        root.draw(&rect)?;
    }
    Ok(())
}

/// "worker N" left of each row; every k-th row when rows are too thin for all labels.
fn draw_row_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rows: &GanttRows,
    right_edge: i32,
    y0: i32,
    row_px: f64,
) -> DrawResult<DB> {
    let stride = label_stride(row_px, LABEL_SIZE + 3.0);
    for row in (0..rows.len()).step_by(stride) {
        let y = y0 + ((row as f64 + 0.5) * row_px).round() as i32;
        root.draw(&Text::new(
            rows.label(row),
            (right_edge, y),
            text_style(LABEL_SIZE, TEXT_COLOUR, RIGHT_CENTER),
        ))?;
    }
    Ok(())
}

/// How many rows (or columns) of `pitch` pixels one label of `needed` pixels spans.
fn label_stride(pitch: f64, needed: f64) -> usize {
    if pitch >= needed || !is_positive(pitch) {
        1
    } else {
        (needed / pitch).ceil() as usize
    }
}

fn draw_centered_note<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    xs: &Range<i32>,
    ys: &Range<i32>,
    note: &str,
) -> DrawResult<DB> {
    root.draw(&Text::new(
        note.to_string(),
        ((xs.start + xs.end) / 2, (ys.start + ys.end) / 2),
        text_style(18.0, NOTE_COLOUR, CENTER_CENTER),
    ))
}

fn draw_memory_series<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    x_max: f64,
    workers: &[WorkerMemory],
    cols: usize,
) -> DrawResult<DB> {
    let y_max = workers
        .iter()
        .flat_map(|w| w.points.iter().map(|p| p.1.max(p.2)))
        .fold(0.0, f64::max);
    let mut chart = memory_chart(area, 0.0..x_max, positive_or(y_max * 1.08, 1e6))?;
    chart
        .configure_mesh()
        .x_labels(12)
        .x_label_formatter(&tick_seconds)
        .y_label_formatter(&|v| human_bytes(*v))
        .x_desc("seconds since the computation started")
        .label_style((FONT, LABEL_SIZE))
        .axis_desc_style((FONT, LABEL_SIZE))
        .bold_line_style(GRID_COLOUR)
        .light_line_style(WHITE)
        .draw()?;
    if workers.len() <= MAX_MEMORY_LINES {
        draw_worker_lines(&mut chart, workers, cols, x_max)
    } else {
        let spread = MemorySpread::across(workers, cols, x_max);
        draw_memory_spread(&mut chart, &spread)
    }
}

/// One store line (solid) and one RSS line (dashed) per worker.
fn draw_worker_lines<DB: DrawingBackend>(
    chart: &mut MemoryChart<'_, DB>,
    workers: &[WorkerMemory],
    cols: usize,
    x_max: f64,
) -> DrawResult<DB> {
    for worker in workers {
        let colour = worker_colour(worker.index);
        let points = decimate_memory(&worker.points, cols, x_max);
        let rss: Vec<(f64, f64)> = points.iter().map(|p| (p.0, p.2)).collect();
        let store: Vec<(f64, f64)> = points.iter().map(|p| (p.0, p.1)).collect();
        draw_thick_line(chart, &rss, colour, Dash::Dashed)?;
        draw_thick_line(chart, &store, colour, Dash::Solid)?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dash {
    Solid,
    Dashed,
}

/// Draws a two-pixel line as three one-pixel lines, the second and third shifted a pixel
/// right and up. (plotters rasterises wider lines as polygons with unlimited miter joins,
/// which throws long spikes from the sharp corners of a noisy memory series.)
fn draw_thick_line<DB: DrawingBackend>(
    chart: &mut MemoryChart<'_, DB>,
    points: &[(f64, f64)],
    colour: RGBColor,
    dash: Dash,
) -> DrawResult<DB> {
    let (dx, dy) = data_per_pixel(chart);
    for (ox, oy) in [(0.0, 0.0), (dx, 0.0), (0.0, dy)] {
        let shifted = points.iter().map(move |&(x, y)| (x + ox, y + oy));
        match dash {
            Dash::Solid => chart.draw_series(LineSeries::new(shifted, colour))?,
            Dash::Dashed => {
                chart.draw_series(DashedLineSeries::new(shifted, 7, 5, colour.into()))?
            }
        };
    }
    Ok(())
}

/// The data distance one pixel spans along x and along y.
fn data_per_pixel<DB: DrawingBackend>(chart: &MemoryChart<'_, DB>) -> (f64, f64) {
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let (x, y) = (chart.x_range(), chart.y_range());
    let per = |span: f64, px: i32| if px > 0 { span / f64::from(px) } else { 0.0 };
    (
        per(x.end - x.start, xs.end - xs.start),
        per(y.end - y.start, ys.end - ys.start),
    )
}

/// Too many workers for a line each: the band between the least and most store bytes of
/// any worker, the mean store line, the most store line and the most RSS (dashed).
fn draw_memory_spread<DB: DrawingBackend>(
    chart: &mut MemoryChart<'_, DB>,
    spread: &MemorySpread,
) -> DrawResult<DB> {
    let band: Vec<(f64, f64)> = spread
        .columns
        .iter()
        .map(|c| (c.t, c.store_max))
        .chain(spread.columns.iter().rev().map(|c| (c.t, c.store_min)))
        .collect();
    chart.draw_series(std::iter::once(Polygon::new(
        band,
        SPREAD_BAND_COLOUR.filled(),
    )))?;
    let line = |value: fn(&SpreadColumn) -> f64| -> Vec<(f64, f64)> {
        spread.columns.iter().map(|c| (c.t, value(c))).collect()
    };
    draw_thick_line(chart, &line(|c| c.rss_max), SPREAD_MAX_COLOUR, Dash::Dashed)?;
    draw_thick_line(
        chart,
        &line(|c| c.store_max),
        SPREAD_MAX_COLOUR,
        Dash::Solid,
    )?;
    draw_thick_line(
        chart,
        &line(|c| c.store_mean),
        SPREAD_MEAN_COLOUR,
        Dash::Solid,
    )
}

/// Workers' memory per pixel column, summarised across workers.
#[derive(Debug, Clone, PartialEq)]
struct SpreadColumn {
    t: f64,
    store_min: f64,
    store_mean: f64,
    store_max: f64,
    rss_max: f64,
}

#[derive(Debug)]
struct MemorySpread {
    /// Columns where at least one worker has a value, in time order.
    columns: Vec<SpreadColumn>,
}

impl MemorySpread {
    fn across(workers: &[WorkerMemory], cols: usize, x_max: f64) -> Self {
        let per_worker: Vec<Vec<Option<(f64, f64)>>> = workers
            .iter()
            .map(|w| column_values(&w.points, cols, x_max))
            .collect();
        let dt = x_max / cols.max(1) as f64;
        let columns = (0..cols)
            .filter_map(|c| {
                let values = per_worker.iter().filter_map(|v| v[c]);
                spread_column((c as f64 + 0.5) * dt, values)
            })
            .collect();
        MemorySpread { columns }
    }
}

fn spread_column(t: f64, values: impl Iterator<Item = (f64, f64)>) -> Option<SpreadColumn> {
    let mut column = SpreadColumn {
        t,
        store_min: f64::INFINITY,
        store_mean: 0.0,
        store_max: 0.0,
        rss_max: 0.0,
    };
    let mut count = 0_usize;
    for (store, rss) in values {
        column.store_min = column.store_min.min(store);
        column.store_max = column.store_max.max(store);
        column.store_mean += store;
        column.rss_max = column.rss_max.max(rss);
        count += 1;
    }
    (count > 0).then(|| SpreadColumn {
        store_mean: column.store_mean / count as f64,
        ..column
    })
}

/// One worker's `(store, rss)` in each pixel column between its first and last sample: the
/// largest sample in the column, or a linear interpolation between the samples around it.
fn column_values(points: &[(f64, f64, f64)], cols: usize, x_max: f64) -> Vec<Option<(f64, f64)>> {
    let mut values: Vec<Option<(f64, f64)>> = vec![None; cols];
    if cols == 0 || !is_positive(x_max) {
        return values;
    }
    let dt = x_max / cols as f64;
    let column_of = |t: f64| ((t / dt) as usize).min(cols - 1);
    for &(t, store, rss) in points {
        let slot = &mut values[column_of(t)];
        *slot = Some(slot.map_or((store, rss), |(s, r)| (s.max(store), r.max(rss))));
    }
    for pair in points.windows(2) {
        let ((t0, s0, r0), (t1, s1, r1)) = (pair[0], pair[1]);
        let first = column_of(t0) + 1;
        let Some(between) = values.get_mut(first..column_of(t1)) else {
            continue;
        };
        for (c, slot) in (first..).zip(between) {
            let f = ((c as f64 + 0.5) * dt - t0) / (t1 - t0);
            *slot = Some((s0 + f * (s1 - s0), r0 + f * (r1 - r0)));
        }
    }
    values
}

type MemoryChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn memory_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    x: Range<f64>,
    y_max: f64,
) -> Result<MemoryChart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    ChartBuilder::on(area)
        .caption("Memory per worker", (FONT, 18.0))
        .margin(PANEL_MARGIN)
        .x_label_area_size(X_LABEL_H)
        .y_label_area_size(Y_LABEL_W)
        .build_cartesian_2d(x, 0.0..y_max)
}

/// The fallback bottom panel: each worker's peak store and RSS bytes side by side.
fn draw_memory_peaks<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    ranks: &[u32],
    store: &[f64],
    rss: &[f64],
) -> DrawResult<DB> {
    let y_max = store.iter().chain(rss).copied().fold(0.0, f64::max);
    let mut chart = memory_chart(
        area,
        0.0..ranks.len().max(1) as f64,
        positive_or(y_max * 1.08, 1e6),
    )?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_label_formatter(&|v| human_bytes(*v))
        .x_desc("peak memory per worker (no memory samples in this report)")
        .label_style((FONT, LABEL_SIZE))
        .axis_desc_style((FONT, LABEL_SIZE))
        .bold_line_style(GRID_COLOUR)
        .light_line_style(WHITE)
        .draw()?;
    let bars = store.iter().zip(rss).enumerate().flat_map(|(i, (&s, &r))| {
        let x = i as f64;
        [
            Rectangle::new([(x + 0.15, 0.0), (x + 0.5, s)], PEAK_STORE_COLOUR.filled()),
            Rectangle::new([(x + 0.5, 0.0), (x + 0.85, r)], PEAK_RSS_COLOUR.filled()),
        ]
    });
    chart.draw_series(bars)?;
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    if ranks.is_empty() {
        return draw_centered_note(root, &xs, &ys, "no workers in this report");
    }
    let col_px = f64::from(xs.end - xs.start) / ranks.len() as f64;
    let stride = label_stride(col_px, 80.0);
    for (i, rank) in ranks.iter().enumerate().step_by(stride) {
        let x = xs.start + ((i as f64 + 0.5) * col_px).round() as i32;
        root.draw(&Text::new(
            format!("worker {rank}"),
            (x, ys.end + 6),
            text_style(LABEL_SIZE, TEXT_COLOUR, CENTER_TOP),
        ))?;
    }
    Ok(())
}

fn kind_legend(gantt: &Gantt) -> Vec<(Swatch, String)> {
    let total: f64 = gantt.kinds.iter().map(|k| k.seconds).sum();
    gantt
        .kinds
        .iter()
        .map(|k| {
            let share = if total > 0.0 {
                100.0 * k.seconds / total
            } else {
                0.0
            };
            let label = format!(
                "{} · {} ({share:.0}%)",
                truncate_label(&k.name, 18),
                format_seconds(k.seconds)
            );
            (Swatch::Box(k.colour), label)
        })
        .chain(
            gantt
                .legend_note
                .map(|note| (Swatch::None, note.to_string())),
        )
        .collect()
}

fn memory_series_legend(ranks: &[u32], workers: &[WorkerMemory]) -> Vec<(Swatch, String)> {
    let grey = RGBColor(90, 90, 90);
    if workers.len() > MAX_MEMORY_LINES {
        return memory_spread_legend(ranks, workers);
    }
    let mut entries = vec![
        (Swatch::Line(grey), "store bytes".to_string()),
        (Swatch::Dashed(grey), "resident memory (RSS)".to_string()),
    ];
    for w in workers {
        let rank = ranks.get(w.index).copied().unwrap_or_default();
        entries.push((
            Swatch::Box(worker_colour(w.index)),
            format!("worker {rank}"),
        ));
    }
    entries
}

fn memory_spread_legend(ranks: &[u32], workers: &[WorkerMemory]) -> Vec<(Swatch, String)> {
    let mut entries = vec![
        (
            Swatch::Box(SPREAD_BAND_COLOUR),
            format!("store, min–max of {} workers", workers.len()),
        ),
        (Swatch::Line(SPREAD_MEAN_COLOUR), "store, mean".to_string()),
        (Swatch::Line(SPREAD_MAX_COLOUR), "store, max".to_string()),
        (
            Swatch::Dashed(SPREAD_MAX_COLOUR),
            "resident memory (RSS), max".to_string(),
        ),
    ];
    let peak = workers
        .iter()
        .flat_map(|w| w.points.iter().map(move |p| (w.index, p.1)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((index, bytes)) = peak {
        let rank = ranks.get(index).copied().unwrap_or_default();
        let label = format!("peak store: worker {rank}, {}", human_bytes(bytes));
        entries.push((Swatch::None, label));
    }
    entries
}

fn memory_peaks_legend() -> Vec<(Swatch, String)> {
    vec![
        (
            Swatch::Box(PEAK_STORE_COLOUR),
            "peak store bytes".to_string(),
        ),
        (Swatch::Box(PEAK_RSS_COLOUR), "peak RSS".to_string()),
    ]
}

/// Draws a titled, vertical legend; entries that do not fit are cut with "…".
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    heading: &str,
    entries: &[(Swatch, String)],
) -> DrawResult<DB> {
    let (_, height) = area.dim_in_pixel();
    let top = PANEL_MARGIN as i32 + CAPTION_H as i32;
    area.draw(&Text::new(
        heading.to_string(),
        (4, top),
        text_style(LABEL_SIZE, TEXT_COLOUR, LEFT_TOP),
    ))?;
    let first = top + LEGEND_ROW_H + 8;
    let fit = usize::try_from((height as i32 - first) / LEGEND_ROW_H).unwrap_or(0);
    for (i, (swatch, label)) in entries.iter().enumerate() {
        let y = first + i as i32 * LEGEND_ROW_H;
        if i + 1 == fit && entries.len() > fit {
            let more = format!("… {} more", entries.len() - i);
            return area.draw(&Text::new(
                more,
                (36, y),
                text_style(LABEL_SIZE, TEXT_COLOUR, LEFT_CENTER),
            ));
        }
        draw_swatch(area, *swatch, (8, y))?;
        area.draw(&Text::new(
            label.clone(),
            (36, y),
            text_style(LABEL_SIZE - 1.0, TEXT_COLOUR, LEFT_CENTER),
        ))?;
    }
    Ok(())
}

fn draw_swatch<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    swatch: Swatch,
    (x, y): (i32, i32),
) -> DrawResult<DB> {
    match swatch {
        Swatch::Box(colour) => area.draw(&Rectangle::new(
            [(x, y - 7), (x + 19, y + 7)],
            colour.filled(),
        )),
        Swatch::Line(colour) => area.draw(&PathElement::new(
            vec![(x, y), (x + 20, y)],
            colour.stroke_width(2),
        )),
        Swatch::Dashed(colour) => {
            for dash in [x, x + 8, x + 16] {
                area.draw(&PathElement::new(
                    vec![(dash, y), (dash + 5, y)],
                    colour.stroke_width(2),
                ))?;
            }
            Ok(())
        }
        Swatch::None => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------
// Backends: PNG (bitmap + TrueType font), SVG (no font needed), HTML
// ---------------------------------------------------------------------------------------

fn render_png(model: &Model) -> Result<Vec<u8>> {
    ensure_png_font()?;
    let layout = Layout::for_model(model);
    let (width, height) = layout.size();
    let mut rgb = vec![255_u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        draw_figure(&root, model, layout).map_err(|e| anyhow!("cannot draw the PNG plot: {e}"))?;
        root.present()
            .map_err(|e| anyhow!("cannot draw the PNG plot: {e}"))?;
    }
    encode_png(&rgb, width, height)
}

fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    let mut png_bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut png_bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder
        .write_header()
        .context("cannot encode the PNG plot")?;
    writer
        .write_image_data(rgb)
        .and_then(|()| writer.finish())
        .context("cannot encode the PNG plot")?;
    Ok(png_bytes)
}

fn render_svg(model: &Model) -> Result<String> {
    let layout = Layout::for_model(model);
    let mut svg = String::new();
    {
        let root = SvgCanvas::new(&mut svg, layout.size()).into_drawing_area();
        draw_figure(&root, model, layout).map_err(|e| anyhow!("cannot draw the SVG plot: {e}"))?;
        root.present()
            .map_err(|e| anyhow!("cannot draw the SVG plot: {e}"))?;
    }
    Ok(svg)
}

/// plotters' SVG backend, except that text is measured from its length instead of with a
/// font: the viewer's font renders it anyway, so writing SVG needs no fonts here.
struct SvgCanvas<'a> {
    inner: SVGBackend<'a>,
}

impl<'a> SvgCanvas<'a> {
    fn new(buf: &'a mut String, size: (u32, u32)) -> Self {
        SvgCanvas {
            inner: SVGBackend::with_string(buf, size),
        }
    }
}

type SvgError = DrawingErrorKind<<SVGBackend<'static> as DrawingBackend>::ErrorType>;

impl DrawingBackend for SvgCanvas<'_> {
    type ErrorType = <SVGBackend<'static> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), SvgError> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), SvgError> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), SvgError> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: plotters_backend::BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), SvgError> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: plotters_backend::BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), SvgError> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: plotters_backend::BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), SvgError> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: plotters_backend::BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), SvgError> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: plotters_backend::BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), SvgError> {
        self.inner.fill_polygon(vert, style)
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), SvgError> {
        self.inner.draw_text(text, style, pos)
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), SvgError> {
        // plotters writes font-size = size / 1.24; a sans-serif glyph averages ~0.55 em.
        let em = style.size() / 1.24;
        let width = 0.55 * em * text.chars().count() as f64;
        Ok((width.ceil() as u32, em.ceil() as u32))
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), SvgError> {
        self.inner.blit_bitmap(pos, size, src)
    }
}

/// A self-contained page: the SVG inline and a table of per-worker counters.
fn render_html(report: &RunReport, model: &Model) -> Result<String> {
    let svg = render_svg(model)?;
    let mut page = String::with_capacity(svg.len() + 4096);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(page, "<title>{}</title>", escape_html(&model.title));
    page.push_str(concat!(
        "<style>\n",
        "body{font-family:sans-serif;margin:1.5em;color:#1e1e1e}\n",
        "svg{max-width:100%;height:auto}\n",
        "table{border-collapse:collapse;margin-top:1em}\n",
        "th,td{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}\n",
        "th:first-child,td:first-child{text-align:left}\n",
        "thead th{background:#f3f3f3}\n",
        "</style>\n</head>\n<body>\n"
    ));
    page.push_str("<h1>Tessera run report</h1>\n");
    page.push_str(&svg);
    page.push_str("\n<h2>Per-worker counters</h2>\n");
    page.push_str(&stats_table(&report.workers));
    page.push_str("</body>\n</html>\n");
    Ok(page)
}

fn stats_table(workers: &[WorkerStats]) -> String {
    let mut table = String::from(concat!(
        "<table>\n<thead><tr><th>worker</th><th>tasks</th><th>busy s</th>",
        "<th>sent</th><th>received</th><th>read</th><th>spilled</th>",
        "<th>peak store</th><th>peak RSS</th></tr></thead>\n<tbody>\n"
    ));
    let mut sorted: Vec<&WorkerStats> = workers.iter().collect();
    sorted.sort_by_key(|w| w.rank);
    for w in sorted {
        let _ = writeln!(
            table,
            "<tr><td>worker {}</td><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            w.rank,
            group_thousands(w.tasks),
            finite_non_negative(w.busy_seconds),
            human_bytes(w.bytes_sent as f64),
            human_bytes(w.bytes_received as f64),
            human_bytes(w.bytes_read as f64),
            human_bytes(w.bytes_spilled as f64),
            human_bytes(w.peak_store_bytes as f64),
            human_bytes(w.peak_rss_bytes as f64),
        );
    }
    if workers.is_empty() {
        table.push_str("<tr><td colspan=\"9\">no per-worker counters in this report</td></tr>\n");
    }
    table.push_str("</tbody>\n</table>\n");
    table
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Font for PNG text
// ---------------------------------------------------------------------------------------

/// Environment variable naming a TrueType/OpenType font file for PNG text.
const FONT_ENV: &str = "TESSERA_PLOT_FONT";

/// Where Linux distributions and macOS put a plain sans-serif font.
const COMMON_FONT_PATHS: [&str; 10] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial.ttf",
];

/// Registers a system font with plotters once per process (its bytes stay loaded for the
/// life of the process, as plotters needs); later calls return the first call's outcome.
fn ensure_png_font() -> Result<()> {
    static FONT: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    FONT.get_or_init(|| register_first_font(&font_candidates()))
        .as_ref()
        .map(|_| ())
        .map_err(|e| anyhow!("{e}"))
}

fn font_candidates() -> Vec<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(path) = std::env::var_os(FONT_ENV).filter(|p| !p.is_empty()) {
        candidates.push(path.into());
    }
    candidates.extend(fc_match_sans());
    candidates.extend(COMMON_FONT_PATHS.iter().map(PathBuf::from));
    candidates
}

/// The file fontconfig picks for `sans-serif`, if `fc-match` is installed.
fn fc_match_sans() -> Option<PathBuf> {
    let output = std::process::Command::new("fc-match")
        .args(["-f", "%{file}", "sans-serif"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let path = String::from_utf8(output.stdout).ok()?;
    let path = path.trim();
    (output.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
}

fn register_first_font(candidates: &[PathBuf]) -> std::result::Result<PathBuf, String> {
    for path in candidates {
        let Some(bytes) = read_font_file(path) else {
            continue;
        };
        // plotters keeps `&'static` font bytes; this happens once per process.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        if plotters::style::register_font(FONT, FontStyle::Normal, bytes).is_ok() {
            return Ok(path.clone());
        }
    }
    Err(missing_font_message(candidates))
}

/// The file's bytes if it looks like a TrueType/OpenType font (or collection).
fn read_font_file(path: &Path) -> Option<Vec<u8>> {
    const MAGICS: [[u8; 4]; 4] = [[0, 1, 0, 0], *b"OTTO", *b"true", *b"ttcf"];
    let bytes = std::fs::read(path).ok()?;
    let magic: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    MAGICS.contains(&magic).then_some(bytes)
}

fn missing_font_message(candidates: &[PathBuf]) -> String {
    let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    format!(
        "PNG plots need a TrueType font and none was found (tried ${FONT_ENV}, `fc-match \
         sans-serif` and: {}). Install one (Debian/Ubuntu: apt-get install fonts-dejavu-core), \
         set {FONT_ENV}=/path/to/font.ttf, or write .svg or .html, which need no fonts",
        tried.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TestDir(PathBuf);

    impl TestDir {
        fn new(name: &str) -> Self {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let dir = std::env::temp_dir().join(format!(
                "tessera-plot-{name}-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).expect("create test dir");
            TestDir(dir)
        }

        fn path(&self, file: &str) -> PathBuf {
            self.0.join(file)
        }

        fn entries(&self) -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(&self.0)
                .expect("list test dir")
                .map(|e| {
                    e.expect("dir entry")
                        .file_name()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            names.sort();
            names
        }
    }

    impl Drop for TestDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Deterministic pseudo-random numbers in [0, 1) (a 64-bit LCG).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1_u64 << 53) as f64
        }
    }

    const KINDS: [&str; 5] = ["read", "add+sum", "rechunk", "write", "call:inc"];

    /// `workers` workers each running `spans / workers` back-to-back tasks over `wall`
    /// seconds, the kind following the phase of the run, and a memory sample every 20 ms.
    fn synthetic_report(workers: u32, spans: usize, wall: f64) -> RunReport {
        let mut rng = Lcg(42);
        let per_worker = spans / workers as usize;
        let mean = wall / per_worker as f64;
        let mut timeline = Vec::with_capacity(spans);
        let mut memory = Vec::new();
        let mut stats = Vec::new();
        for worker in 1..=workers {
            let mut t = 0.0;
            for _ in 0..per_worker {
                let phase = (t / wall * KINDS.len() as f64) as usize;
                let kind = KINDS[(phase + (rng.next() * 1.6) as usize) % KINDS.len()];
                let duration = mean * (0.4 + rng.next());
                timeline.push(TaskSpan {
                    worker,
                    start: t,
                    end: t + duration,
                    kind: kind.to_string(),
                });
                t += duration + mean * 0.2 * rng.next();
            }
            let samples = (wall / 0.02) as usize;
            for i in 0..samples {
                let t = i as f64 * 0.02;
                let store =
                    (1e8 * (t / wall * std::f64::consts::PI).sin() * f64::from(worker)) as u64;
                memory.push(MemorySample {
                    worker,
                    t,
                    store_bytes: store,
                    rss_bytes: store + 150_000_000,
                });
            }
            stats.push(WorkerStats {
                rank: worker,
                tasks: per_worker as u64,
                busy_seconds: wall * 0.8,
                bytes_sent: 12_345_678,
                peak_store_bytes: 100_000_000 * u64::from(worker),
                peak_rss_bytes: 250_000_000 * u64::from(worker),
                ..WorkerStats::default()
            });
        }
        RunReport {
            transport: "in-process".to_string(),
            wall_seconds: wall,
            tasks: timeline.len() as u64,
            bytes_moved: 1_234_567_890,
            bytes_read: 4_000_000_000,
            bytes_spilled: 0,
            workers: stats,
            timeline,
            memory,
            ..RunReport::default()
        }
    }

    fn png_size(bytes: &[u8]) -> (u32, u32) {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes.to_vec()));
        let reader = decoder.read_info().expect("a valid PNG");
        (reader.info().width, reader.info().height)
    }

    fn read_text(path: &Path) -> String {
        std::fs::read_to_string(path).expect("plot written")
    }

    #[test]
    fn png_of_a_synthetic_report_decodes_at_the_layout_size() {
        let dir = TestDir::new("png");
        let out = dir.path("run.png");
        let summary = plot(&synthetic_report(4, 4000, 12.0), &out).expect("plot");
        assert_eq!(summary.format, "png");
        assert_eq!(summary.workers, 4);
        assert_eq!(summary.spans_drawn, 4000);
        let bytes = std::fs::read(&out).expect("png written");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let model = Model::from_report(&synthetic_report(4, 4000, 12.0));
        assert_eq!(png_size(&bytes), Layout::for_model(&model).size());
        assert_eq!(dir.entries(), vec!["run.png"], "no temporary file left");
    }

    #[test]
    fn svg_names_every_worker_and_legend_kind() {
        let dir = TestDir::new("svg");
        let out = dir.path("run.svg");
        let summary = plot(&synthetic_report(3, 3000, 5.0), &out).expect("plot");
        assert_eq!((summary.format, summary.workers), ("svg", 3));
        let svg = read_text(&out);
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        for label in ["worker 1", "worker 2", "worker 3", "Memory per worker"] {
            assert!(svg.contains(label), "SVG lacks {label}");
        }
        for kind in ["read", "add+sum", "rechunk", "write", "call:inc"] {
            assert!(
                svg.contains(&format!(">\n{kind} · ")),
                "legend lacks {kind}"
            );
        }
        assert!(svg.contains("in-process"));
        assert!(svg.contains("moved 1.23 GB"));
    }

    #[test]
    fn html_page_is_self_contained_with_a_stats_table() {
        let dir = TestDir::new("html");
        for name in ["run.html", "run.HTM"] {
            let out = dir.path(name);
            let summary = plot(&synthetic_report(2, 2000, 3.0), &out).expect("plot");
            assert_eq!(summary.format, "html");
            let html = read_text(&out);
            assert!(html.starts_with("<!DOCTYPE html>"));
            assert!(html.contains("<svg") && html.contains("</svg>"));
            assert!(html.contains("<table>") && html.contains("<td>worker 2</td>"));
            assert!(
                html.contains("<td>12.3 MB</td>"),
                "bytes sent in human units"
            );
            for external in ["<script", "<link", "src=", "@import"] {
                assert!(!html.contains(external), "page loads something: {external}");
            }
        }
    }

    #[test]
    fn empty_report_plots_in_every_format() {
        let dir = TestDir::new("empty");
        for name in ["e.png", "e.svg", "e.html"] {
            let summary = plot(&RunReport::default(), &dir.path(name)).expect("plot");
            assert_eq!((summary.spans_drawn, summary.workers), (0, 0));
        }
        assert!(read_text(&dir.path("e.svg")).contains("no workers in this report"));
    }

    #[test]
    fn old_report_without_timeline_or_memory_gets_bar_charts() {
        let json = r#"{"transport":"mpi","wall_seconds":2.5,"tasks":10,"bytes_moved":0,
            "bytes_scattered":0,"bytes_gathered":0,"bytes_read":0,"bytes_spilled":0,
            "workers":[
              {"rank":1,"tasks":6,"bytes_sent":0,"bytes_received":0,"bytes_read":0,
               "peak_bytes":0,"busy_seconds":2.0,"bytes_spilled":0,"bytes_unspilled":0,
               "peak_store_bytes":5000000,"peak_rss_bytes":90000000,"tasks_stolen":0},
              {"rank":2,"tasks":4,"bytes_sent":0,"bytes_received":0,"bytes_read":0,
               "peak_bytes":0,"busy_seconds":1.25,"bytes_spilled":0,"bytes_unspilled":0,
               "peak_store_bytes":3000000,"peak_rss_bytes":80000000,"tasks_stolen":0}]}"#;
        let report: RunReport = serde_json::from_str(json).expect("old report parses");
        let dir = TestDir::new("old");
        let summary = plot(&report, &dir.path("old.svg")).expect("plot");
        assert_eq!((summary.spans_drawn, summary.workers), (0, 2));
        let svg = read_text(&dir.path("old.svg"));
        assert!(svg.contains("no task timeline in this report"));
        assert!(svg.contains("Busy seconds per worker"));
        assert!(svg.contains("peak store bytes") && svg.contains("peak RSS"));
        assert!(svg.contains("worker 1") && svg.contains("worker 2"));
        plot(&report, &dir.path("old.png")).expect("png plot");
    }

    #[test]
    fn truncated_timeline_is_said_in_the_title() {
        let mut report = synthetic_report(2, 100, 1.0);
        report.timeline_truncated = true;
        let dir = TestDir::new("trunc");
        plot(&report, &dir.path("t.svg")).expect("plot");
        assert!(read_text(&dir.path("t.svg")).contains("timeline truncated"));
    }

    #[test]
    fn bad_times_are_skipped_or_clamped_without_panics() {
        let span = |worker, start, end| TaskSpan {
            worker,
            start,
            end,
            kind: String::new(),
        };
        let report = RunReport {
            wall_seconds: f64::NAN,
            timeline: vec![
                span(1, f64::NAN, 1.0),
                span(1, 0.5, f64::INFINITY),
                span(2, 2.0, 1.0),
                span(2, -1.0, 0.5),
                span(3, 0.25, 0.25),
                span(7, 0.0, 1e300),
            ],
            memory: vec![
                MemorySample {
                    worker: 1,
                    t: f64::NAN,
                    ..MemorySample::default()
                },
                MemorySample {
                    worker: 2,
                    t: -3.0,
                    store_bytes: u64::MAX,
                    rss_bytes: 1,
                },
            ],
            ..RunReport::default()
        };
        let dir = TestDir::new("bad");
        for name in ["b.png", "b.svg", "b.html"] {
            let summary = plot(&report, &dir.path(name)).expect("plot");
            assert_eq!(summary.spans_drawn, 3);
            assert_eq!(summary.workers, 4);
        }
        let zero_wall = RunReport {
            wall_seconds: 0.0,
            workers: vec![WorkerStats {
                rank: 1,
                busy_seconds: f64::NEG_INFINITY,
                ..WorkerStats::default()
            }],
            ..RunReport::default()
        };
        plot(&zero_wall, &dir.path("z.png")).expect("plot");
    }

    #[test]
    fn kinds_beyond_eight_share_other() {
        let mut report = synthetic_report(2, 200, 2.0);
        for (i, span) in report.timeline.iter_mut().enumerate() {
            span.kind = format!("kind{:02}", i % 12);
        }
        let model = Model::from_report(&report);
        let names: Vec<&str> = model.gantt.kinds.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names.len(), MAX_KINDS + 1);
        assert_eq!(names.last(), Some(&OTHER_KIND));
        assert_eq!(model.gantt.kinds[MAX_KINDS].colour, OTHER_COLOUR);
        let total: f64 = model.gantt.kinds.iter().map(|k| k.seconds).sum();
        let spans: f64 = report.timeline.iter().map(|s| s.end - s.start).sum();
        assert!((total - spans).abs() < 1e-9);
    }

    #[test]
    fn unknown_or_missing_extension_is_an_error_and_writes_nothing() {
        let dir = TestDir::new("ext");
        let report = synthetic_report(2, 100, 1.0);
        let err = plot(&report, &dir.path("out.jpg")).expect_err("jpg unsupported");
        let text = err.to_string();
        assert!(text.contains(".jpg") && text.contains(".png") && text.contains(".svg"));
        assert!(text.contains(".html"));
        let err = plot(&report, &dir.path("out")).expect_err("no extension");
        assert!(err.to_string().contains("no extension"));
        assert!(dir.entries().is_empty());
    }

    #[test]
    fn missing_directory_is_an_error_naming_it() {
        let dir = TestDir::new("nodir");
        let missing = dir.path("not-there");
        let err = plot(&RunReport::default(), &missing.join("p.svg")).expect_err("no dir");
        let text = err.to_string();
        assert!(text.contains("does not exist"), "{text}");
        assert!(text.contains(&missing.display().to_string()), "{text}");
        assert!(dir.entries().is_empty());
    }

    #[test]
    fn two_hundred_thousand_spans_stay_fast_and_small() {
        let report = synthetic_report(4, 200_000, 60.0);
        let dir = TestDir::new("big");
        for name in ["big.png", "big.svg", "big.html"] {
            let out = dir.path(name);
            let started = Instant::now();
            let summary = plot(&report, &out).expect("plot");
            let seconds = started.elapsed().as_secs_f64();
            let size = std::fs::metadata(&out).expect("written").len();
            eprintln!("200k spans -> {name}: {seconds:.3} s, {size} bytes");
            assert_eq!(summary.spans_drawn, 200_000);
            // Measured ~0.1 s in release and under 1 s in debug builds; generous for CI.
            assert!(seconds < 10.0, "{name} took {seconds:.1} s");
            assert!(size < 3_000_000, "{name} is {size} bytes");
        }
    }

    #[test]
    fn a_thousand_workers_share_rows() {
        let report = synthetic_report(1000, 100_000, 10.0);
        let model = Model::from_report(&report);
        assert_eq!(model.gantt.rows.per_row, 8);
        assert_eq!(model.gantt.rows.len(), 125);
        assert_eq!(model.gantt.rows.label(0), "workers 1–8");
        assert_eq!(model.gantt.rows.label(124), "workers 993–1000");
        let dir = TestDir::new("many");
        for name in ["many.png", "many.svg"] {
            let summary = plot(&report, &dir.path(name)).expect("plot");
            assert_eq!(summary.workers, 1000);
        }
        let svg = read_text(&dir.path("many.svg"));
        assert!(svg.contains("workers 1–8") && svg.contains("min–max of 1000 workers"));
    }

    #[test]
    fn full_columns_merge_into_one_run() {
        let pieces = [Piece {
            kind: 1,
            start: 0.0,
            end: 10.0,
        }];
        let runs = occupancy_runs(&pieces, (2, 1), 100, 10.0, 20);
        assert_eq!(
            runs,
            vec![ColumnRun {
                cols: 0..100,
                tops: vec![0, 20],
            }]
        );
    }

    #[test]
    fn back_to_back_tasks_fill_and_sub_pixel_tasks_fill_partly() {
        let piece = |kind, start, end| Piece { kind, start, end };
        // Columns of 0.1 s: kind 0 then kind 1 meet inside column 2.
        let runs = occupancy_runs(
            &[piece(0, 0.0, 0.25), piece(1, 0.25, 0.5)],
            (2, 1),
            5,
            0.5,
            10,
        );
        let tops: Vec<(Range<usize>, Vec<u32>)> =
            runs.into_iter().map(|r| (r.cols, r.tops)).collect();
        assert_eq!(
            tops,
            vec![
                (0..2, vec![10, 10]),
                (2..3, vec![5, 10]),
                (3..5, vec![0, 10])
            ]
        );
        // A 0.01 s task in a 0.1 s column fills a tenth of the bar.
        let runs = occupancy_runs(&[piece(0, 0.3, 0.31)], (1, 1), 5, 0.5, 10);
        assert_eq!(
            runs,
            vec![ColumnRun {
                cols: 3..4,
                tops: vec![1],
            }]
        );
        // Overlapping tasks are scaled to the bar, not drawn past it.
        let both = [piece(0, 0.0, 0.1), piece(1, 0.0, 0.1)];
        let runs = occupancy_runs(&both, (2, 1), 1, 0.1, 10);
        assert_eq!(runs[0].tops, vec![5, 10]);
        // The same tasks on a row showing four workers fill half of it.
        let runs = occupancy_runs(&both, (2, 4), 1, 0.1, 10);
        assert_eq!(runs[0].tops, vec![3, 5]);
    }

    #[test]
    fn occupancy_ignores_degenerate_input() {
        let p = Piece {
            kind: 0,
            start: 5.0,
            end: 1.0,
        };
        assert!(occupancy_runs(&[p], (1, 1), 10, 1.0, 10).is_empty());
        assert!(occupancy_runs(&[p], (1, 1), 0, 1.0, 10).is_empty());
        assert!(occupancy_runs(&[p], (1, 1), 10, f64::NAN, 10).is_empty());
        let beyond = Piece {
            kind: 0,
            start: 3.0,
            end: 9.0,
        };
        assert!(occupancy_runs(&[beyond], (1, 1), 10, 1.0, 10).is_empty());
    }

    #[test]
    fn memory_decimation_keeps_column_peaks() {
        let points: Vec<(f64, f64, f64)> = (0..1000)
            .map(|i| (i as f64 * 0.001, if i == 500 { 9.0 } else { 1.0 }, 2.0))
            .collect();
        let kept = decimate_memory(&points, 10, 1.0);
        assert_eq!(kept.len(), 10);
        assert_eq!(kept.iter().filter(|p| p.1 == 9.0).count(), 1);
        assert_eq!(decimate_memory(&points[..15], 10, 1.0).len(), 15);
    }

    #[test]
    fn memory_spread_interpolates_between_samples() {
        let values = column_values(&[(0.05, 0.0, 10.0), (0.45, 40.0, 50.0)], 5, 0.5);
        let store: Vec<f64> = values
            .iter()
            .map(|v| v.map_or(-1.0, |p| p.0.round()))
            .collect();
        assert_eq!(store, vec![0.0, 10.0, 20.0, 30.0, 40.0]);
        let workers = [
            WorkerMemory {
                index: 0,
                points: vec![(0.0, 2.0, 5.0), (1.0, 2.0, 5.0)],
            },
            WorkerMemory {
                index: 1,
                points: vec![(0.0, 4.0, 9.0), (1.0, 4.0, 9.0)],
            },
        ];
        let spread = MemorySpread::across(&workers, 4, 1.0);
        assert_eq!(spread.columns.len(), 4);
        let c = &spread.columns[1];
        assert_eq!(
            (c.store_min, c.store_mean, c.store_max, c.rss_max),
            (2.0, 3.0, 4.0, 9.0)
        );
    }

    #[test]
    fn many_workers_get_a_memory_spread_and_a_peak() {
        let report = synthetic_report(12, 1200, 2.0);
        let dir = TestDir::new("spread");
        plot(&report, &dir.path("s.svg")).expect("plot");
        let svg = read_text(&dir.path("s.svg"));
        assert!(svg.contains("store, min–max of 12 workers"));
        assert!(svg.contains("peak store: worker 12"));
        assert!(svg.contains("<polygon"));
    }

    #[test]
    fn an_existing_plot_is_replaced_and_a_directory_is_refused() {
        let dir = TestDir::new("replace");
        let out = dir.path("p.svg");
        std::fs::write(&out, "old").expect("seed file");
        plot(&synthetic_report(2, 10, 1.0), &out).expect("plot");
        assert!(read_text(&out).starts_with("<svg"));
        let as_dir = dir.path("d.svg");
        std::fs::create_dir(&as_dir).expect("mkdir");
        let err = plot(&RunReport::default(), &as_dir).expect_err("a directory");
        assert!(err.to_string().contains("is a directory"));
        assert_eq!(dir.entries(), vec!["d.svg", "p.svg"]);
    }

    #[test]
    fn numbers_read_as_humans_write_them() {
        assert_eq!(human_bytes(0.0), "0 B");
        assert_eq!(human_bytes(999.0), "999 B");
        assert_eq!(human_bytes(1_500_000.0), "1.5 MB");
        assert_eq!(human_bytes(2_000_000_000.0), "2 GB");
        assert_eq!(human_bytes(123_456_789_000.0), "123 GB");
        assert_eq!(human_bytes(f64::NAN), "0 B");
        assert_eq!(format_seconds(0.0123), "12.3 ms");
        assert_eq!(format_seconds(12.345), "12.3 s");
        assert_eq!(format_seconds(-1.0), "0 s");
        assert_eq!(group_thousands(100_000), "100,000");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(tick_seconds(&0.30000000000000004), "0.3");
        assert_eq!(truncate_label("abcdef", 4), "abc…");
        assert_eq!(escape_html("<a&'\">"), "&lt;a&amp;&#39;&quot;&gt;");
    }

    #[test]
    fn missing_font_error_says_what_to_install() {
        let none = [PathBuf::from("/nonexistent/font.ttf")];
        let err = register_first_font(&none).expect_err("no font there");
        assert!(
            err.contains("fonts-dejavu-core") && err.contains(".svg"),
            "{err}"
        );
        assert!(err.contains("/nonexistent/font.ttf"));
        assert!(read_font_file(Path::new("/proc/self/status")).is_none());
    }
}
