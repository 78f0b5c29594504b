//! `tessera submit`: a job file to a Slurm batch job.
//!
//! The batch script comes from a template (`slurm/tessera.sbatch`, built into the binary;
//! a site's edited copy with `--template`) whose `{{PLACEHOLDERS}}` are filled in here.
//! The job file is checked first, so a job that cannot run is never queued; the script
//! calls this very binary by absolute path and launches it with `srun --mpi=pmix
//! --kill-on-bad-exit=1` (or `mpirun`) so rank 0 schedules and a dead rank ends the job.
//! The script goes to `sbatch` on its standard input; Slurm keeps its own copy.

use super::script::{fill, sh, Value};
use super::Job;
use crate::error::{Error, Result};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The default template.
pub const TEMPLATE: &str = include_str!("../../../../slurm/tessera.sbatch");

/// How the ranks are started inside the allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launcher {
    /// `srun --mpi=PLUGIN --kill-on-bad-exit=1` (PLUGIN: `pmix` unless told otherwise).
    Srun(String),
    /// `mpirun -n $SLURM_NTASKS` (for sites whose MPI cannot be started by srun).
    Mpirun,
}

/// What to ask Slurm for, and how to run the job.
#[derive(Debug, Clone)]
pub struct SubmitOptions {
    /// Nodes.
    pub nodes: u32,
    /// MPI ranks per node (rank 0 of the first node schedules).
    pub ntasks_per_node: u32,
    /// Time limit, `HH:MM:SS` (or `D-HH:MM:SS`).
    pub time: String,
    /// Partition.
    pub partition: Option<String>,
    /// Account.
    pub account: Option<String>,
    /// Memory per node, as sbatch takes it (`64G`).
    pub mem: Option<String>,
    /// Where Slurm writes the job's output (`%j` is the job id); default
    /// `tessera-NAME-%j.out` in the current directory.
    pub output: Option<PathBuf>,
    /// Checkpoint directory (makes the job requeueable and resumable).
    pub checkpoint: Option<PathBuf>,
    /// Run report path.
    pub report: Option<PathBuf>,
    /// Replace existing outputs.
    pub overwrite: bool,
    /// Allow Slurm to requeue the job (implied by a checkpoint).
    pub requeue: bool,
    /// The launcher.
    pub launcher: Launcher,
    /// Shell lines run before the launch (module loads).
    pub setup: Vec<String>,
    /// Extra arguments for `tessera run` (memory limit, spill directory, ...).
    pub run_args: Vec<String>,
    /// A site's template instead of the built-in one.
    pub template: Option<PathBuf>,
}

/// Absolute form of a path (relative to the current directory).
fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| Error::Job(format!("{}: {e}", crate::quote::path(p))))
}

fn check_time(t: &str) -> Result<()> {
    let (days, clock) = match t.split_once('-') {
        Some((d, c)) => (Some(d), c),
        None => (None, t),
    };
    let days_ok = days.is_none_or(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()));
    let parts: Vec<&str> = clock.split(':').collect();
    let clock_ok = (1..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.chars().all(|c| c.is_ascii_digit()));
    if days_ok && clock_ok {
        Ok(())
    } else {
        Err(Error::Job(format!(
            "--time '{t}' is not a Slurm time limit (HH:MM:SS, MM:SS or D-HH:MM:SS)"
        )))
    }
}

/// The batch script for `job`.
pub fn script(job: &Job, o: &SubmitOptions) -> Result<String> {
    if o.nodes == 0 || o.ntasks_per_node == 0 {
        return Err(Error::Job(
            "--nodes and --ntasks-per-node must be at least 1".into(),
        ));
    }
    if o.nodes * o.ntasks_per_node < 2 {
        return Err(Error::Job(
            "a Tessera job needs at least 2 ranks (rank 0 schedules, the others work): raise --ntasks-per-node or --nodes".into(),
        ));
    }
    check_time(&o.time)?;
    let template = match &o.template {
        Some(t) => std::fs::read_to_string(t)
            .map_err(|e| Error::Job(format!("--template {}: {e}", crate::quote::path(t))))?,
        None => TEMPLATE.to_string(),
    };
    let exe = std::env::current_exe()
        .map_err(|e| Error::Job(format!("cannot find the tessera binary's path: {e}")))?;
    let output = output_path(job, o)?;
    let mut sbatch = Vec::new();
    if o.requeue || o.checkpoint.is_some() || job.runtime.checkpoint.is_some() {
        sbatch.push("#SBATCH --requeue".to_string());
    }
    for (flag, v) in [
        ("partition", &o.partition),
        ("account", &o.account),
        ("mem", &o.mem),
    ] {
        if let Some(v) = v {
            if v.is_empty() || v.chars().any(char::is_whitespace) {
                return Err(Error::Job(format!("--{flag} '{v}' is not a Slurm value")));
            }
            sbatch.push(format!("#SBATCH --{flag}={v}"));
        }
    }
    let mut args: Vec<String> = vec!["--progress".into(), "log".into()];
    if let Some(c) = &o.checkpoint {
        args.push("--checkpoint".into());
        args.push(absolute(c)?.display().to_string());
    }
    if let Some(r) = &o.report {
        args.push("--report".into());
        args.push(absolute(r)?.display().to_string());
    }
    if o.overwrite {
        args.push("--overwrite".into());
    }
    args.extend(o.run_args.iter().cloned());
    let launcher = match &o.launcher {
        Launcher::Srun(mpi) => format!("srun --mpi={} --kill-on-bad-exit=1", sh(mpi)),
        Launcher::Mpirun => "mpirun -n \"${SLURM_NTASKS}\" --bind-to none".to_string(),
    };
    let mut setup = o.setup.clone();
    if o.launcher == Launcher::Mpirun {
        setup.push(
            "[ \"$(id -u)\" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
                .into(),
        );
    }
    let word = Value::Word;
    let values: Vec<(&str, Value)> = vec![
        ("JOB_NAME", word(slurm_name(&job.name))),
        ("NODES", word(o.nodes.to_string())),
        ("NTASKS_PER_NODE", word(o.ntasks_per_node.to_string())),
        ("TIME", word(o.time.clone())),
        ("OUTPUT", word(output.display().to_string())),
        ("SBATCH_LINES", Value::Code(sbatch.join("\n"))),
        ("SETUP", Value::Code(setup.join("\n"))),
        ("LAUNCHER", Value::Code(launcher)),
        ("TESSERA", word(exe.display().to_string())),
        ("JOB_FILE", word(job.path.display().to_string())),
        (
            "ARGS",
            Value::Code(args.iter().map(|a| sh(a)).collect::<Vec<_>>().join(" ")),
        ),
    ];
    let source = match &o.template {
        Some(t) => format!("template {}", t.display()),
        None => "built-in template".to_string(),
    };
    fill(&source, &template, &values)
}

/// A job name Slurm takes (no spaces or odd characters).
fn slurm_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "tessera".into()
    } else {
        s
    }
}

fn output_path(job: &Job, o: &SubmitOptions) -> Result<PathBuf> {
    let p = match &o.output {
        Some(p) => absolute(p)?,
        None => absolute(Path::new(&format!(
            "tessera-{}-%j.out",
            slurm_name(&job.name)
        )))?,
    };
    match p.parent() {
        Some(d) if !d.is_dir() => Err(Error::Job(format!(
            "--output {}: the directory {} does not exist",
            p.display(),
            d.display()
        ))),
        _ => Ok(p),
    }
}

/// What `sbatch` said.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// sbatch's own line, `Submitted batch job N`.
    pub line: String,
    /// The job id.
    pub id: u64,
    /// The job's output file (with the id filled in).
    pub output: PathBuf,
}

/// Submits `job` with `sbatch` (the script on its standard input).
pub fn submit(job: &Job, o: &SubmitOptions) -> Result<Submitted> {
    let text = script(job, o)?;
    let mut child = Command::new("sbatch")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Job("sbatch not found: is Slurm installed and on PATH? (--dry-run prints the script without submitting)".into())
            } else {
                Error::Job(format!("cannot run sbatch: {e}"))
            }
        })?;
    // An sbatch that fails early may not read the script: its own error says more than
    // the broken pipe, so the write's error is reported only if sbatch then succeeds.
    let written = match child.stdin.take() {
        Some(mut stdin) => stdin.write_all(text.as_bytes()),
        None => Ok(()),
    };
    let out = child
        .wait_with_output()
        .map_err(|e| Error::Job(format!("sbatch: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if !out.status.success() {
        return Err(Error::Job(format!(
            "sbatch failed ({}): {}",
            out.status,
            if stderr.is_empty() { &stdout } else { &stderr }
        )));
    }
    if let Err(e) = written {
        return Err(Error::Job(format!("cannot give sbatch the script: {e}")));
    }
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Submitted batch job"))
        .ok_or_else(|| {
            Error::Job(format!(
                "sbatch did not say which job it submitted: {stdout}"
            ))
        })?
        .to_string();
    let id = line
        .split_whitespace()
        .nth(3)
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| Error::Job(format!("cannot read the job id in '{line}'")))?;
    let output = PathBuf::from(
        output_path(job, o)?
            .display()
            .to_string()
            .replace("%j", &id.to_string()),
    );
    Ok(Submitted { line, id, output })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_words() {
        for ok in ["00:10:00", "10:00", "5", "1-00:00:00"] {
            assert!(check_time(ok).is_ok(), "{ok}");
        }
        for bad in ["", "ten", "1:2:3:4", "-1:00", "1h"] {
            assert!(check_time(bad).is_err(), "{bad}");
        }
        assert_eq!(slurm_name("my job!"), "my_job_");
    }
}
