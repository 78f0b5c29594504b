//! The `tessera` command line. Arguments are parsed by clap, then validated; every error
//! is printed once (by rank 0) as one clear message with a non-zero exit code.

#![warn(missing_docs)]

mod args;
mod clobber;
pub mod plot;
pub mod progress;
pub mod selftest;
pub mod synthetic;

pub use tessera::render;
pub(crate) use tessera::{
    array, comm, error, expr, futures, io, job, labeled, optimize, quote, runtime, signal,
};

pub use crate::runtime::size::parse_size;
pub use crate::runtime::worker::parse_compression;
pub use args::RuntimeArgs;
use render::{data_json, describe_labels, labels_json, render};

use crate::array::api;
use crate::array::chunks::ChunkSpec;
use crate::expr::eval::{evaluate, into_array, Bindings, Value};
use crate::runtime::{start, ClientOptions, Started};
use anyhow::{anyhow, Context};
use clap::{Parser, Subcommand};
use serde_json::{json, Value as Json};
use std::path::PathBuf;

/// Prints a line to stdout; a closed pipe (`tessera info f.nc | head`) is not an error.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

#[derive(Parser, Debug)]
#[command(
    name = "tessera",
    version,
    about = "Distributed n-dimensional arrays for HPC, over MPI or in-process"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Evaluate a numpy-like expression on chunked arrays and print the result.
    Eval {
        /// The expression, e.g. 'ones((1000, 1000), chunks=250).sum(axis=0)'; it may start
        /// with '-' ('-arange(3)').
        #[arg(allow_hyphen_values = true)]
        expr: String,
        /// Print one JSON object {"shape", "dtype", "chunks", "data"}.
        #[arg(long)]
        json: bool,
        /// Print shape, dtype and chunks only; compute nothing.
        #[arg(long)]
        no_compute: bool,
        /// Bind a file: NAME=PATH.npy, or NAME=FILE:VARIABLE for NetCDF/HDF5 (repeatable).
        #[arg(long = "open", value_name = "NAME=PATH")]
        open: Vec<String>,
        /// In-process worker threads (ignored under mpirun: ranks 1.. are the workers).
        #[arg(long)]
        workers: Option<usize>,
        /// Write the run report (JSON) to this file.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Write the result to a NetCDF-4 (or .h5 HDF5) file instead of printing it:
        /// FILE or FILE:VARIABLE.
        #[arg(long, value_name = "FILE[:VAR]")]
        to: Option<String>,
        /// zlib/deflate level for --to: 1 (fast) to 9 (small); 0 writes uncompressed.
        #[arg(long, value_name = "LEVEL")]
        deflate: Option<u8>,
        /// Replace an existing --to file.
        #[arg(long)]
        overwrite: bool,
        #[command(flatten)]
        runtime: RuntimeArgs,
        /// Run the plan as written: no slice pushdown, sharing, rechunk splitting, fusion or
        /// culling (for comparisons; results are the same).
        #[arg(long)]
        no_optimize: bool,
    },
    /// Show the plan of an expression before and after optimization, with the predicted
    /// tasks, bytes moved between workers, bytes read and peak memory per worker.
    Explain {
        /// The expression (it may start with '-').
        #[arg(allow_hyphen_values = true)]
        expr: String,
        /// Print one JSON object (keys bytes_moved, bytes_read, tasks, peak_bytes_per_worker, ...).
        #[arg(long)]
        json: bool,
        /// Bind a file: NAME=PATH.npy, or NAME=FILE:VARIABLE for NetCDF/HDF5 (repeatable).
        #[arg(long = "open", value_name = "NAME=PATH")]
        open: Vec<String>,
        /// Workers to plan for (default: the ranks after 0 under mpirun, else the in-process default).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Run a job file: inputs, named arrays and outputs (see jobs/README.md). In-process by
    /// default; under mpirun/srun rank 0 schedules and the other ranks work.
    Run {
        /// The job file (TOML).
        job: PathBuf,
        /// Print the plan of every output (before and after optimization, with predicted
        /// tasks and bytes) and compute nothing.
        #[arg(long)]
        explain: bool,
        /// Write the run report (JSON) to this file.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Replace existing output files.
        #[arg(long)]
        overwrite: bool,
        /// Keep completed intermediate arrays and outputs here; a rerun (e.g. after a Slurm
        /// requeue) resumes from them.
        #[arg(long, value_name = "DIR")]
        checkpoint: Option<PathBuf>,
        /// In-process worker threads (ignored under MPI).
        #[arg(long)]
        workers: Option<usize>,
        /// Byte target of automatically chosen blocks, e.g. 64M (default 128M).
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        chunk_target: Option<u64>,
        /// Progress display: auto (a bar on a terminal, log lines otherwise), bar, log, off.
        #[arg(long, value_name = "MODE", default_value = "auto")]
        progress: String,
        /// No log lines or summary table (outputs still print).
        #[arg(long)]
        quiet: bool,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Submit a job file to Slurm: writes a batch script from slurm/tessera.sbatch (or
    /// --template), submits it with sbatch and prints the job id and its output file.
    Submit {
        /// The job file (TOML).
        job: PathBuf,
        /// Nodes.
        #[arg(long, default_value_t = 1)]
        nodes: u32,
        /// MPI ranks per node (rank 0 schedules; at least 2 ranks in all).
        #[arg(long, default_value_t = 2)]
        ntasks_per_node: u32,
        /// Time limit, HH:MM:SS.
        #[arg(long, default_value = "01:00:00")]
        time: String,
        /// Slurm partition.
        #[arg(long)]
        partition: Option<String>,
        /// Slurm account.
        #[arg(long)]
        account: Option<String>,
        /// Memory per node, e.g. 64G.
        #[arg(long)]
        mem: Option<String>,
        /// Slurm output file (%j is the job id); default ./tessera-NAME-%j.out.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Checkpoint directory (on a shared filesystem): the job is requeueable and a
        /// rerun resumes.
        #[arg(long, value_name = "DIR")]
        checkpoint: Option<PathBuf>,
        /// Let Slurm requeue the job (implied by --checkpoint).
        #[arg(long)]
        requeue: bool,
        /// Write the run report here.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Replace existing outputs.
        #[arg(long)]
        overwrite: bool,
        /// Launch with mpirun inside the allocation instead of srun.
        #[arg(long)]
        mpirun: bool,
        /// srun's MPI plugin (pmix; pmi2 only where the MPI was built for it).
        #[arg(long, default_value = "pmix")]
        mpi: String,
        /// A shell line to run before the launch, e.g. 'module load openmpi' (repeatable).
        #[arg(long, value_name = "LINE")]
        setup: Vec<String>,
        /// Your own copy of slurm/tessera.sbatch.
        #[arg(long, value_name = "FILE")]
        template: Option<PathBuf>,
        /// Print the batch script; submit nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Generate realistic test data (CF-compliant NetCDF-4, or HDF5 for .h5).
    Gen {
        #[command(subcommand)]
        what: GenCommand,
    },
    /// Summarize a run report (`--report FILE` of run/eval); --plot draws the task timeline
    /// per worker and memory over time.
    Report {
        /// The report (JSON).
        report: PathBuf,
        /// Draw to this file: .png, .svg or .html.
        #[arg(long, value_name = "FILE")]
        plot: Option<PathBuf>,
    },
    /// Describe a NetCDF or HDF5 file, like `ncdump -h`.
    Info {
        /// The file.
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Instrumented checks of the transport, run by the test suite under mpirun -n 2.
    #[command(hide = true)]
    SelfTest {
        /// Which check: `zero-copy`, `persist`, `optimizer`, `futures`, `spill`, `wire`,
        /// `long` (tasks of $TESSERA_SELFTEST_TASK_MS ms, default 4000).
        what: String,
        #[command(flatten)]
        runtime: RuntimeArgs,
        /// In-process workers.
        #[arg(long)]
        workers: Option<usize>,
    },
}

/// What `tessera gen` makes.
#[derive(Subcommand, Debug)]
enum GenCommand {
    /// Daily near-surface air temperature on a global grid: seasonal cycle, latitude
    /// gradient, noise and fill values, with CF time/lat/lon coordinates.
    Climate {
        /// The file to write (.nc NetCDF-4, .h5 HDF5).
        out: PathBuf,
        /// Daily time steps.
        #[arg(long, default_value_t = 365)]
        days: usize,
        /// Grid spacing in degrees (must divide 180).
        #[arg(long, default_value_t = 2.0)]
        grid: f64,
        /// First day.
        #[arg(long, default_value = "2000-01-01")]
        start: String,
        /// standard, noleap or 360_day.
        #[arg(long, default_value = "standard")]
        calendar: String,
        /// Random seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Variable name.
        #[arg(long, default_value = "tas")]
        variable: String,
        /// On-disk chunks T,Y,X.
        #[arg(long, value_name = "T,Y,X", value_parser = parse_chunks3)]
        chunks: Option<[usize; 3]>,
        /// zlib level 1-9.
        #[arg(long)]
        deflate: Option<u8>,
        /// Replace an existing file.
        #[arg(long)]
        overwrite: bool,
    },
}

fn parse_chunks3(s: &str) -> Result<[usize; 3], String> {
    let v: Vec<usize> = s
        .split(',')
        .map(|p| p.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("'{s}' is not three integers T,Y,X"))?;
    <[usize; 3]>::try_from(v).map_err(|_| format!("'{s}' is not three integers T,Y,X"))
}

/// Entry point: returns the process exit code.
pub fn main() -> i32 {
    crate::comm::launch::prefer_local_transports();
    let cli = Cli::parse();
    // mpirun SIGKILLs every rank as soon as one exits; all got the signal at about the same
    // time, so each rank stays half a second after its cleanup for the others to finish.
    let linger = if crate::comm::launch::launched_under_mpi() {
        std::time::Duration::from_millis(500)
    } else {
        std::time::Duration::ZERO
    };
    crate::signal::install(mpi_rank() == 0, linger);
    let outcome = run(cli);
    // A run stopped by SIGINT/SIGTERM ends with the signal's one line and exit code,
    // not with the errors its interruption caused.
    crate::signal::wait_if_stopping();
    match outcome {
        Ok(()) => 0,
        Err(e) => {
            // Written without panicking should stderr be closed (`2>&1 | head -1`).
            render::console_line(
                &format!(
                    "tessera: error: {}",
                    crate::quote::clip_long_lines(&format!("{e:#}"))
                ),
                true,
            );
            if let Some(bt) = e
                .downcast_ref::<tessera::Error>()
                .and_then(|e| e.backtrace())
            {
                render::console_line("  backtrace of the failed task:", true);
                for line in bt.lines() {
                    render::console_line(&format!("    {line}"), true);
                }
            }
            1
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.cmd {
        Command::SelfTest {
            what,
            runtime,
            workers,
        } => {
            let mut opts = runtime.options()?;
            if let Some(w) = workers {
                opts.workers = w.max(1);
            }
            match what.as_str() {
                "zero-copy" => selftest::zero_copy::zero_copy(),
                "persist" => persist_selftest(),
                "optimizer" => optimizer_selftest(),
                "futures" => futures_selftest(&opts, "futures"),
                "spill" | "wire" | "long" => futures_selftest(&opts, &what),
                other => Err(anyhow!("unknown self-test '{other}'")),
            }
        }
        Command::Explain {
            expr,
            json,
            open,
            workers,
        } => {
            if mpi_rank() > 0 {
                return Ok(()); // under mpirun, rank 0 speaks for all
            }
            let workers = match workers {
                Some(0) => return Err(anyhow!("--workers must be at least 1")),
                Some(w) => w,
                None => mpi_size()
                    .map(|n| n.saturating_sub(1).max(1))
                    .unwrap_or(ClientOptions::default().workers),
            };
            args::apply_max_blocks(None)?;
            let bindings = bind_files(&open)?;
            let array = into_array(evaluate(&expr, &bindings)?)?;
            let e = crate::optimize::explain::explain_within_limits(&array, workers)?;
            if json {
                say!("{}", e.render_json());
            } else {
                say!("{}", e.render_text());
            }
            Ok(())
        }
        Command::Run {
            job,
            explain,
            report,
            overwrite,
            checkpoint,
            workers,
            chunk_target,
            progress,
            quiet,
            runtime,
        } => {
            let job = match crate::job::load(&job) {
                Ok(j) => j,
                // Every rank reaches the same verdict; rank 0 alone says it and exits
                // non-zero (another rank failing first would make mpirun kill rank 0
                // before it could say why).
                Err(_) if mpi_rank() > 0 => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            if let Some(Err(e)) = report.as_deref().map(|r| {
                let ckpt = checkpoint.as_ref().or(job.runtime.checkpoint.as_ref());
                clobber::refuse_report_on_job_files(&job, r, ckpt.map(PathBuf::as_path))
            }) {
                // As with a bad job file: rank 0 alone says it.
                return if mpi_rank() > 0 { Ok(()) } else { Err(e) };
            }
            if let Some(t) = chunk_target.or(job.runtime.chunk_target) {
                crate::array::chunks::set_auto_chunk_bytes(t as usize);
            }
            if explain {
                if mpi_rank() > 0 {
                    return Ok(());
                }
                let workers = match workers.or(job.runtime.workers) {
                    Some(w) => w.max(1),
                    None => mpi_size()
                        .map(|n| n.saturating_sub(1).max(1))
                        .unwrap_or(ClientOptions::default().workers),
                };
                args::apply_max_blocks(runtime.max_blocks)?;
                say!("{}", crate::job::run::explain(&job, workers)?.trim_end());
                return Ok(());
            }
            let mode: progress::Mode = if quiet {
                progress::Mode::Off
            } else {
                progress
                    .parse()
                    .map_err(|e: String| anyhow!("--progress: {e}"))?
            };
            let opts = job_options(&runtime, workers, &job)?;
            let client = match start(&opts)? {
                Started::Client(c) => c,
                Started::WorkerFinished => return Ok(()),
            };
            let mut display = progress::Display::start(mode, &job.name, client.progress());
            display.line(&format!(
                "[{}] {} on {} worker(s) ({})",
                job.name,
                job.path.display(),
                client.workers(),
                client.transport_kind()
            ));
            let run_opts = crate::job::RunOptions {
                overwrite,
                checkpoint,
                generator: Some(std::sync::Arc::new(crate::synthetic::JobInputs)),
            };
            let outcome = crate::job::run(&client, &job, &run_opts, &|m: &str| {
                display.line(&format!("[{}] {m}", job.name))
            });
            display.finish();
            let summary = outcome?;
            if let Some(path) = report {
                let text = serde_json::to_string_pretty(&summary.report)?;
                std::fs::write(&path, text).with_context(|| {
                    format!("cannot write report {}", crate::quote::path(&path))
                })?;
            }
            if !quiet {
                render::console_line(render::summary_table(&summary.report).trim_end(), true);
            }
            Ok(())
        }
        Command::Submit {
            job,
            nodes,
            ntasks_per_node,
            time,
            partition,
            account,
            mem,
            output,
            checkpoint,
            requeue,
            report,
            overwrite,
            mpirun,
            mpi,
            setup,
            template,
            dry_run,
            runtime,
        } => {
            let job = crate::job::load(&job)?;
            if checkpoint.is_none() && job.runtime.checkpoint.is_none() {
                // A job that would refuse its outputs is not queued.
                crate::job::run::refuse_existing_outputs(
                    &job,
                    None,
                    overwrite || job.runtime.overwrite,
                )?;
            }
            let mut run_args = Vec::new();
            if let Some(m) = runtime.memory_limit {
                run_args.extend(["--memory-limit".to_string(), m.to_string()]);
            }
            if let Some(d) = &runtime.spill_dir {
                run_args.extend(["--spill-dir".to_string(), d.display().to_string()]);
            }
            if let Some(c) = runtime.compression {
                let mode = match c {
                    crate::runtime::worker::Compression::Auto => "auto",
                    crate::runtime::worker::Compression::On => "on",
                    crate::runtime::worker::Compression::Off => "off",
                };
                run_args.extend(["--compression".to_string(), mode.to_string()]);
            }
            let o = crate::job::submit::SubmitOptions {
                nodes,
                ntasks_per_node,
                time,
                partition,
                account,
                mem,
                output,
                checkpoint,
                report,
                overwrite,
                requeue,
                launcher: if mpirun {
                    crate::job::submit::Launcher::Mpirun
                } else {
                    crate::job::submit::Launcher::Srun(mpi)
                },
                setup,
                run_args,
                template,
            };
            if dry_run {
                let text = crate::job::submit::script(&job, &o)?;
                use std::io::Write as _;
                let _ = write!(std::io::stdout(), "{text}");
                return Ok(());
            }
            let s = crate::job::submit::submit(&job, &o)?;
            say!("{}", s.line);
            say!("{}", s.output.display());
            Ok(())
        }
        Command::Gen {
            what:
                GenCommand::Climate {
                    out,
                    days,
                    grid,
                    start,
                    calendar,
                    seed,
                    variable,
                    chunks,
                    deflate,
                    overwrite,
                },
        } => {
            let spec = crate::synthetic::ClimateSpec {
                days,
                grid_degrees: grid,
                start,
                calendar,
                seed,
                variable,
                chunks,
                deflate,
                ..Default::default()
            };
            let s = crate::synthetic::climate(&out, &spec, overwrite)?;
            say!(
                "wrote {} shape={:?} ({:.1} MB in {:.2} s)",
                s.path.display(),
                s.shape,
                s.bytes as f64 / 1e6,
                s.seconds
            );
            Ok(())
        }
        Command::Report { report, plot } => {
            let text = std::fs::read_to_string(&report)
                .with_context(|| format!("cannot read report {}", crate::quote::path(&report)))?;
            let r: crate::runtime::RunReport = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not a Tessera run report",
                    crate::quote::path(&report)
                )
            })?;
            say!("{}", render::summary_table(&r).trim_end());
            if let Some(out) = plot {
                let p = crate::plot::plot(&r, &out)?;
                say!(
                    "plotted {} tasks of {} workers to {} ({})",
                    p.spans_drawn,
                    p.workers,
                    out.display(),
                    p.format
                );
            }
            Ok(())
        }
        Command::Info { file, json } => {
            let fi = crate::io::info::inspect(&file)?;
            if json {
                say!("{}", crate::labeled::info::render_json(&file, &fi));
            } else {
                {
                    use std::io::Write as _;
                    let _ = write!(
                        std::io::stdout(),
                        "{}",
                        crate::labeled::info::render_text(&file, &fi)
                    );
                }
            }
            Ok(())
        }
        Command::Eval {
            expr,
            json,
            no_compute,
            open,
            workers,
            report,
            to,
            deflate,
            overwrite,
            runtime,
            no_optimize,
        } => {
            let mut opts = runtime.options()?;
            opts.optimize = !no_optimize;
            if let Some(w) = workers {
                if w == 0 {
                    return Err(anyhow!("--workers must be at least 1"));
                }
                opts.workers = w;
            }
            let client = match start(&opts)? {
                Started::Client(c) => c,
                Started::WorkerFinished => return Ok(()),
            };
            let bindings = bind_files(&open)?;
            let value = evaluate(&expr, &bindings)?;
            let labels = labels_json(&value);
            let labeled = match &value {
                Value::Labeled(d) => Some(d.clone()),
                _ => None,
            };
            let array = into_array(value)?;
            if !no_compute {
                clobber::refuse_outputs_that_are_inputs(
                    &open,
                    &array,
                    to.as_deref(),
                    report.as_deref(),
                )?;
            }
            let chunks = render::chunks_json(array.chunks());
            let add_labels = |mut o: Json| {
                if let (Some((dims, coords)), Some(m)) = (&labels, o.as_object_mut()) {
                    m.insert("dims".into(), dims.clone());
                    m.insert("coords".into(), coords.clone());
                }
                o
            };
            if no_compute {
                let meta = add_labels(
                    json!({"shape": array.shape(), "dtype": array.dtype().name(), "chunks": chunks}),
                );
                if json {
                    say!("{meta}");
                } else {
                    say!(
                        "shape={:?} dtype={} chunks={} ({} blocks, lazy)",
                        array.shape(),
                        array.dtype(),
                        render::chunks_text(array.chunks()),
                        array.grid().block_count()
                    );
                }
                return Ok(());
            }
            if let Some(target) = to {
                if target.ends_with(':') {
                    return Err(anyhow!(
                        "--to {}: the variable name after ':' is empty; give one \
                         (FILE:VARIABLE) or leave out the ':' (FILE)",
                        crate::quote::quote(&target),
                    ));
                }
                let (file, var) = split_target(&target, &labeled);
                crate::io::names::check_output_variable(std::path::Path::new(&file), &var)
                    .map_err(|m| anyhow!("--to: {m}"))?;
                let da = match labeled {
                    Some(d) => d,
                    None => {
                        let dims = (0..array.ndim()).map(|k| format!("dim_{k}")).collect();
                        crate::labeled::DataArray::new(array.clone(), dims, vec![])?
                    }
                };
                let opts = crate::io::write::WriteOptions {
                    overwrite,
                    deflate,
                    ..Default::default()
                };
                let stats = crate::labeled::write::write(
                    &client,
                    &da,
                    std::path::Path::new(&file),
                    &var,
                    &opts,
                )?;
                write_report(&client, report.as_deref())?;
                let msg = json!({"written": file, "variable": var, "shape": array.shape(), "dtype": array.dtype().name(),
                    "bytes_written": stats.bytes_written, "seconds": stats.seconds});
                if json {
                    say!("{msg}");
                } else {
                    say!(
                        "wrote {file}:{var} shape={:?} dtype={} ({:.1} MB in {:.3} s)",
                        array.shape(),
                        array.dtype(),
                        stats.bytes_written as f64 / 1e6,
                        stats.seconds
                    );
                }
                return Ok(());
            }
            let result = client.compute(&array)?;
            if let Some(path) = report {
                let r = client.last_report().unwrap_or_default();
                let text = serde_json::to_string_pretty(&r)?;
                std::fs::write(&path, text).with_context(|| {
                    format!("cannot write report {}", crate::quote::path(&path))
                })?;
            }
            if json {
                let out = add_labels(
                    json!({"shape": result.shape, "dtype": result.dtype.name(), "chunks": chunks, "data": data_json(&result)}),
                );
                say!("{out}");
            } else {
                if let Some(d) = &labeled {
                    say!("{}", describe_labels(d));
                }
                say!("{}", render(&result));
            }
            Ok(())
        }
    }
}

/// Client options for a job: command-line flags first, then the job's `[runtime]`.
fn job_options(
    args: &RuntimeArgs,
    workers: Option<usize>,
    job: &crate::job::Job,
) -> anyhow::Result<ClientOptions> {
    let mut o = args.options()?;
    let r = &job.runtime;
    if args.memory_limit.is_none() {
        if let Some(m) = r.memory_limit {
            o.memory_per_worker = m;
        }
    }
    if args.spill_dir.is_none() {
        if let Some(d) = &r.spill_dir {
            o.spill_dir = d.clone();
        }
    }
    if args.compression.is_none() {
        if let Some(c) = r.compression {
            o.compression = c;
        }
    }
    if args.heartbeat_timeout.is_none() {
        if let Some(secs) = r.heartbeat_timeout {
            o.heartbeat_timeout = crate::runtime::heartbeat::timeout_from_secs(secs);
        }
    }
    match workers.or(r.workers) {
        Some(0) => return Err(anyhow!("--workers must be at least 1")),
        Some(w) => o.workers = w,
        None => {}
    }
    Ok(o)
}

/// The futures scenarios (or the spill scenario) on whatever cluster this is; rank 0 prints
/// one JSON line.
fn futures_selftest(opts: &ClientOptions, which: &str) -> anyhow::Result<()> {
    selftest::futures::register_tasks();
    let client = match start(opts)? {
        Started::Client(c) => c,
        Started::WorkerFinished => return Ok(()),
    };
    let out = match which {
        "spill" => selftest::futures::spill(&client, opts.memory_per_worker)?,
        "wire" => selftest::futures::wire(
            &client,
            opts.compression == crate::runtime::worker::Compression::On,
        )?,
        // issue #13 item 7: tasks longer than the heartbeat timeout.
        "long" => selftest::futures::long_tasks(
            &client,
            std::env::var("TESSERA_SELFTEST_TASK_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(4000),
        )?,
        _ => selftest::futures::run_all(&client)?,
    };
    say!("{out}");
    Ok(())
}

/// `persist` on whatever cluster this is (in-process, or MPI ranks): blocks stay on the
/// workers, a later expression starts from them without recomputing, and the values equal
/// a direct computation. Rank 0 prints one JSON line.
fn persist_selftest() -> anyhow::Result<()> {
    let client = match start(&ClientOptions::default())? {
        Started::Client(c) => c,
        Started::WorkerFinished => return Ok(()),
    };
    let x = into_array(evaluate(
        "arange(1000, chunks=70).reshape((20, 50)).rechunk((7, 13)) * 2",
        &Bindings::new(),
    )?)?;
    let p = client.persist(&x)?;
    let mut b = Bindings::new();
    b.insert("x".into(), Value::Array(x));
    b.insert("p".into(), Value::Array(p));
    let direct = client.compute(&into_array(evaluate("(x + 1).sum(axis=0)", &b)?)?)?;
    let from_persisted = client.compute(&into_array(evaluate("(p + 1).sum(axis=0)", &b)?)?)?;
    let tasks = client.last_report().map(|r| r.tasks).unwrap_or(0);
    let whole = client.compute(&into_array(evaluate("p", &b)?)?)?;
    let want: Vec<f64> = (0..1000).map(|v| (v * 2) as f64).collect();
    say!(
        "{}",
        json!({"transport": client.transport_kind(), "workers": client.workers(),
            "equal": direct.to_f64_vec() == from_persisted.to_f64_vec(),
            "tasks_after_persist": tasks, "gathered_ok": whole.to_f64_vec() == want})
    );
    Ok(())
}

/// Random expressions computed with and without the optimizer on this cluster: results
/// equal, predicted counters equal to measured ones. Rank 0 prints one JSON line.
fn optimizer_selftest() -> anyhow::Result<()> {
    let mut client = match start(&ClientOptions::default())? {
        Started::Client(c) => c,
        Started::WorkerFinished => return Ok(()),
    };
    let count = std::env::var("TESSERA_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let seed = std::env::var("TESSERA_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let bad = selftest::optimizer::check(&mut client, seed, count);
    let bad: Vec<Json> = bad
        .iter()
        .map(|m| json!({"expr": m.expr, "what": m.what}))
        .collect();
    say!(
        "{}",
        json!({"transport": client.transport_kind(), "workers": client.workers(), "cases": count, "mismatches": bad})
    );
    Ok(())
}

fn bind_files(open: &[String]) -> anyhow::Result<Bindings> {
    let mut b = Bindings::new();
    for spec in open {
        let (name, target) = spec.split_once('=').ok_or_else(|| {
            anyhow!(
                "--open expects NAME=PATH or NAME=FILE:VARIABLE, got {}",
                crate::quote::quote(spec)
            )
        })?;
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || name.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(anyhow!(
                "--open: {} is not a valid name",
                crate::quote::quote(name)
            ));
        }
        let value = if target.ends_with(".npy") {
            let data = crate::io::npy::read(std::path::Path::new(target))?;
            Value::Array(api::from_local(data, &ChunkSpec::Auto)?)
        } else {
            let (file, var) = target.rsplit_once(':').ok_or_else(|| {
                let (name, target) = (crate::quote::shorten(name), crate::quote::shorten(target));
                anyhow!("--open {name}={target}: name the variable, as {name}={target}:VARIABLE")
            })?;
            let d = crate::labeled::open::open(
                std::path::Path::new(file),
                var,
                &crate::io::open::OpenOptions::default(),
            )?;
            Value::Labeled(d)
        };
        b.insert(name.to_string(), value);
    }
    Ok(b)
}

/// This process' rank when started by an MPI launcher (0 otherwise), without initialising
/// MPI (`explain` needs no cluster).
fn mpi_rank() -> usize {
    crate::comm::launch::rank()
}

/// The number of ranks when started by an MPI launcher.
fn mpi_size() -> Option<usize> {
    crate::comm::launch::size()
}

/// `FILE:VAR` or `FILE` (the variable then takes the array's name, or `data`).
fn split_target(t: &str, labeled: &Option<crate::labeled::DataArray>) -> (String, String) {
    let default = || {
        labeled
            .as_ref()
            .and_then(|d| d.name.clone())
            .unwrap_or_else(|| "data".into())
    };
    match t.rsplit_once(':') {
        Some((f, v)) if !f.is_empty() && !v.is_empty() => (f.to_string(), v.to_string()),
        _ => (t.to_string(), default()),
    }
}

fn write_report(
    client: &crate::runtime::Client,
    path: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    if let Some(path) = path {
        let r = client.last_report().unwrap_or_default();
        let text = serde_json::to_string_pretty(&r)?;
        std::fs::write(path, text)
            .with_context(|| format!("cannot write report {}", crate::quote::path(path)))?;
    }
    Ok(())
}
