//! Running a checked job on a client (rank 0; under MPI the other ranks are the workers).
//!
//! Inputs are generated when missing and asked to be, then bound lazily. Arrays are
//! evaluated in dependency order; one that several arrays or outputs use is persisted on
//! the workers so it is computed once (spilling if it is larger than memory). With a
//! checkpoint directory, each completed intermediate array is also written there and
//! each completed output recorded, and a rerun picks up where the last one stopped.
//! Every output file is written atomically, and existing outputs are refused before any
//! work starts (unless overwriting is allowed), so a job leaves each output complete or
//! absent.

use super::checkpoint::{self, file_identity, ArrayEntry, Checkpoint, Fingerprint};
use super::spec::GenerateSpec;
use super::{Input, InputSource, Job, Output, OutputTarget};
use crate::array::api;
use crate::array::chunks::{AxisSpec, ChunkSpec};
use crate::error::{Error, Result};
use crate::expr::eval::{evaluate_in, into_array, Bindings, Value};
use crate::io::identity::{canonical_place, files_read_by, find_clash, Role};
use crate::labeled::DataArray;
use crate::runtime::{Client, RunReport};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// How to run a job (command-line settings that override the job file).
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Replace existing output files.
    pub overwrite: bool,
    /// Checkpoint directory (overrides `[runtime] checkpoint`).
    pub checkpoint: Option<PathBuf>,
    /// Makes inputs that are missing and have an `[inputs.NAME.generate]` table.
    pub generator: Option<Arc<dyn InputGenerator>>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("overwrite", &self.overwrite)
            .field("checkpoint", &self.checkpoint)
            .field("generator", &self.generator.is_some())
            .finish()
    }
}

/// Makes a missing input from its `[inputs.NAME.generate]` table. The library reads data;
/// synthetic data for examples and benchmarks comes from the program that runs the job
/// (the `tessera` binary's generator).
pub trait InputGenerator: Send + Sync {
    /// Writes input `name`'s file `file` (variable `variable`, if the input names one) as
    /// `spec` asks; `log` gets progress lines.
    fn generate(
        &self,
        name: &str,
        file: &Path,
        variable: Option<&str>,
        spec: &GenerateSpec,
        log: &dyn Fn(String),
    ) -> std::result::Result<(), String>;
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct JobSummary {
    /// Counters of every computation of the run, summed.
    pub report: RunReport,
    /// Files written by this run.
    pub written: Vec<PathBuf>,
    /// Arrays and outputs taken from the checkpoint instead of computed.
    pub resumed: Vec<String>,
    /// What printed outputs printed, in order (also written to stdout).
    pub printed: Vec<String>,
}

/// Whether this process is a rerun of a Slurm job that was requeued or preempted: its
/// outputs, if any, are its own partial work.
pub fn is_slurm_restart() -> bool {
    std::env::var("SLURM_RESTART_COUNT")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .is_some_and(|n| n > 0)
}

/// Runs `job` on `client`; `say` gets one line per step done (for a log or a progress
/// display).
pub fn run(
    client: &Client,
    job: &Job,
    opts: &RunOptions,
    say: &dyn Fn(&str),
) -> Result<JobSummary> {
    let log = |msg: String| say(&msg);
    let ckpt_dir = opts.checkpoint.clone().or(job.runtime.checkpoint.clone());
    let mut ckpt = match &ckpt_dir {
        Some(d) => Some(Checkpoint::open(d, &job.path)?),
        None => None,
    };
    let restart = is_slurm_restart();
    let overwrite = opts.overwrite || job.runtime.overwrite;
    refuse_existing_outputs(job, ckpt.as_ref(), overwrite || restart)?;
    for o in &job.outputs {
        if let OutputTarget::File { path, .. } = &o.target {
            crate::io::write::remove_stale_temps(path);
        }
    }
    log_outputs_outside_the_job_folder(job, &log);
    for i in &job.inputs {
        generate_if_missing(i, opts.generator.as_deref(), &log)?;
    }
    // The clock starts after any input generation: the summary is about the job.
    let started = Instant::now();
    let mut bindings = bind_inputs(job)?;
    let fps = Fingerprints::new(job);
    let read = check_lazily(job, &bindings)?;
    refuse_files_written_twice(job, read, ckpt_dir.as_deref())?;
    if !job.unused.is_empty() {
        log(format!(
            "arrays no output uses (not computed): {}",
            job.unused.join(", ")
        ));
    }
    let mut summary = JobSummary::default();
    let before = client.cluster_report().unwrap_or_default();
    keep_shared_inputs(client, job, &mut bindings, &log)?;
    // Arrays other arrays use (a set: scanning every array's uses per array was quadratic).
    let used_by_arrays: std::collections::HashSet<&str> = job
        .arrays
        .iter()
        .flat_map(|b| b.uses.iter().map(String::as_str))
        .collect();
    for a in &job.arrays {
        let fp = fps.array(&a.name);
        if let Some(entry) = ckpt.as_ref().and_then(|c| c.array(&a.name, &fp)) {
            let cp = ckpt
                .as_ref()
                .map(|c| c.array_file(&a.name))
                .unwrap_or_default();
            bindings.insert(a.name.clone(), reopen(&cp, &a.name, entry)?);
            log(format!(
                "{}: taken from the checkpoint {}",
                a.name,
                cp.display()
            ));
            summary.resumed.push(a.name.clone());
            continue;
        }
        let t = Instant::now();
        let value = evaluate_in(&a.expr, &bindings, Some(&job.dir))
            .map_err(|e| Error::Job(format!("{}: arrays.{}: {e}", a.at, a.name)))?;
        let intermediate = used_by_arrays.contains(a.name.as_str());
        let value = if a.users >= 2 || (intermediate && ckpt.is_some()) {
            let v = persist(client, value).map_err(|e| in_array(a, e))?;
            log(format!(
                "{}: computed and kept on the workers ({:.2} s)",
                a.name,
                t.elapsed().as_secs_f64()
            ));
            v
        } else {
            value
        };
        if let (Some(c), true) = (ckpt.as_mut(), intermediate) {
            save_array(client, c, &a.name, &fp, &value).map_err(|e| in_array(a, e))?;
            log(format!("{}: checkpointed in {}", a.name, c.dir().display()));
        }
        bindings.insert(a.name.clone(), value);
    }
    for o in &job.outputs {
        let fp = fps.output(o);
        if let OutputTarget::File { path, .. } = &o.target {
            if ckpt
                .as_ref()
                .is_some_and(|c| c.output_done(o.index, &fp, path))
            {
                log(format!("{}: already complete (checkpoint)", o.label()));
                summary.resumed.push(o.label());
                continue;
            }
        }
        let t = Instant::now();
        let value = evaluate_in(&o.expr, &bindings, Some(&job.dir))
            .map_err(|e| Error::Job(format!("{}: outputs[{}].array: {e}", o.at, o.index)))?;
        match &o.target {
            OutputTarget::File {
                path,
                variable,
                deflate,
            } => {
                let da = labeled(value)?;
                let w = crate::io::write::WriteOptions {
                    overwrite: overwrite
                        || restart
                        || ckpt.as_ref().is_some_and(|c| c.output_known(path)),
                    deflate: *deflate,
                    ..Default::default()
                };
                let stats = crate::labeled::write::write(client, &da, path, variable, &w)
                    .map_err(|e| Error::Job(format!("{}: outputs[{}]: {e}", o.at, o.index)))?;
                if let Some(c) = ckpt.as_mut() {
                    c.record_output(o.index, &fp, path)?;
                }
                log(format!(
                    "{}: wrote {:.1} MB in {:.2} s",
                    o.label(),
                    stats.bytes_written as f64 / 1e6,
                    t.elapsed().as_secs_f64()
                ));
                summary.written.push(path.clone());
            }
            OutputTarget::Print { json } => {
                let text = print_value(client, o, value, *json)?;
                crate::runtime::console::console_line(&text, false);
                summary.printed.push(text);
            }
        }
    }
    let after = client.cluster_report().unwrap_or_default();
    summary.report = difference(&after, &before);
    summary.report.wall_seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// An input that several arrays or outputs read is read once and kept on the workers,
/// when it takes at most half of their memory (a larger one would only be spilled to
/// local disk and read back, which is no cheaper than reading the file again).
fn keep_shared_inputs(
    client: &Client,
    job: &Job,
    bindings: &mut Bindings,
    log: &dyn Fn(String),
) -> Result<()> {
    let budget = client
        .memory_per_worker()
        .saturating_mul(client.workers() as u64)
        / 2;
    for i in &job.inputs {
        let users = job
            .arrays
            .iter()
            .map(|a| &a.uses)
            .chain(job.outputs.iter().map(|o| &o.uses))
            .filter(|u| u.contains(&i.name))
            .count();
        let Some(value) = bindings.get(&i.name) else {
            continue;
        };
        let bytes = match value {
            Value::Array(a) => a.nbytes() as u64,
            Value::Labeled(d) => d.data.nbytes() as u64,
            _ => continue,
        };
        if users < 2 || bytes > budget {
            continue;
        }
        let t = Instant::now();
        let kept = persist(client, value.clone())
            .map_err(|e| Error::Job(format!("{}: inputs.{}: {e}", i.at, i.name)))?;
        bindings.insert(i.name.clone(), kept);
        log(format!(
            "inputs.{}: read once ({:.1} MB, {:.2} s) and kept on the workers for its {users} users",
            i.name,
            bytes as f64 / 1e6,
            t.elapsed().as_secs_f64()
        ));
    }
    Ok(())
}

/// The plan of every output, before and after optimization, with predicted counters
/// (`tessera run --explain`): nothing is computed, persisted or written.
pub fn explain(job: &Job, workers: usize) -> Result<String> {
    for i in &job.inputs {
        if !i.file.is_file() {
            return Err(Error::Job(format!(
                "{}: inputs.{}: {} does not exist yet; run the job once (or make it with `tessera gen climate`) to generate it",
                i.at,
                i.name,
                i.file.display()
            )));
        }
    }
    let mut bindings = bind_inputs(job)?;
    for a in &job.arrays {
        let v = evaluate_in(&a.expr, &bindings, Some(&job.dir))
            .map_err(|e| Error::Job(format!("{}: arrays.{}: {e}", a.at, a.name)))?;
        bindings.insert(a.name.clone(), v);
    }
    let mut out = String::new();
    for o in &job.outputs {
        let v = evaluate_in(&o.expr, &bindings, Some(&job.dir))
            .map_err(|e| Error::Job(format!("{}: outputs[{}].array: {e}", o.at, o.index)))?;
        let array = into_array(v)?;
        let e = crate::optimize::explain::explain_within_limits(&array, workers)
            .map_err(|e| Error::Job(format!("{}: outputs[{}]: {e}", o.at, o.index)))?;
        out.push_str(&format!(
            "== outputs[{}]: {} ({})\n{}\n",
            o.index,
            o.label(),
            o.at,
            e.render_text()
        ));
    }
    if !job.unused.is_empty() {
        out.push_str(&format!(
            "arrays no output uses (not computed): {}\n",
            job.unused.join(", ")
        ));
    }
    Ok(out)
}

/// Builds every array and output lazily (shapes, dtypes, names; nothing computed), so a
/// mistake in the last output stops the job before the first one does any work. Returns
/// the files that `open()` calls inside expressions read.
fn check_lazily(job: &Job, inputs: &Bindings) -> Result<Vec<Role>> {
    let mut b = inputs.clone();
    let mut read: Vec<Role> = Vec::new();
    let mut note_reads = |v: &Value, key: String| {
        if let Ok(a) = into_array(v.clone()) {
            for f in files_read_by(&a) {
                read.push(Role::new(format!("a file {key} reads:"), f));
            }
        }
    };
    for a in &job.arrays {
        let v = evaluate_in(&a.expr, &b, Some(&job.dir))
            .map_err(|e| Error::Job(format!("{}: arrays.{}: {e}", a.at, a.name)))?;
        note_reads(&v, format!("arrays.{}", a.name));
        b.insert(a.name.clone(), v);
    }
    for o in &job.outputs {
        let v = evaluate_in(&o.expr, &b, Some(&job.dir))
            .map_err(|e| Error::Job(format!("{}: outputs[{}].array: {e}", o.at, o.index)))?;
        note_reads(&v, format!("outputs[{}].array", o.index));
        if matches!(o.target, OutputTarget::File { .. }) {
            labeled(v)
                .map_err(|e| Error::Job(format!("{}: outputs[{}].array: {e}", o.at, o.index)))?;
        }
    }
    Ok(read)
}

/// The files a run of `job` reads: its inputs and the job file itself.
pub fn files_read(job: &Job) -> Vec<Role> {
    let mut read: Vec<Role> = job
        .inputs
        .iter()
        .map(|i| Role::new(format!("inputs.{}.file", i.name), &i.file))
        .collect();
    read.push(Role::new("the job file", &job.path));
    read
}

/// The files a run of `job` writes: its output files, then, with the checkpoint
/// directory `ckpt`, the checkpoint's manifest and the file of every array it keeps
/// there (those other arrays use).
pub fn files_written(job: &Job, ckpt: Option<&Path>) -> Vec<Role> {
    let mut out: Vec<Role> = job
        .outputs
        .iter()
        .filter_map(|o| match &o.target {
            OutputTarget::File { path, .. } => {
                Some(Role::new(format!("outputs[{}].file", o.index), path))
            }
            OutputTarget::Print { .. } => None,
        })
        .collect();
    if let Some(dir) = ckpt {
        out.push(Role::new(
            "the checkpoint manifest",
            checkpoint::manifest_file(dir),
        ));
        let used: std::collections::HashSet<&str> = job
            .arrays
            .iter()
            .flat_map(|b| b.uses.iter().map(String::as_str))
            .collect();
        for a in job.arrays.iter().filter(|a| used.contains(a.name.as_str())) {
            out.push(Role::new(
                format!("the checkpoint of arrays.{}", a.name),
                checkpoint::array_file(dir, &a.name),
            ));
        }
    }
    out
}

/// Refuses, before any work, a run that would write a file it reads (an input, a file an
/// `open()` reads, the job file) or write one file twice (two outputs, an output and a
/// checkpoint file), however the paths are spelled: the second write would replace the
/// first, and a checkpoint taken for an array would be read back as that array.
fn refuse_files_written_twice(job: &Job, opened: Vec<Role>, ckpt: Option<&Path>) -> Result<()> {
    let mut read = files_read(job);
    read.extend(opened);
    let written = files_written(job, ckpt);
    match find_clash(&read, &written) {
        Some(c) => {
            let at = job
                .outputs
                .iter()
                .find(|o| c.label == format!("outputs[{}].file", o.index))
                .map(|o| o.at.clone())
                .unwrap_or_else(|| job.path.display().to_string());
            Err(Error::Job(format!("{at}: {c}")))
        }
        None => Ok(()),
    }
}

/// Job outputs may go anywhere, but one outside the job file's folder is said, with its
/// absolute path, before any work: a job file from elsewhere cannot write quietly over
/// files far from it.
fn log_outputs_outside_the_job_folder(job: &Job, log: &dyn Fn(String)) {
    let folder = std::fs::canonicalize(&job.dir).unwrap_or_else(|_| job.dir.clone());
    for o in &job.outputs {
        if let OutputTarget::File { path, .. } = &o.target {
            let place = canonical_place(path);
            if !place.starts_with(&folder) {
                log(format!(
                    "outputs[{}]: writes outside the job's folder {}: {}",
                    o.index,
                    folder.display(),
                    place.display()
                ));
            }
        }
    }
}

fn in_array(a: &super::ArrayDef, e: Error) -> Error {
    Error::Job(format!("{}: arrays.{}: {e}", a.at, a.name))
}

/// Existing output files are refused before anything runs, unless overwriting is allowed
/// or the checkpoint shows the job itself wrote them.
pub fn refuse_existing_outputs(
    job: &Job,
    ckpt: Option<&Checkpoint>,
    overwrite: bool,
) -> Result<()> {
    if overwrite {
        return Ok(());
    }
    for o in &job.outputs {
        if let OutputTarget::File { path, .. } = &o.target {
            let own = ckpt.is_some_and(|c| c.output_known(path));
            if path.exists() && !own {
                return Err(Error::Job(format!(
                    "{}: outputs[{}].file: {} already exists; pass --overwrite (or set overwrite = true in [runtime]) to replace it",
                    o.at,
                    o.index,
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

fn generate_if_missing(
    i: &Input,
    generator: Option<&dyn InputGenerator>,
    log: &dyn Fn(String),
) -> Result<()> {
    let Some(g) = &i.generate else { return Ok(()) };
    if i.file.exists() {
        return Ok(());
    }
    let Some(generator) = generator else {
        return Err(Error::Job(format!(
            "{}: inputs.{}: {} does not exist, and this program has no generator for \
             [inputs.{}.generate]",
            i.at,
            i.name,
            crate::quote::path(&i.file),
            i.name
        )));
    };
    let variable = match &i.source {
        InputSource::Variable { variable, .. } => Some(variable.trim_start_matches('/')),
        _ => None,
    };
    generator
        .generate(&i.name, &i.file, variable, g, log)
        .map_err(|e| Error::Job(format!("{}: inputs.{}.generate: {e}", i.at, i.name)))
}

fn bind_inputs(job: &Job) -> Result<Bindings> {
    let mut b = Bindings::new();
    for i in &job.inputs {
        let at = |e: Error| Error::Job(format!("{}: inputs.{}: {e}", i.at, i.name));
        let value = match &i.source {
            InputSource::Npy => {
                let data = crate::io::npy::read(&i.file).map_err(|e| at(e.into()))?;
                Value::Array(api::from_local(data, &ChunkSpec::Auto).map_err(|e| at(e.into()))?)
            }
            InputSource::Variable {
                variable,
                chunks,
                decode,
            } => {
                let mut call = format!(
                    "open({}, {}, decode={}",
                    py_str(&i.file.to_string_lossy()),
                    py_str(variable),
                    if *decode { "True" } else { "False" }
                );
                if let Some(c) = chunks {
                    call.push_str(&format!(", chunks={c}"));
                }
                call.push(')');
                evaluate_in(&call, &Bindings::new(), None).map_err(at)?
            }
        };
        b.insert(i.name.clone(), value);
    }
    Ok(b)
}

/// A Python string literal.
fn py_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Computes a value's blocks onto the workers and returns a value that starts from them.
fn persist(client: &Client, v: Value) -> Result<Value> {
    Ok(match v {
        Value::Array(a) => Value::Array(client.persist(&a)?),
        Value::Labeled(d) => {
            let p = client.persist(&d.data)?;
            Value::Labeled(d.with_data(p))
        }
        other => other,
    })
}

/// A value as a labeled array (plain arrays get dimensions `dim_0`, `dim_1`, ...).
fn labeled(v: Value) -> Result<DataArray> {
    match v {
        Value::Labeled(d) => Ok(d),
        other => {
            let a = into_array(other)?;
            let dims = (0..a.ndim()).map(|k| format!("dim_{k}")).collect();
            Ok(DataArray::new(a, dims, vec![])?)
        }
    }
}

fn save_array(client: &Client, c: &mut Checkpoint, name: &str, fp: &str, v: &Value) -> Result<()> {
    let is_labeled = matches!(v, Value::Labeled(_));
    let da = labeled(v.clone())?;
    let file = c.array_file(name);
    let w = crate::io::write::WriteOptions {
        overwrite: true,
        ..Default::default()
    };
    crate::labeled::write::write(client, &da, &file, name, &w)?;
    c.record_array(
        name,
        ArrayEntry {
            fingerprint: fp.to_string(),
            file: format!("{name}.nc"),
            labeled: is_labeled,
            chunks: da.data.chunks().iter().map(|c| c.to_vec()).collect(),
        },
    )
}

fn reopen(file: &Path, name: &str, e: &ArrayEntry) -> Result<Value> {
    let opts = crate::io::open::OpenOptions {
        decode: true,
        chunks: Some(ChunkSpec::PerAxis(
            e.chunks
                .iter()
                .map(|c| AxisSpec::Explicit(c.iter().map(|&n| n as i64).collect()))
                .collect(),
        )),
    };
    let d = crate::labeled::open::open(file, name, &opts)?;
    Ok(if e.labeled {
        Value::Labeled(d)
    } else {
        Value::Array(d.data)
    })
}

fn print_value(client: &Client, o: &Output, value: Value, json: bool) -> Result<String> {
    use crate::render;
    let labels = render::labels_json(&value);
    let described = match &value {
        Value::Labeled(d) if !d.dims.is_empty() => Some(render::describe_labels(d)),
        _ => None,
    };
    let array = into_array(value)?;
    let chunk = client
        .compute(&array)
        .map_err(|e| Error::Job(format!("{}: outputs[{}]: {e}", o.at, o.index)))?;
    if json {
        let mut obj = serde_json::json!({"output": o.index, "array": o.expr, "shape": chunk.shape,
            "dtype": chunk.dtype.name(), "data": render::data_json(&chunk)});
        if let (Some((dims, coords)), Some(m)) = (labels, obj.as_object_mut()) {
            m.insert("dims".into(), dims);
            m.insert("coords".into(), coords);
        }
        Ok(obj.to_string())
    } else {
        let body = render::render(&chunk);
        Ok(match described {
            Some(d) => format!("{} =\n{d}\n{body}", o.expr),
            None => format!("{} = {body}", o.expr),
        })
    }
}

/// Counters of what happened between two cluster reports.
fn difference(after: &RunReport, before: &RunReport) -> RunReport {
    let mut r = after.clone();
    r.tasks -= before.tasks.min(r.tasks);
    r.bytes_moved -= before.bytes_moved.min(r.bytes_moved);
    r.bytes_scattered -= before.bytes_scattered.min(r.bytes_scattered);
    r.bytes_gathered -= before.bytes_gathered.min(r.bytes_gathered);
    r.bytes_read -= before.bytes_read.min(r.bytes_read);
    r.bytes_spilled -= before.bytes_spilled.min(r.bytes_spilled);
    r.bytes_unspilled -= before.bytes_unspilled.min(r.bytes_unspilled);
    for (a, b) in r.workers.iter_mut().zip(&before.workers) {
        a.tasks -= b.tasks.min(a.tasks);
        a.bytes_sent -= b.bytes_sent.min(a.bytes_sent);
        a.bytes_received -= b.bytes_received.min(a.bytes_received);
        a.bytes_read -= b.bytes_read.min(a.bytes_read);
        a.busy_seconds = (a.busy_seconds - b.busy_seconds).max(0.0);
        a.bytes_spilled -= b.bytes_spilled.min(a.bytes_spilled);
        a.bytes_unspilled -= b.bytes_unspilled.min(a.bytes_unspilled);
        a.tasks_stolen -= b.tasks_stolen.min(a.tasks_stolen);
    }
    r
}

/// Fingerprints of the job's inputs, arrays and outputs (see [`super::checkpoint`]).
struct Fingerprints {
    of: HashMap<String, String>,
}

impl Fingerprints {
    fn new(job: &Job) -> Fingerprints {
        let mut of = HashMap::new();
        let target = crate::array::chunks::auto_chunk_bytes().to_string();
        for i in &job.inputs {
            let mut f = Fingerprint::default()
                .with("input")
                .with(&file_identity(&i.file));
            if let InputSource::Variable {
                variable,
                chunks,
                decode,
            } = &i.source
            {
                f = f
                    .with(variable)
                    .with(chunks.as_deref().unwrap_or("-"))
                    .with(if *decode { "decode" } else { "raw" });
            }
            of.insert(i.name.clone(), f.with(&target).hex());
        }
        for a in &job.arrays {
            let mut f = Fingerprint::default()
                .with("array")
                .with(&a.name)
                .with(&a.expr);
            for u in &a.uses {
                f = f.with(of.get(u).map(String::as_str).unwrap_or("?"));
            }
            of.insert(a.name.clone(), f.with(&target).hex());
        }
        Fingerprints { of }
    }

    fn array(&self, name: &str) -> String {
        self.of.get(name).cloned().unwrap_or_default()
    }

    fn output(&self, o: &Output) -> String {
        let mut f = Fingerprint::default().with("output").with(&o.expr);
        for u in &o.uses {
            f = f.with(self.of.get(u).map(String::as_str).unwrap_or("?"));
        }
        if let OutputTarget::File {
            path,
            variable,
            deflate,
        } = &o.target
        {
            f = f
                .with(&path.to_string_lossy())
                .with(variable)
                .with(&format!("{deflate:?}"));
        }
        f.hex()
    }
}
