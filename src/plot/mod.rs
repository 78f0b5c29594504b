//! Pictures of a run: `tessera report REPORT.json --plot OUT` draws a
//! [`RunReport`](crate::runtime::report::RunReport) so a user can see where the time of a
//! computation went, which the report's totals alone do not show.
//!
//! [`timeline`] draws the tasks each worker ran over time (coloured by kind) above each
//! worker's memory over time, as PNG, SVG, or a self-contained HTML page that adds a table
//! of per-worker counters. SVG and HTML need no fonts on the machine; PNG needs one
//! TrueType font (Debian: `fonts-dejavu-core`), found at run time.

pub mod timeline;

pub use timeline::{plot, PlotSummary};
