//! Issue #13, items 1, 8, 9 and 12 (second half): nothing a run writes may destroy a file
//! it reads or another output; SIGINT/SIGTERM end a run with one line, exit 130/143 and
//! nothing half-written left behind; a full disk is named as such; outputs outside a
//! job's folder are logged. Every test runs the real binary on real files, in-process and
//! under `mpirun -n 3` where that applies, with real signals and a real (tmpfs) full disk.

mod common;

use common::{mpirun_available, tessera, SmallDisk};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

/// A fresh directory for one test (removed at the start of the next run of the test).
fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-safety-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Files in `dir` that are writers' temporary files (`.NAME.tessera-PID.tmp`).
fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".tessera-") && n.ends_with(".tmp"))
                .collect()
        })
        .unwrap_or_default()
}

/// Spill directories in `dir`.
fn spill_dirs(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("tessera-spill-"))
                .collect()
        })
        .unwrap_or_default()
}

/// A NetCDF input with several variables: the real ERA-Interim file when present, else a
/// generated one (whose `time`, `lat`, `lon` and `tas` are four variables too).
fn input_file(dir: &Path) -> (PathBuf, &'static str) {
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/real/eraint_uvz.nc");
    let f = dir.join("F.nc");
    if real.is_file() {
        std::fs::copy(&real, &f).expect("copy the real input");
        (f, "u")
    } else {
        eprintln!("{} is absent: using a generated input", real.display());
        let o = tessera(
            None,
            &[
                "gen",
                "climate",
                &f.to_string_lossy(),
                "--days",
                "20",
                "--grid",
                "10",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        (f, "tas")
    }
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Asserts a refused run: non-zero exit, the message names the clash and both paths, the
/// protected file is byte for byte what it was, and no temporary file was left.
fn assert_refused(o: &Output, names: &[&str], file: &Path, before: &[u8]) {
    let err = stderr(o);
    assert!(!o.status.success(), "a clash was accepted: {err}");
    assert!(err.contains("is the same file as"), "{err}");
    for n in names {
        assert!(err.contains(n), "the message does not name {n}: {err}");
    }
    let ours = err.lines().filter(|l| l.starts_with("tessera:")).count();
    assert_eq!(ours, 1, "one message: {err}");
    let after = std::fs::read(file).expect("the input is still there");
    assert!(after == before, "{} was changed", file.display());
    let dir = file.parent().expect("dir");
    assert!(temp_files(dir).is_empty(), "{:?}", temp_files(dir));
}

/// Issue #13 item 1: `eval --to` onto its own input (and its aliases: `./`, a symlinked
/// directory, a symlink, `open()` in the expression, `--report`) is refused before any
/// work, in-process and under `mpirun -n 3`, and the input stays intact.
#[test]
fn eval_refuses_an_output_that_is_its_input() {
    let dir = temp_dir("eval-clash");
    let (f, var) = input_file(&dir);
    let before = std::fs::read(&f).expect("read input");
    std::os::unix::fs::symlink(&dir, dir.join("via")).expect("dir symlink");
    std::os::unix::fs::symlink(&f, dir.join("L.nc")).expect("file symlink");
    let open = format!("x={}:{var}", s(&f));
    let dotted = s(&dir.join(".").join("F.nc"));
    let via = s(&dir.join("via/F.nc"));
    let link = s(&dir.join("L.nc"));
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            vec![
                "x*2".into(),
                "--open".into(),
                open.clone(),
                "--to".into(),
                format!("{}:{var}", s(&f)),
                "--overwrite".into(),
            ],
            vec!["--to", "--open x"],
        ),
        (
            vec![
                "x*2".into(),
                "--open".into(),
                open.clone(),
                "--to".into(),
                dotted.clone(),
                "--overwrite".into(),
            ],
            vec!["--to", "--open x", "/./F.nc"],
        ),
        (
            vec![
                "x*2".into(),
                "--open".into(),
                open.clone(),
                "--to".into(),
                via.clone(),
                "--overwrite".into(),
            ],
            vec!["--to", "via/F.nc", "--open x"],
        ),
        (
            vec![
                "x*2".into(),
                "--open".into(),
                open.clone(),
                "--to".into(),
                link.clone(),
                "--overwrite".into(),
            ],
            vec!["--to", "L.nc", "--open x"],
        ),
        (
            vec![
                format!("open(\"{via}\", \"{var}\") * 2"),
                "--to".into(),
                s(&f),
                "--overwrite".into(),
            ],
            vec!["--to", "read by the expression"],
        ),
        (
            vec![
                "x.sum()".into(),
                "--open".into(),
                open.clone(),
                "--report".into(),
                dotted.clone(),
            ],
            vec!["--report", "--open x"],
        ),
    ];
    for (args, names) in &cases {
        let mut full = vec!["eval"];
        full.extend(args.iter().map(String::as_str));
        assert_refused(&tessera(None, &full), names, &f, &before);
    }
    if mpirun_available() {
        let (args, names) = &cases[2];
        let mut full = vec!["eval"];
        full.extend(args.iter().map(String::as_str));
        assert_refused(&tessera(Some(3), &full), names, &f, &before);
    } else {
        eprintln!("mpirun not available: the MPI case is skipped");
    }
    // The check is not over-eager: another file is written.
    let g = s(&dir.join("via/G.nc"));
    let o = tessera(None, &["eval", "x*2", "--open", &open, "--to", &g]);
    assert!(o.status.success(), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

fn write_job(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).expect("job file");
    p
}

/// Issue #13 item 1: a job writing its own input (with `overwrite = true`), two outputs
/// reaching one file through a symlinked directory, and an output that an `open()` in an
/// array reads are refused before any work, in-process and under `mpirun -n 3`.
#[test]
fn jobs_refuse_outputs_that_are_inputs_or_each_other() {
    let dir = temp_dir("job-clash");
    let (f, var) = input_file(&dir);
    let before = std::fs::read(&f).expect("read input");
    std::os::unix::fs::symlink(&dir, dir.join("via")).expect("dir symlink");
    let own_input = write_job(
        &dir,
        "own.toml",
        &format!(
            "[runtime]\noverwrite = true\n[inputs.x]\nfile = \"F.nc\"\nvariable = \"{var}\"\n\
             [[outputs]]\narray = \"x * 2\"\nfile = \"./via/F.nc\"\nvariable = \"{var}\"\n"
        ),
    );
    let two_outputs = write_job(
        &dir,
        "two.toml",
        &format!(
            "[inputs.x]\nfile = \"F.nc\"\nvariable = \"{var}\"\n\
             [[outputs]]\narray = \"x * 2\"\nfile = \"out.nc\"\nvariable = \"a\"\n\
             [[outputs]]\narray = \"x * 3\"\nfile = \"via/out.nc\"\nvariable = \"b\"\n"
        ),
    );
    let opened = write_job(
        &dir,
        "opened.toml",
        &format!(
            "[runtime]\noverwrite = true\n[arrays]\ny = 'open(\"via/F.nc\", \"{var}\") + 1'\n\
             [[outputs]]\narray = \"y\"\nfile = \"F.nc\"\n"
        ),
    );
    let fine = write_job(
        &dir,
        "fine.toml",
        &format!(
            "[inputs.x]\nfile = \"F.nc\"\nvariable = \"{var}\"\n\
             [[outputs]]\narray = \"x * 2\"\nfile = \"out.nc\"\nvariable = \"a\"\n"
        ),
    );
    let ranks: Vec<Option<usize>> = if mpirun_available() {
        vec![None, Some(3)]
    } else {
        eprintln!("mpirun not available: the MPI cases are skipped");
        vec![None]
    };
    for r in ranks {
        let o = tessera(r, &["run", &s(&own_input)]);
        assert_refused(
            &o,
            &["own.toml:", "outputs[0].file", "inputs.x.file", "via/F.nc"],
            &f,
            &before,
        );
        let o = tessera(r, &["run", &s(&two_outputs), "--overwrite"]);
        assert_refused(
            &o,
            &[
                "two.toml:",
                "outputs[1].file",
                "outputs[0].file",
                "via/out.nc",
            ],
            &f,
            &before,
        );
        assert!(!dir.join("out.nc").exists(), "an output was written");
        let o = tessera(r, &["run", &s(&opened)]);
        assert_refused(
            &o,
            &["opened.toml:", "outputs[0].file", "arrays.y"],
            &f,
            &before,
        );
        let o = tessera(
            r,
            &["run", &s(&fine), "--report", &s(&dir.join("via/F.nc"))],
        );
        assert_refused(&o, &["--report", "inputs.x.file"], &f, &before);
        assert!(!dir.join("out.nc").exists(), "an output was written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #13 item 1, found by a hostile review: a checkpoint file that is an input (an
/// array named like the input file, checkpointed into the input's folder) or an output, a
/// `--report` that is the job file, the checkpoint manifest or (through a dangling
/// symlink) an output, are refused before any work, in-process and under `mpirun -n 3`.
#[test]
fn checkpoints_and_reports_never_replace_what_a_run_reads_or_writes() {
    let dir = temp_dir("ckpt-clash");
    let (f, var) = input_file(&dir);
    let before = std::fs::read(&f).expect("read input");
    // Array `F` is used by another array, so a checkpoint keeps it as `CKPT/F.nc`.
    let arrays = format!(
        "[inputs.x]\nfile = \"F.nc\"\nvariable = \"{var}\"\n\
         [arrays]\nF = \"x * 2\"\nb = \"F + 1\"\n"
    );
    let printed = write_job(
        &dir,
        "printed.toml",
        &format!("{arrays}[[outputs]]\narray = \"b.sum()\"\n"),
    );
    std::fs::create_dir_all(dir.join("ck")).expect("ck");
    let into_ckpt = write_job(
        &dir,
        "into.toml",
        &format!("{arrays}[[outputs]]\narray = \"b\"\nfile = \"ck/F.nc\"\nvariable = \"b\"\n"),
    );
    let to_file = write_job(
        &dir,
        "tofile.toml",
        &format!("{arrays}[[outputs]]\narray = \"b\"\nfile = \"o9.nc\"\nvariable = \"b\"\n"),
    );
    std::os::unix::fs::symlink("o9.nc", dir.join("dangling")).expect("dangling link");
    let job_text = std::fs::read(&printed).expect("job file");
    let ranks: Vec<Option<usize>> = if mpirun_available() {
        vec![None, Some(3)]
    } else {
        vec![None]
    };
    for r in ranks {
        let o = tessera(r, &["run", &s(&printed), "--checkpoint", &s(&dir)]);
        assert_refused(
            &o,
            &["the checkpoint of arrays.F", "inputs.x.file"],
            &f,
            &before,
        );
        let o = tessera(
            r,
            &["run", &s(&into_ckpt), "--checkpoint", &s(&dir.join("ck"))],
        );
        assert_refused(
            &o,
            &["the checkpoint of arrays.F", "outputs[0].file"],
            &f,
            &before,
        );
        assert!(!dir.join("ck/F.nc").exists(), "an output was written");
        let o = tessera(r, &["run", &s(&printed), "--report", &s(&printed)]);
        assert_refused(&o, &["--report", "the job file"], &f, &before);
        assert_eq!(std::fs::read(&printed).expect("job file"), job_text);
        let manifest = dir.join("ck/manifest.json");
        let o = tessera(
            r,
            &[
                "run",
                &s(&printed),
                "--checkpoint",
                &s(&dir.join("ck")),
                "--report",
                &s(&manifest),
            ],
        );
        assert_refused(&o, &["--report", "the checkpoint manifest"], &f, &before);
        let o = tessera(
            r,
            &["run", &s(&to_file), "--report", &s(&dir.join("dangling"))],
        );
        assert_refused(&o, &["--report", "outputs[0].file"], &f, &before);
        assert!(!dir.join("o9.nc").exists(), "an output was written");
        let o = tessera(
            r,
            &[
                "eval",
                "x * 2",
                "--open",
                &format!("x={}:{var}", s(&f)),
                "--to",
                &s(&dir.join("o9.nc")),
                "--report",
                &s(&dir.join("dangling")),
            ],
        );
        assert_refused(&o, &["--report", "--to"], &f, &before);
        assert!(!dir.join("o9.nc").exists(), "an output was written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #13 item 12: job outputs outside the job's folder are allowed, and logged with
/// their absolute path before any work; outputs inside it are not.
#[test]
fn job_outputs_outside_its_folder_are_logged_with_their_absolute_path() {
    let dir = temp_dir("outside");
    std::fs::create_dir_all(dir.join("jobs")).expect("jobs dir");
    std::fs::create_dir_all(dir.join("elsewhere")).expect("other dir");
    let job = write_job(
        &dir.join("jobs"),
        "j.toml",
        "[arrays]\na = 'arange(12, chunks=5)'\n\
         [[outputs]]\narray = \"a\"\nfile = \"../elsewhere/far.nc\"\n\
         [[outputs]]\narray = \"a * 2\"\nfile = \"near.nc\"\nvariable = \"b\"\n",
    );
    let o = tessera(None, &["run", &s(&job), "--progress", "log"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let far = std::fs::canonicalize(dir.join("elsewhere/far.nc")).expect("written");
    let line = err
        .lines()
        .find(|l| l.contains("outside the job's folder"))
        .unwrap_or_else(|| panic!("no line about the outside output: {err}"));
    assert!(
        line.contains("outputs[0]") && line.ends_with(&*far.to_string_lossy()),
        "{line}"
    );
    assert_eq!(err.matches("outside the job's folder").count(), 1, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sends `sig` to process `pid`.
fn send(pid: u32, sig: i32) {
    // SAFETY: kill(2) on a process this test started.
    let rc = unsafe { libc::kill(pid as i32, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig})");
}

/// Waits (at most 120 s, to catch a hang) until `ready` holds or the child exits; true
/// when it holds.
fn wait_until(child: &mut Child, ready: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        if child.try_wait().expect("try_wait").is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    panic!("the run neither reached the expected state nor ended within 120 s");
}

/// Waits for a child with a generous deadline (a hang fails the test).
fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not end within 120 s of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn spawn(mpi: bool, args: &[&str]) -> Child {
    let mut cmd = if mpi {
        let mut c = Command::new("mpirun");
        c.args(["-n", "3", "--oversubscribe", BIN])
            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        c
    } else {
        Command::new(BIN)
    };
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tessera")
}

/// Starts `args` in-process, freezes it (SIGSTOP) once `ready` holds, so the signal lands
/// mid-run for sure, sends `sig`, lets it go on (SIGCONT) and returns how it ended. Tries
/// again with a fresh run when the first ended before it was caught.
fn interrupt_in_process(args: &[&str], sig: i32, ready: impl Fn() -> bool) -> Output {
    for _ in 0..3 {
        let mut child = spawn(false, args);
        if !wait_until(&mut child, &ready) {
            eprintln!("the run ended before the signal; trying again");
            continue;
        }
        send(child.id(), libc::SIGSTOP);
        if !ready() {
            send(child.id(), libc::SIGCONT);
            let _ = finish(child);
            continue;
        }
        send(child.id(), sig);
        send(child.id(), libc::SIGCONT);
        return finish(child);
    }
    panic!("three runs ended before the expected state was seen");
}

/// The one line an interrupted run prints, and its exit code.
fn assert_stopped(o: &Output, sig: i32) {
    let err = stderr(o);
    let name = match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGHUP => "SIGHUP",
        _ => "SIGTERM",
    };
    assert_eq!(
        o.status.code(),
        Some(128 + sig),
        "exit status {:?}: {err}",
        o.status
    );
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("tessera:")).collect();
    assert_eq!(lines.len(), 1, "one message: {err}");
    assert!(
        lines[0].starts_with(&format!("tessera: stopped by {name}")),
        "{err}"
    );
}

/// Whether this process ignores `sig` (as children started from it then do: under
/// `nohup`, SIGHUP).
fn ignored(sig: i32) -> bool {
    // SAFETY: with a null new action, sigaction only writes the current one into the
    // zeroed struct it is given.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut current) == 0
            && current.sa_sigaction == libc::SIG_IGN
    }
}

/// Issue #13 item 8: SIGINT, SIGTERM and SIGHUP (a closed terminal) during `eval --to` end
/// it with one line and exit 130/143/129; no temporary file is left and the previous
/// output is intact.
#[test]
fn signals_stop_eval_to_cleanly() {
    let dir = temp_dir("sig-eval");
    let out = dir.join("out.nc");
    let o = tessera(None, &["eval", "arange(10)", "--to", &s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = std::fs::read(&out).expect("old output");
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        if ignored(sig) {
            eprintln!("signal {sig} is ignored here (nohup?), as it is then by tessera: skipped");
            continue;
        }
        let args = [
            "eval",
            "random((8000, 4000), chunks=(250, 4000)) * 2",
            "--to",
            &s(&out),
            "--overwrite",
            "--workers",
            "2",
        ];
        let o = interrupt_in_process(&args, sig, || !temp_files(&dir).is_empty());
        assert_stopped(&o, sig);
        assert!(temp_files(&dir).is_empty(), "{:?}", temp_files(&dir));
        assert!(
            std::fs::read(&out).expect("old output") == before,
            "the old output changed"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A digest of an output's header (`ncdump -h`, less the line naming the file) and of its
/// variable's values as `h5dump` writes them out raw. Bytes are no oracle here: workers
/// finish blocks in a different order each run, so equal values land at different offsets
/// of the HDF5 file, and a run that finished its first output before the signal
/// legitimately replaced it with equal values (the job's data are seeded).
fn nc_contents(path: &Path) -> u64 {
    use std::hash::{Hash, Hasher};
    let head = Command::new("ncdump")
        .args(["-h"])
        .arg(path)
        .output()
        .expect("ncdump (netcdf-bin) is installed");
    assert!(
        head.status.success(),
        "{}: {}",
        path.display(),
        stderr(&head)
    );
    let var = if path.ends_with("o1.nc") { "/x" } else { "/y" };
    let raw = path.with_extension("values");
    let dump = Command::new("h5dump")
        .args(["-d", var, "-b", "LE", "-o"])
        .arg(&raw)
        .arg(path)
        .output()
        .expect("h5dump (hdf5-tools) is installed");
    assert!(
        dump.status.success(),
        "{}: {}",
        path.display(),
        stderr(&dump)
    );
    let values = std::fs::read(&raw).expect("h5dump's output");
    let _ = std::fs::remove_file(&raw);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    String::from_utf8_lossy(&head.stdout)
        .lines()
        .skip(1)
        .for_each(|l| l.hash(&mut h));
    values.hash(&mut h);
    h.finish()
}

/// A job that spills (a shared array larger than the memory limit) and writes two
/// outputs, with its spill folder in `dir/spill`.
fn spilling_job(dir: &Path, rows: usize) -> PathBuf {
    std::fs::create_dir_all(dir.join("spill")).expect("spill dir");
    write_job(
        dir,
        "spill.toml",
        &format!(
            "[runtime]\nworkers = 2\nmemory_limit = \"16M\"\nspill_dir = \"spill\"\n\
             [arrays]\na = 'random(({rows}, 4000), chunks=500, seed=7)'\n\
             [[outputs]]\narray = \"a + 1\"\nfile = \"o1.nc\"\nvariable = \"x\"\n\
             [[outputs]]\narray = \"a * 2\"\nfile = \"o2.nc\"\nvariable = \"y\"\n"
        ),
    )
}

/// Issue #13 item 8: SIGTERM and SIGINT to an in-process `run` that spills: one line, exit
/// 143/130, no temporary file and no spill folder left, previous outputs intact.
#[test]
fn signals_stop_a_spilling_job_and_remove_its_spill_folders() {
    let dir = temp_dir("sig-job");
    let job = spilling_job(&dir, 4000);
    let o = tessera(None, &["run", &s(&job)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let old: Vec<u64> = ["o1.nc", "o2.nc"]
        .iter()
        .map(|f| nc_contents(&dir.join(f)))
        .collect();
    let spill = dir.join("spill");
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let args = ["run", &s(&job), "--overwrite"];
        let o = interrupt_in_process(&args, sig, || {
            !temp_files(&dir).is_empty() && !spill_dirs(&spill).is_empty()
        });
        assert_stopped(&o, sig);
        assert!(!stderr(&o).contains("error"), "{}", stderr(&o));
        assert!(temp_files(&dir).is_empty(), "{:?}", temp_files(&dir));
        assert!(spill_dirs(&spill).is_empty(), "{:?}", spill_dirs(&spill));
        for (f, b) in ["o1.nc", "o2.nc"].iter().zip(&old) {
            assert!(&nc_contents(&dir.join(f)) == b, "{f} changed");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #13 item 8: SIGTERM or SIGINT to `mpirun -n 3 tessera run` ends the run with
/// tessera's message (not a silent exit 1), and every rank removes its temporary files and
/// spill folders; previous outputs stay intact.
#[test]
fn signals_to_mpirun_end_the_run_with_a_message_and_clean_up() {
    if !mpirun_available() {
        eprintln!("mpirun not available: skipped");
        return;
    }
    let dir = temp_dir("sig-mpi");
    let job = spilling_job(&dir, 8000);
    let o = tessera(None, &["run", &s(&job)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let old: Vec<u64> = ["o1.nc", "o2.nc"]
        .iter()
        .map(|f| nc_contents(&dir.join(f)))
        .collect();
    let spill = dir.join("spill");
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // mpirun (OpenMPI) passes both on to the ranks as SIGTERM.
        let name = "SIGTERM";
        let mut caught = None;
        for _ in 0..3 {
            let mut child = spawn(true, &["run", &s(&job), "--overwrite"]);
            let ready = || !temp_files(&dir).is_empty() && spill_dirs(&spill).len() == 2;
            if wait_until(&mut child, ready) {
                send(child.id(), sig);
                caught = Some(finish(child));
                break;
            }
            eprintln!("the run ended before the signal; trying again");
        }
        let o = caught.expect("three runs ended before the signal could be sent");
        let err = stderr(&o);
        assert!(!o.status.success(), "{err}");
        let ours: Vec<&str> = err.lines().filter(|l| l.starts_with("tessera:")).collect();
        assert_eq!(ours.len(), 1, "one message from tessera: {err}");
        assert!(
            ours[0].starts_with(&format!("tessera: stopped by {name}")),
            "{err}"
        );
        assert!(temp_files(&dir).is_empty(), "{:?}", temp_files(&dir));
        assert!(spill_dirs(&spill).is_empty(), "{:?}", spill_dirs(&spill));
        for (f, b) in ["o1.nc", "o2.nc"].iter().zip(&old) {
            assert!(&nc_contents(&dir.join(f)) == b, "{f} changed");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #13 item 8: `eval --to` removes a dead writer's temporary file of its own target
/// (as `run` does), and leaves a running writer's alone.
#[test]
fn eval_to_removes_stale_temp_files_of_its_target() {
    let dir = temp_dir("stale");
    let out = dir.join("out.nc");
    let dead = dir.join(".out.nc.tessera-999999999.tmp");
    let live = dir.join(".out.nc.tessera-1.tmp");
    std::fs::write(&dead, vec![0u8; 4096]).expect("stale file");
    std::fs::write(&live, b"running").expect("live file");
    let o = tessera(None, &["eval", "arange(10)", "--to", &s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!dead.exists(), "the stale temp file survived");
    assert!(live.exists(), "a live writer's file was removed");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #13 item 9: a NetCDF (and HDF5) output bigger than the disk fails naming the OS
/// error (No space left on device) and the path, in-process and under `mpirun -n 3`; the
/// previous output of the same name is intact and nothing is left behind.
#[test]
fn a_full_disk_is_named_and_old_outputs_stay_intact() {
    let dir = temp_dir("full");
    let Some(disk) = SmallDisk::mount(&dir.join("small")) else {
        return;
    };
    let ranks: Vec<Option<usize>> = if mpirun_available() {
        vec![None, Some(3)]
    } else {
        vec![None]
    };
    for name in ["out.nc", "out.h5"] {
        let out = disk.0.join(name);
        let o = tessera(None, &["eval", "ones((3, 3))", "--to", &s(&out)]);
        assert!(o.status.success(), "{}", stderr(&o));
        let before = std::fs::read(&out).expect("old output");
        for &r in &ranks {
            let o = tessera(
                r,
                &[
                    "eval",
                    "random((1000, 1000), chunks=250)",
                    "--to",
                    &s(&out),
                    "--overwrite",
                ],
            );
            let err = stderr(&o);
            assert!(!o.status.success(), "{err}");
            assert!(err.contains("No space left on device"), "{err}");
            assert!(
                err.contains(&s(&out)),
                "the message does not name the output: {err}"
            );
            assert!(
                std::fs::read(&out).expect("old output") == before,
                "{name} changed"
            );
            assert!(temp_files(&disk.0).is_empty(), "{:?}", temp_files(&disk.0));
        }
    }
    drop(disk);
    let _ = std::fs::remove_dir_all(&dir);
}
