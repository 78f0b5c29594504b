//! A real Slurm: `slurm/local-cluster.sh` starts munged, slurmctld and slurmd for this one
//! node (state in a temporary directory), then `tessera submit` queues real jobs that run
//! on MPI ranks started by `srun --mpi=pmix`:
//! - a climatology job, whose output files are checked against xarray's numbers;
//! - a checkpointed job requeued (`scontrol requeue`) while it runs, which must resume
//!   from the checkpoint in its second run and complete with correct output.
//!
//! Skipped, saying so, where Slurm is not installed, unless `TESSERA_REQUIRE_SLURM=1`
//! (CI sets it, so there a missing Slurm is a failure).

mod common;

use common::climjob::{check_climatology_outputs, climatology_job};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/slurm/local-cluster.sh");

/// A running single-node cluster, stopped when dropped.
struct Cluster {
    dir: PathBuf,
    conf: String,
}

impl Cluster {
    fn start(dir: &Path) -> Option<Cluster> {
        let installed = Command::new("sh")
            .args(["-c", "command -v slurmctld && command -v slurmd && command -v munged && command -v sbatch"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !installed {
            assert!(
                std::env::var("TESSERA_REQUIRE_SLURM").as_deref() != Ok("1"),
                "TESSERA_REQUIRE_SLURM=1 but Slurm is not installed (apt-get install slurm-wlm munge libpmix-dev)"
            );
            eprintln!(
                "SKIPPED: Slurm is not installed (apt-get install slurm-wlm munge libpmix-dev)"
            );
            return None;
        }
        let out = Command::new("bash")
            .args([SCRIPT, "start"])
            .arg(dir)
            .output()
            .expect("run local-cluster.sh");
        assert!(
            out.status.success(),
            "local-cluster.sh start failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let env = std::fs::read_to_string(dir.join("env.sh")).expect("env.sh");
        let conf = env
            .lines()
            .find_map(|l| l.trim().strip_prefix("export SLURM_CONF="))
            .map(|v| v.trim_matches(|c| c == '"' || c == '\'').to_string())
            .expect("SLURM_CONF in env.sh");
        Some(Cluster {
            dir: dir.to_path_buf(),
            conf,
        })
    }

    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf);
        c
    }

    /// `tessera submit ...`: the job id and the output file it printed.
    fn submit(&self, args: &[&str]) -> (u64, PathBuf) {
        let out = self
            .cmd(env!("CARGO_BIN_EXE_tessera"))
            .arg("submit")
            .args(args)
            .output()
            .expect("tessera submit");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "submit failed: {}{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut lines = text.lines();
        let id = lines
            .next()
            .and_then(|l| l.strip_prefix("Submitted batch job "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("sbatch's line first: {text}"));
        let output = PathBuf::from(lines.next().expect("output path line"));
        (id, output)
    }

    /// The job's state in `scontrol show job` (empty once Slurm forgot it).
    fn state(&self, id: u64) -> String {
        let out = self
            .cmd("scontrol")
            .args(["show", "job", &id.to_string()])
            .output()
            .expect("scontrol");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.split_whitespace()
            .find_map(|w| w.strip_prefix("JobState="))
            .unwrap_or_default()
            .to_string()
    }

    /// Waits for the job's final state in the job completion log (a requeued run logs a
    /// line too, with a non-final state).
    fn wait_final(&self, id: u64, log: &Path) -> String {
        let deadline = Instant::now() + Duration::from_secs(240);
        let prefix = format!("JobId={id} ");
        loop {
            let comp =
                std::fs::read_to_string(self.dir.join("log/jobcomp.txt")).unwrap_or_default();
            let fin = comp
                .lines()
                .filter(|l| l.starts_with(&prefix))
                .find_map(|l| {
                    let s = l
                        .split_whitespace()
                        .find_map(|w| w.strip_prefix("JobState="))?;
                    matches!(
                        s,
                        "COMPLETED"
                            | "FAILED"
                            | "CANCELLED"
                            | "TIMEOUT"
                            | "NODE_FAIL"
                            | "OUT_OF_MEMORY"
                    )
                    .then(|| s.to_string())
                });
            if let Some(s) = fin {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} did not finish in 240 s; state {}; log:\n{}",
                self.state(id),
                std::fs::read_to_string(log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until `pattern` appears in `file`.
    fn wait_for_text(&self, file: &Path, pattern: &str, id: u64) {
        let deadline = Instant::now() + Duration::from_secs(180);
        while !std::fs::read_to_string(file)
            .unwrap_or_default()
            .contains(pattern)
        {
            assert!(
                Instant::now() < deadline,
                "'{pattern}' never appeared; state {}; log:\n{}",
                self.state(id),
                std::fs::read_to_string(file).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .args([SCRIPT, "stop"])
            .arg(&self.dir)
            .output();
    }
}

#[test]
fn jobs_run_under_real_slurm_and_resume_after_requeue() {
    let root = std::env::temp_dir().join(format!("tessera-slurm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("temp dir");
    let Some(cluster) = Cluster::start(&root.join("cluster")) else {
        return;
    };

    // 1. A job submitted with tessera submit runs on 3 MPI ranks and writes its outputs.
    // Its folder's name tries to inject commands into the batch script (issue #13 item 2):
    // the job must run from that folder, and nothing in the name may run.
    let work = root.join("plain $(touch PWNED1) `touch PWNED2` it's");
    std::fs::create_dir_all(work.join("out")).expect("dir");
    let job = climatology_job(&work);
    let log = work.join("log-%j.out");
    let (id, output) = cluster.submit(&[
        job.to_str().expect("utf-8"),
        "--ntasks-per-node",
        "3",
        "--time",
        "00:05:00",
        "--output",
        log.to_str().expect("utf-8"),
    ]);
    assert_eq!(output, work.join(format!("log-{id}.out")));
    let state = cluster.wait_final(id, &output);
    let text = std::fs::read_to_string(&output).expect("job output");
    assert_eq!(state, "COMPLETED", "log:\n{text}");
    assert!(text.contains("on 2 worker(s) (mpi)"), "log:\n{text}");
    check_climatology_outputs(&work, &text);
    for marker in ["PWNED1", "PWNED2"] {
        for dir in [root.as_path(), work.as_path(), Path::new(".")] {
            assert!(
                !dir.join(marker).exists(),
                "the job path ran a command: {marker}"
            );
        }
    }

    // 2. A checkpointed job requeued while it runs resumes and completes.
    let work = root.join("requeue");
    std::fs::create_dir_all(work.join("out")).expect("dir");
    let job = climatology_job(&work);
    let slow = "[[outputs]]\narray = \"random((50000, 50000), chunks=5000, seed=1).std()\"\n\n[[outputs]]\narray = \"anom\"";
    let text = std::fs::read_to_string(&job).expect("job");
    std::fs::write(
        &job,
        text.replacen("[[outputs]]\narray = \"anom\"", slow, 1),
    )
    .expect("job");
    let ck = work.join("ck");
    let (id, output) = cluster.submit(&[
        job.to_str().expect("utf-8"),
        "--ntasks-per-node",
        "3",
        "--time",
        "00:05:00",
        "--checkpoint",
        ck.to_str().expect("utf-8"),
        "--output",
        work.join("log-%j.out").to_str().expect("utf-8"),
    ]);
    // Requeue once the first output is written, while the slow one computes.
    cluster.wait_for_text(&output, "tas_clim: wrote", id);
    let rq = cluster
        .cmd("scontrol")
        .args(["requeue", &id.to_string()])
        .output()
        .expect("scontrol requeue");
    assert!(
        rq.status.success(),
        "{}",
        String::from_utf8_lossy(&rq.stderr)
    );
    let state = cluster.wait_final(id, &output);
    let text = std::fs::read_to_string(&output).expect("job output");
    assert_eq!(state, "COMPLETED", "log:\n{text}");
    assert!(
        text.contains("(run 1)") && text.contains("(run 2)"),
        "two runs:\n{text}"
    );
    let second = &text[text.find("(run 2)").expect("second run")..];
    assert!(
        second.contains("clim: taken from the checkpoint"),
        "second run resumed:\n{text}"
    );
    assert!(
        second.contains("tas_clim: already complete (checkpoint)"),
        "second run kept the finished output:\n{text}"
    );
    assert!(
        !text[..text.find("(run 2)").expect("run 2")].contains("anom.nc:anom: wrote"),
        "the requeue came too late to interrupt the first run:\n{text}"
    );
    check_climatology_outputs(&work, second);
    assert!(
        second.contains("std() = 0.288"),
        "slow output printed:\n{text}"
    );
    drop(cluster);
    let _ = std::fs::remove_dir_all(&root);
}
