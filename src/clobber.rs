//! `eval` refuses, before computing anything, to write a file it reads: `--to` or
//! `--report` naming a file bound with `--open` or read by `open()` in the expression
//! (issue #13 item 1). Writing would replace the input with the output alone. Files are
//! compared by identity ([`crate::io::identity`]), so aliases are caught too.

use crate::array::graph::DArray;
use crate::io::identity::{files_read_by, find_clash, Role};
use anyhow::anyhow;
use std::path::{Path, PathBuf};

/// The file of an `--open NAME=PATH.npy` or `--open NAME=FILE:VARIABLE` (None when the
/// spec is malformed: binding it reports that).
fn open_file(spec: &str) -> Option<(&str, &str)> {
    let (name, target) = spec.split_once('=')?;
    if target.ends_with(".npy") {
        return Some((name, target));
    }
    target.rsplit_once(':').map(|(file, _)| (name, file))
}

/// The file of `--to FILE` or `--to FILE:VARIABLE`.
pub fn to_file(target: &str) -> &str {
    match target.rsplit_once(':') {
        Some((f, v)) if !f.is_empty() && !v.is_empty() => f,
        _ => target,
    }
}

/// An error when `--to` or `--report` is the same file as an input or as each other.
pub fn refuse_outputs_that_are_inputs(
    open: &[String],
    array: &DArray,
    to: Option<&str>,
    report: Option<&Path>,
) -> anyhow::Result<()> {
    let mut inputs: Vec<Role> = open
        .iter()
        .filter_map(|s| open_file(s))
        .map(|(name, file)| Role::new(format!("--open {name}"), file))
        .collect();
    let read: Vec<PathBuf> = files_read_by(array);
    inputs.extend(
        read.into_iter()
            .map(|f| Role::new("the file read by the expression", f)),
    );
    let mut outputs = Vec::new();
    if let Some(t) = to {
        outputs.push(Role::new("--to", to_file(t)));
    }
    if let Some(r) = report {
        outputs.push(Role::new("--report", r));
    }
    match find_clash(&inputs, &outputs) {
        Some(c) => Err(anyhow!("{c}")),
        None => Ok(()),
    }
}

/// An error when `run --report` is the same file as one of the job's inputs, the job
/// file, one of its outputs, or a file of the checkpoint directory `ckpt`. (An existing
/// report file of another name is replaced, as a log is.)
pub fn refuse_report_on_job_files(
    job: &crate::job::Job,
    report: &Path,
    ckpt: Option<&Path>,
) -> anyhow::Result<()> {
    let read = crate::job::run::files_read(job);
    let mut written = crate::job::run::files_written(job, ckpt);
    written.push(Role::new("--report", report));
    match find_clash(&read, &written) {
        Some(c) => Err(anyhow!("{c}")),
        None => Ok(()),
    }
}
