//! Hostile and broken input through the real binary (issue #13): job paths that try to
//! inject shell commands into the batch script `tessera submit` writes (item 2), and
//! classic NetCDF files cut short, which the NetCDF library reads as zeros (item 3).

mod common;

use common::{mpirun_available, tessera};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-hostile-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn chmod_x(p: &Path) {
    let ok = Command::new("chmod").arg("+x").arg(p).status();
    assert!(ok.is_ok_and(|s| s.success()), "chmod {}", p.display());
}

/// A job that needs no input: one printed value.
fn tiny_job(dir: &Path) -> PathBuf {
    let job = dir.join("job.toml");
    std::fs::write(
        &job,
        "[job]\nname = \"tiny\"\n\n[arrays]\ns = \"arange(10).sum()\"\n\n[[outputs]]\narray = \"s\"\n",
    )
    .expect("job file");
    job
}

/// The directory names of item 2: command substitution, backticks, quotes, spaces and a
/// line break (each also tried inside a site template's quotes).
const HOSTILE: &[&str] = &[
    "a $(touch PWNED1) b",
    "c `touch PWNED2` d",
    "it's",
    "say \"hi\"",
    "two  spaces",
    "line\nbreak; touch PWNED3",
    "$HOME and ${PATH} \\ back",
];

/// A site template that uses the job path in every quoting context bash has.
const SITE_TEMPLATE: &str = "#!/bin/bash\n\
#SBATCH --job-name={{JOB_NAME}}\n\
#SBATCH --nodes={{NODES}}\n\
#SBATCH --ntasks-per-node={{NTASKS_PER_NODE}}\n\
#SBATCH --time={{TIME}}\n\
#SBATCH --output={{OUTPUT}}\n\
{{SBATCH_LINES}}\n\
{{SETUP}}\n\
printf '%s\\0' \"{{JOB_FILE}}\" > \"$ECHOED\"\n\
printf '%s\\0' '{{JOB_FILE}}' >> \"$ECHOED\"\n\
printf '%s\\0' {{JOB_FILE}} >> \"$ECHOED\"\n\
cat <<EOT > \"$ECHOED.heredoc\"\n\
{{JOB_FILE}}\n\
EOT\n\
cat <<-'EOT' > \"$ECHOED.quoted-heredoc\"\n\
{{JOB_FILE}}\n\
\tEOT\n\
{{LAUNCHER}} {{TESSERA}} run {{JOB_FILE}} {{ARGS}}\n";

/// Issue #13 item 2: `tessera submit` quotes every user-controlled string. The dry-run
/// script runs under bash with a fake `srun` that records its arguments: the job path must
/// arrive as one intact argument, and nothing in it may run.
#[test]
fn submit_scripts_keep_hostile_paths_as_data() {
    let root = scratch("submit");
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let srun = bin.join("srun");
    std::fs::write(
        &srun,
        "#!/bin/bash\n# Records the arguments, NUL-separated.\nprintf '%s\\0' \"$@\" > \"$RECORDED\"\n",
    )
    .expect("fake srun");
    chmod_x(&srun);
    let template = root.join("site.sbatch");
    std::fs::write(&template, SITE_TEMPLATE).expect("template");
    let logs = root.join("logs dir");
    std::fs::create_dir_all(&logs).expect("logs");
    for (i, name) in HOSTILE.iter().enumerate() {
        let dir = root.join(format!("case{i}")).join(name);
        std::fs::create_dir_all(&dir).expect("hostile dir");
        let job = tiny_job(&dir);
        let job_arg = job.to_str().expect("utf-8");
        for site in [false, true] {
            let log = logs.join("run-%j.out");
            let ck = dir.join("ck");
            let mut args = vec![
                "submit",
                job_arg,
                "--dry-run",
                "--ntasks-per-node",
                "2",
                "--time",
                "00:01:00",
                "--output",
                log.to_str().expect("utf-8"),
                "--checkpoint",
                ck.to_str().expect("utf-8"),
            ];
            if site {
                args.extend(["--template", template.to_str().expect("utf-8")]);
            }
            let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
                .args(&args)
                .output()
                .expect("tessera submit");
            if site && name.contains('\n') {
                // A line break would end the site template's here-document early.
                assert!(!out.status.success(), "{name:?}");
                assert!(stderr(&out).contains("here-document"), "{}", stderr(&out));
                continue;
            }
            assert!(out.status.success(), "{name:?}: {}", stderr(&out));
            let script = root.join("script.sh");
            std::fs::write(&script, &out.stdout).expect("script");
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("#SBATCH --output=\""),
                "an output path with a space is quoted for sbatch"
            );
            let recorded = root.join("recorded");
            let echoed = root.join("echoed");
            let _ = std::fs::remove_file(&recorded);
            let ran = Command::new("bash")
                .arg(&script)
                .current_dir(&root)
                .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
                .env("RECORDED", &recorded)
                .env("ECHOED", &echoed)
                .env("SLURM_JOB_ID", "7")
                .env("SLURM_JOB_NODELIST", "node1")
                .output()
                .expect("bash");
            assert!(ran.status.success(), "{name:?}: {}", stderr(&ran));
            let args = std::fs::read(&recorded).expect("srun was called");
            let args: Vec<String> = args
                .split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let run = args.iter().position(|a| a == "run").expect("run");
            assert_eq!(args[run + 1], job_arg, "{name:?}: srun got {args:?}");
            let ck_at = args.iter().position(|a| a == "--checkpoint").expect("ck");
            assert_eq!(args[ck_at + 1], ck.to_str().expect("utf-8"));
            if site {
                let echoed = std::fs::read(&echoed).expect("echoed");
                let words: Vec<&[u8]> = echoed
                    .split(|&b| b == 0)
                    .filter(|w| !w.is_empty())
                    .collect();
                assert_eq!(words.len(), 3, "{name:?}");
                for doc in ["heredoc", "quoted-heredoc"] {
                    let text = std::fs::read(root.join(format!("echoed.{doc}"))).expect(doc);
                    assert_eq!(
                        text,
                        format!("{job_arg}\n").as_bytes(),
                        "{name:?}: the {doc} changed the path"
                    );
                }
                for w in words {
                    assert_eq!(
                        w,
                        job_arg.as_bytes(),
                        "{name:?}: a quoted context changed the path"
                    );
                }
            } else {
                let text = String::from_utf8_lossy(&ran.stdout);
                assert!(text.contains(job_arg), "{name:?}: echo line: {text}");
            }
            for marker in ["PWNED1", "PWNED2", "PWNED3"] {
                assert!(
                    !root.join(marker).exists(),
                    "{name:?} ran a command ({marker})"
                );
                assert!(
                    !Path::new(marker).exists(),
                    "{name:?} ran a command ({marker})"
                );
            }
        }
    }
    // sbatch cannot take a line break or a double quote on an #SBATCH line: a clear error.
    let job = tiny_job(&root);
    for bad in ["x\ny.out", "x\"y.out"] {
        let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .arg("submit")
            .arg(&job)
            .args([
                "--dry-run",
                "--ntasks-per-node",
                "2",
                "--time",
                "5",
                "--output",
            ])
            .arg(root.join(bad))
            .output()
            .expect("tessera submit");
        assert!(!out.status.success(), "{bad:?} accepted");
        assert!(stderr(&out).contains("#SBATCH line"), "{}", stderr(&out));
        assert!(out.stdout.is_empty(), "no script printed for {bad:?}");
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// `ncgen -k KIND` of a CDL text.
fn ncgen(dir: &Path, name: &str, kind: &str, cdl: &str) -> Option<PathBuf> {
    let cdl_path = dir.join(format!("{name}.cdl"));
    std::fs::write(&cdl_path, cdl).expect("cdl");
    let nc = dir.join(format!("{name}.nc"));
    match Command::new("ncgen")
        .args(["-k", kind, "-o"])
        .arg(&nc)
        .arg(&cdl_path)
        .status()
    {
        Ok(s) if s.success() => Some(nc),
        _ => {
            eprintln!("skipping: ncgen (netcdf-bin) is not installed");
            None
        }
    }
}

/// A copy of `src` cut to `len` bytes.
fn cut(src: &Path, dst: &Path, len: u64) -> PathBuf {
    let bytes = std::fs::read(src).expect("read");
    std::fs::write(dst, &bytes[..len as usize]).expect("write");
    dst.to_path_buf()
}

fn expect_truncated(ranks: Option<usize>, expr: &str, needles: &[&str]) {
    let o = tessera(ranks, &["eval", expr]);
    let err = stderr(&o);
    assert!(
        !o.status.success(),
        "{expr} succeeded on a truncated file: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "'{n}' not in: {err}");
    }
}

/// Issue #13 item 3: a classic NetCDF file cut short fails naming the file, the variable
/// and both sizes, instead of reading zeros; the intact variables still read correctly.
#[test]
fn truncated_classic_netcdf_is_refused() {
    let dir = scratch("nc3");
    // 40 records of r (short) after a fixed variable a (1000 ints): netCDF-C's own layout.
    let values: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    let recs: Vec<String> = (0..40).map(|i| (i * 3).to_string()).collect();
    let cdl = format!(
        "netcdf t {{\ndimensions:\n x = 1000 ;\n time = UNLIMITED ;\nvariables:\n int a(x) ;\n short r(time) ;\n  r:units = \"m\" ;\n double time(time) ;\ndata:\n a = {} ;\n r = {} ;\n time = {} ;\n}}\n",
        values.join(", "),
        recs.join(", "),
        recs.join(", ")
    );
    let ranks: Vec<Option<usize>> = if mpirun_available() {
        vec![None, Some(3)]
    } else {
        vec![None]
    };
    for kind in ["classic", "64-bit-offset", "cdf5"] {
        let Some(full) = ncgen(&dir, kind, kind, &cdl) else {
            return;
        };
        let size = std::fs::metadata(&full).expect("size").len();
        let f = full.display();
        // The whole file reads (no false alarm).
        for r in &ranks {
            let o = tessera(*r, &["eval", &format!("open(\"{f}\", \"r\").sum()")]);
            assert!(o.status.success(), "{kind}: {}", stderr(&o));
            assert!(
                String::from_utf8_lossy(&o.stdout).contains("2340"),
                "{kind}"
            );
        }
        // The last record (a short r and a double time: 12 bytes) is missing.
        let short = cut(&full, &dir.join(format!("{kind}-short.nc")), size - 12);
        let s = short.display().to_string();
        for r in &ranks {
            expect_truncated(
                *r,
                &format!("open(\"{s}\", \"r\").sum()"),
                &[&s, "'r'", "truncated", &format!("has {} bytes", size - 12)],
            );
            // The fixed variable before the records is intact and reads as the original.
            let o = tessera(*r, &["eval", &format!("open(\"{s}\", \"a\").sum()")]);
            assert!(o.status.success(), "{kind}: {}", stderr(&o));
            assert!(
                String::from_utf8_lossy(&o.stdout).contains("499500"),
                "{kind}"
            );
        }
        // Header only: the data of `a` (4000 bytes) and all records are missing.
        let data_bytes = 4000 + 40 * (4 + 8);
        let header = cut(
            &full,
            &dir.join(format!("{kind}-header.nc")),
            size - data_bytes,
        );
        let h = header.display().to_string();
        expect_truncated(
            None,
            &format!("open(\"{h}\", \"a\").sum()"),
            &[&h, "'a'", "truncated"],
        );
        // Cut inside the header itself, also before the first variable: the header is
        // named as cut short (not "no variable 'a'").
        for n in [8, 16, 40] {
            let tiny = cut(&full, &dir.join(format!("{kind}-tiny{n}.nc")), n);
            let t = tiny.display().to_string();
            expect_truncated(
                None,
                &format!("open(\"{t}\", \"a\").sum()"),
                &[&t, "header is cut short"],
            );
        }
        // A "streaming" record count (0xFFFFFFFF, a writer that never finished) is what
        // the library reports as the record count: refused, not a 34 GB allocation.
        if kind != "cdf5" {
            let mut bytes = std::fs::read(&full).expect("read");
            bytes[4..8].copy_from_slice(&[0xff; 4]);
            let streaming = dir.join(format!("{kind}-streaming.nc"));
            std::fs::write(&streaming, bytes).expect("write");
            let st = streaming.display().to_string();
            for r in &ranks {
                expect_truncated(
                    *r,
                    &format!("open(\"{st}\", \"r\").sum()"),
                    &[&st, "'r'", "truncated"],
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #13 item 3 on the real file it was found with: `head -c 2084490 eraint_uvz.nc`,
/// then reading `v`.
#[test]
fn truncated_real_file_is_refused() {
    let real = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/real/eraint_uvz.nc");
    if !real.exists() {
        eprintln!(
            "skipping: {} not found (the real files are optional)",
            real.display()
        );
        return;
    }
    let dir = scratch("real");
    let short = cut(&real, &dir.join("eraint_uvz.nc"), 2_084_490);
    let s = short.display().to_string();
    let ranks: Vec<Option<usize>> = if mpirun_available() {
        vec![None, Some(3)]
    } else {
        vec![None]
    };
    for r in ranks {
        expect_truncated(
            r,
            &format!("open(\"{s}\", \"v\").mean()"),
            &[&s, "'v'", "2084490 bytes", "truncated"],
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Inodes of the TCP sockets in the LISTEN state on this machine.
fn listening_inodes() -> Vec<String> {
    let mut out = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() > 9 && f[3] == "0A" {
                out.push(f[9].to_string());
            }
        }
    }
    out
}

/// The processes running the tessera binary, with the socket inodes each holds.
fn tessera_sockets() -> Vec<(u32, Vec<String>)> {
    let bin = std::fs::canonicalize(env!("CARGO_BIN_EXE_tessera")).expect("binary");
    let mut out = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return out;
    };
    for p in procs.flatten() {
        let Ok(pid) = p.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if std::fs::read_link(p.path().join("exe")).ok().as_deref() != Some(bin.as_path()) {
            continue;
        }
        let mut inodes = Vec::new();
        if let Ok(fds) = std::fs::read_dir(p.path().join("fd")) {
            for fd in fds.flatten() {
                if let Ok(target) = std::fs::read_link(fd.path()) {
                    let t = target.to_string_lossy().into_owned();
                    if let Some(i) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                        inodes.push(i.to_string());
                    }
                }
            }
        }
        out.push((pid, inodes));
    }
    out
}

/// Issue #13 item 12: Tessera listens on no socket, in-process or on MPI ranks of one node
/// (OpenMPI's TCP transport would make every rank listen on all interfaces).
#[test]
fn ranks_listen_on_no_socket() {
    let mut runs: Vec<Option<usize>> = vec![None];
    if mpirun_available() {
        runs.push(Some(3));
    }
    for ranks in runs {
        let bin = env!("CARGO_BIN_EXE_tessera");
        let expr = "random((16000, 16000), chunks=2000, seed=0).std()";
        let mut cmd = match ranks {
            None => Command::new(bin),
            Some(n) => {
                let mut c = Command::new("mpirun");
                c.args(["-n", &n.to_string(), "--oversubscribe", bin])
                    .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
                    .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
                c
            }
        };
        let mut child = cmd
            .args(["eval", expr])
            .env_remove("OMPI_MCA_btl")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let want = ranks.unwrap_or(1);
        let mut seen_all = 0;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while child.try_wait().expect("wait").is_none() {
            assert!(std::time::Instant::now() < deadline, "run did not end");
            let listening = listening_inodes();
            let procs = tessera_sockets();
            for (pid, inodes) in &procs {
                for i in inodes {
                    assert!(
                        !listening.contains(i),
                        "tessera process {pid} ({ranks:?} ranks) listens on a TCP socket (inode {i})"
                    );
                }
            }
            if procs.len() >= want {
                seen_all += 1;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let out = child.wait_with_output().expect("output");
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            seen_all >= 3,
            "the run ended before its processes could be inspected"
        );
    }
}
