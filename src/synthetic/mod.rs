//! Synthetic test data, made on the spot instead of downloaded.
//!
//! Benchmarks, examples and tests need realistic input files of any size, and shipping
//! gigabytes of sample data is not an option. This module writes such files from a few
//! parameters and a seed, so the same command always gives the same values.
//!
//! - [`climate()`]: a CF-1.8 daily near-surface air temperature field (time x lat x lon,
//!   float32) as NetCDF-4 or plain HDF5, the same kind of data as the Python peer
//!   benchmarks' `benches/peer/make_climate_file.py` (`tessera gen climate`).

pub mod climate;

pub use climate::{climate, ClimateSpec, GenSummary};

use crate::job::spec::GenerateSpec;
use crate::job::InputGenerator;
use std::path::Path;

/// Generates the missing inputs of job files (`[inputs.NAME.generate]`, kind `climate`).
#[derive(Debug, Default)]
pub struct JobInputs;

impl InputGenerator for JobInputs {
    fn generate(
        &self,
        name: &str,
        file: &Path,
        variable: Option<&str>,
        g: &GenerateSpec,
        log: &dyn Fn(String),
    ) -> Result<(), String> {
        let mut spec = ClimateSpec::default();
        if let Some(d) = g.days {
            spec.days = d;
        }
        if let Some(x) = g.grid {
            spec.grid_degrees = x;
        }
        if let Some(s) = g.seed {
            spec.seed = s;
        }
        if let Some(s) = &g.start {
            spec.start = s.clone();
        }
        if let Some(c) = &g.calendar {
            spec.calendar = c.clone();
        }
        spec.chunks = g.chunks;
        spec.deflate = g.deflate;
        if let Some(v) = variable {
            spec.variable = v.to_string();
        }
        log(format!(
            "inputs.{name}: generating {} ({} days, {}° grid)",
            file.display(),
            spec.days,
            spec.grid_degrees
        ));
        let s = climate(file, &spec, false).map_err(|e| format!("{e:#}"))?;
        log(format!(
            "inputs.{name}: {:.1} MB in {:.1} s",
            s.bytes as f64 / 1e6,
            s.seconds
        ));
        Ok(())
    }
}
