//! Checkpoints: what a job has finished, kept on disk so that a rerun (a Slurm requeue,
//! a preemption, a crash) resumes instead of starting over.
//!
//! A checkpoint directory holds one NetCDF-4 file per completed intermediate array and a
//! manifest (`manifest.json`) naming, for every completed array and output, a
//! fingerprint of what produced it: the expression, the fingerprints of what it uses, and
//! for inputs the file's path, size and modification time. A rerun reuses an entry only
//! when its fingerprint still matches, so editing one array recomputes it and everything
//! after it, and nothing else. Files and the manifest are written under temporary names
//! and renamed, so a job killed at any moment leaves a usable checkpoint.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The manifest file's name inside the checkpoint directory.
const MANIFEST: &str = "manifest.json";

/// A completed intermediate array.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArrayEntry {
    /// What produced it.
    pub fingerprint: String,
    /// Its file, relative to the checkpoint directory.
    pub file: String,
    /// Whether it had named dimensions (else it is reopened as a plain array).
    pub labeled: bool,
    /// Its block sizes, to reopen it with the same chunking (same reduction order).
    pub chunks: Vec<Vec<usize>>,
}

/// A completed output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutputEntry {
    /// What produced it.
    pub fingerprint: String,
    /// The file written.
    pub file: PathBuf,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    /// The job file the checkpoint belongs to.
    job: PathBuf,
    arrays: BTreeMap<String, ArrayEntry>,
    outputs: BTreeMap<usize, OutputEntry>,
}

/// Where the checkpoint directory `dir` keeps array `name`.
pub fn array_file(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.nc"))
}

/// The manifest of the checkpoint directory `dir`.
pub fn manifest_file(dir: &Path) -> PathBuf {
    dir.join(MANIFEST)
}

/// An open checkpoint directory.
#[derive(Debug)]
pub struct Checkpoint {
    dir: PathBuf,
    manifest: Manifest,
}

impl Checkpoint {
    /// Opens (creating it if needed) the checkpoint directory of `job`. A directory that
    /// belongs to another job file is refused, so two jobs cannot mix their checkpoints.
    pub fn open(dir: &Path, job: &Path) -> Result<Checkpoint> {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::Job(format!(
                "cannot create the checkpoint directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join(MANIFEST);
        let manifest = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str::<Manifest>(&text).map_err(|e| {
                Error::Job(format!(
                    "{}: not a Tessera checkpoint manifest ({e}); remove the directory to start over",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Manifest {
                job: job.to_path_buf(),
                ..Default::default()
            },
            Err(e) => {
                return Err(Error::Job(format!("cannot read {}: {e}", crate::quote::path(&path))));
            }
        };
        if manifest.job != job {
            return Err(Error::Job(format!(
                "checkpoint directory {} belongs to the job {}, not {}; use another directory",
                dir.display(),
                manifest.job.display(),
                job.display()
            )));
        }
        let cp = Checkpoint {
            dir: dir.to_path_buf(),
            manifest,
        };
        // Every dead writer's temp file goes, also of an array the manifest does not list
        // yet (the run was killed while writing it).
        crate::io::write::remove_stale_temps_in(dir);
        Ok(cp)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where array `name` is kept.
    pub fn array_file(&self, name: &str) -> PathBuf {
        array_file(&self.dir, name)
    }

    /// The completed array `name`, if it was made by `fingerprint` and its file is there.
    pub fn array(&self, name: &str, fingerprint: &str) -> Option<&ArrayEntry> {
        self.manifest
            .arrays
            .get(name)
            .filter(|e| e.fingerprint == fingerprint && self.dir.join(&e.file).is_file())
    }

    /// Records a completed array (its file already in place).
    pub fn record_array(&mut self, name: &str, entry: ArrayEntry) -> Result<()> {
        self.manifest.arrays.insert(name.to_string(), entry);
        self.save()
    }

    /// Whether output `index` was completed by `fingerprint` and its file is still there.
    pub fn output_done(&self, index: usize, fingerprint: &str, file: &Path) -> bool {
        self.manifest
            .outputs
            .get(&index)
            .is_some_and(|e| e.fingerprint == fingerprint && e.file == file && file.is_file())
    }

    /// Whether output `index` was written by this job before (whatever produced it), so
    /// replacing its file replaces the job's own work.
    pub fn output_known(&self, file: &Path) -> bool {
        self.manifest.outputs.values().any(|e| e.file == file)
    }

    /// Records a completed output.
    pub fn record_output(&mut self, index: usize, fingerprint: &str, file: &Path) -> Result<()> {
        self.manifest.outputs.insert(
            index,
            OutputEntry {
                fingerprint: fingerprint.to_string(),
                file: file.to_path_buf(),
            },
        );
        self.save()
    }

    fn save(&self) -> Result<()> {
        let path = self.dir.join(MANIFEST);
        let tmp = self
            .dir
            .join(format!(".{MANIFEST}.tessera-{}.tmp", std::process::id()));
        let text = serde_json::to_string_pretty(&self.manifest)
            .map_err(|e| Error::Internal(format!("checkpoint manifest: {e}")))?;
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                Error::Job(format!("cannot write {}: {e}", crate::quote::path(&path)))
            })
    }
}

/// A stable 64-bit FNV-1a hash, printed as hex: fingerprints must not change between
/// builds, which `std`'s hasher does not promise.
#[derive(Debug, Clone)]
pub struct Fingerprint(u64);

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }
}

impl Fingerprint {
    /// Adds a field (length-prefixed, so `"ab" + "c"` differs from `"a" + "bc"`).
    pub fn with(mut self, s: &str) -> Self {
        for b in (s.len() as u64).to_le_bytes().iter().chain(s.as_bytes()) {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self
    }

    /// The hash as 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// What identifies an input file's contents cheaply: path, size and modification time.
pub fn file_identity(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(m) => {
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}|{}|{}", path.display(), m.len(), mtime)
        }
        Err(_) => format!("{}|missing", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_separate_fields() {
        let a = Fingerprint::default().with("ab").with("c").hex();
        let b = Fingerprint::default().with("a").with("bc").hex();
        assert_ne!(a, b);
        assert_eq!(a, Fingerprint::default().with("ab").with("c").hex());
    }

    #[test]
    fn manifest_round_trips_and_refuses_other_jobs() {
        let dir = std::env::temp_dir().join(format!("tessera-ckpt-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let job = Path::new("/jobs/a.toml");
        let mut cp = Checkpoint::open(&dir, job).expect("open");
        std::fs::write(cp.array_file("clim"), b"x").expect("file");
        cp.record_array(
            "clim",
            ArrayEntry {
                fingerprint: "f1".into(),
                file: "clim.nc".into(),
                labeled: true,
                chunks: vec![vec![12]],
            },
        )
        .expect("record");
        let out = dir.join("clim.nc");
        cp.record_output(0, "g1", &out).expect("record output");
        let again = Checkpoint::open(&dir, job).expect("reopen");
        assert!(again.array("clim", "f1").is_some());
        assert!(again.array("clim", "f2").is_none());
        assert!(again.output_done(0, "g1", &out));
        assert!(!again.output_done(0, "g2", &out));
        let other = Checkpoint::open(&dir, Path::new("/jobs/b.toml"));
        assert!(other.is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Issue #13 item 8: a killed run's temp file for an array the manifest does not list
    /// yet is removed when the checkpoint is opened; a live writer's file is kept.
    #[test]
    fn open_removes_dead_writers_temp_files_of_unlisted_arrays() {
        let dir = std::env::temp_dir().join(format!("tessera-ckpt-stale-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let dead = dir.join(".anom.nc.tessera-999999999.tmp");
        let live = dir.join(".clim.nc.tessera-1.tmp");
        let other = dir.join("notes.tmp");
        for f in [&dead, &live, &other] {
            std::fs::write(f, b"partial").expect("file");
        }
        let job = Path::new("/jobs/a.toml");
        Checkpoint::open(&dir, job).expect("open");
        assert!(!dead.exists(), "a dead writer's temp file survived");
        assert!(live.exists() && other.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
