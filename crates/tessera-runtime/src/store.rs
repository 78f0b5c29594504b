//! The chunk store of one worker: every array block and future value it holds.
//!
//! Memory is bounded: once payload bytes in memory pass 70 % of the worker's limit, the
//! least recently used entries are written to files until 50 % remains, and read back
//! when asked for. Each store spills into its own scratch directory (named after host,
//! process and rank), which is removed when the store is dropped, also while unwinding,
//! and when SIGINT/SIGTERM stops the process ([`crate::signal`]).
//!
//! Entries never change under their key (a new value is a new insert), so a spill file
//! stays valid after its entry is read back: the file is kept, and when the entry must
//! leave memory again its bytes are simply dropped. Each entry is written at most once
//! while it is stored, however often a task re-reads it (a rechunk's input is read by
//! every output block that overlaps it); only re-reads are repeated, and counted.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::array::buffer::Buffer;
use crate::array::plan::ChunkKey;

/// A stored item: a header the store never looks inside, and optional payload bytes.
#[derive(Debug, Clone)]
pub struct Entry<H> {
    /// What the item is besides its bytes.
    pub head: H,
    /// The bytes; `None` and empty payloads cost nothing and are never spilled.
    pub data: Option<Arc<Buffer>>,
}

/// Where and how much a store may hold.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Bytes of entry payloads held in memory before spilling; u64::MAX = never spill.
    pub limit: u64,
    /// Parent directory for this store's spill directory (e.g. $TMPDIR or node-local SSD).
    pub dir: PathBuf,
    /// Worker rank, for the directory name and error messages.
    pub rank: u32,
}

/// Byte counts of a store, now and over its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoreStats {
    /// Entries stored (memory + disk).
    pub keys: u64,
    /// Payload bytes held in memory now.
    pub bytes_in_memory: u64,
    /// Payload bytes in spill files now (entries only on disk, and the kept copies of
    /// entries read back).
    pub bytes_on_disk: u64,
    /// Largest `bytes_in_memory` ever.
    pub peak_bytes_in_memory: u64,
    /// Payload bytes ever written to spill files (each stored entry at most once).
    pub bytes_spilled: u64,
    /// Payload bytes ever read back from spill files (re-reads included).
    pub bytes_unspilled: u64,
}

struct Slot<H> {
    /// The entry; its `data` is `None` while the bytes are on disk only (`on_disk`).
    e: Entry<H>,
    len: u64,
    /// The bytes are on disk only (not in memory).
    on_disk: bool,
    /// A spill file holds this entry's bytes (whether or not they are in memory too).
    file: bool,
    /// Last use; key of this entry in `Store::lru` while it is in memory and `len > 0`.
    tick: u64,
}

/// Prefix of every spill directory name.
const DIR_PREFIX: &str = "tessera-spill-";

/// Stores created in this process, so two stores with the same rank and parent
/// directory (in-process tests) never share a spill directory.
static STORES: AtomicU64 = AtomicU64::new(0);

/// The chunk store of one worker, spilling least recently used payloads to disk.
pub struct Store<H> {
    slots: HashMap<ChunkKey, Slot<H>>,
    /// Spillable in-memory entries by last use, oldest first.
    lru: BTreeMap<u64, ChunkKey>,
    tick: u64,
    stats: StoreStats,
    limit: u64,
    rank: u32,
    dir: PathBuf,
    dir_created: bool,
    /// Removes the spill directory if SIGINT/SIGTERM stops the process.
    _on_signal: Option<crate::signal::OnSignal>,
}

impl<H: Clone> Store<H> {
    /// An empty store; nothing is created on disk until the first spill.
    pub fn new(cfg: StoreConfig) -> Store<H> {
        let seq = match STORES.fetch_add(1, Ordering::Relaxed) {
            0 => String::new(),
            n => format!("-{n}"),
        };
        let (host, pid) = (hostname(), std::process::id());
        let name = format!("{DIR_PREFIX}{host}-{pid}-r{}{seq}", cfg.rank);
        Store {
            slots: HashMap::new(),
            lru: BTreeMap::new(),
            tick: 0,
            stats: StoreStats::default(),
            limit: cfg.limit,
            rank: cfg.rank,
            dir: cfg.dir.join(name),
            dir_created: false,
            _on_signal: None,
        }
    }

    /// Stores (replacing any entry with the key), then spills if over the high-water
    /// mark. The entry just inserted is never spilled by this call, even if it alone
    /// exceeds the limit; it becomes a candidate once others are used after it.
    /// On a spill error the entry is stored anyway (in memory) and the error returned.
    pub fn insert(&mut self, key: ChunkKey, e: Entry<H>) -> Result<(), String> {
        self.remove(&key);
        let len = e.data.as_ref().map_or(0, |p| p.len() as u64);
        let slot = Slot {
            e,
            len,
            on_disk: false,
            file: false,
            tick: 0,
        };
        self.slots.insert(key, slot);
        self.add_in_memory(len);
        self.touch(&key, len);
        self.spill_if_needed(&key)
    }

    /// The entry, read back from disk if spilled (then it counts as in memory again,
    /// most recently used, and may push others out; its file is kept, so it leaves memory
    /// again without a write). Marks it most recently used. Ok(None) when absent.
    pub fn get(&mut self, key: &ChunkKey) -> Result<Option<Entry<H>>, String> {
        let Some(slot) = self.slots.get(key) else {
            return Ok(None);
        };
        let (len, old_tick) = (slot.len, slot.tick);
        if slot.on_disk {
            let path = self.file_path(key);
            let p = read_spill_file(&path, len)
                .map_err(|e| self.io_err("read back spill file", &path, e))?;
            if let Some(s) = self.slots.get_mut(key) {
                (s.e.data, s.on_disk) = (Some(Arc::new(p)), false);
            }
            self.stats.bytes_unspilled += len;
            self.add_in_memory(len);
        }
        self.lru.remove(&old_tick);
        self.touch(key, len);
        let entry = self.slots.get(key).map(|s| s.e.clone());
        self.spill_if_needed(key)?;
        Ok(entry)
    }

    /// Makes an in-memory entry the most recently used.
    fn touch(&mut self, key: &ChunkKey, len: u64) {
        self.tick += 1;
        if len > 0 {
            self.lru.insert(self.tick, *key);
        }
        if let Some(s) = self.slots.get_mut(key) {
            s.tick = self.tick;
        }
    }

    /// Spills least recently used entries other than `pinned` while over the mark:
    /// from above 70 % of the limit down to 50 %, or until nothing else is in memory.
    fn spill_if_needed(&mut self, pinned: &ChunkKey) -> Result<(), String> {
        let high = (u128::from(self.limit) * 7 / 10) as u64;
        if self.limit == u64::MAX || self.stats.bytes_in_memory <= high {
            return Ok(());
        }
        while self.stats.bytes_in_memory > self.limit / 2 {
            // The pinned entry was just touched, so it is last: at most one is skipped.
            match self.lru.values().find(|k| *k != pinned).copied() {
                Some(k) => self.spill(&k)?,
                None => break,
            }
        }
        Ok(())
    }

    /// Lets go of one in-memory entry's bytes, writing them to its file first unless the
    /// file already holds them.
    fn spill(&mut self, key: &ChunkKey) -> Result<(), String> {
        if self.slots.get(key).is_some_and(|s| s.file) {
            if let Some(slot) = self.slots.get_mut(key) {
                if slot.e.data.take().is_some() {
                    slot.on_disk = true;
                    let (len, tick) = (slot.len, slot.tick);
                    self.lru.remove(&tick);
                    self.stats.bytes_in_memory -= len;
                }
            }
            return Ok(());
        }
        if !self.dir_created {
            let kind = crate::signal::Kind::Dir;
            self._on_signal = Some(crate::signal::remove_on_signal(&self.dir, kind));
            std::fs::create_dir_all(&self.dir)
                .map_err(|e| self.io_err("create spill directory", &self.dir, e))?;
            self.dir_created = true;
        }
        let path = self.file_path(key);
        let Some(slot) = self.slots.get_mut(key) else {
            return Ok(());
        };
        let Some(p) = slot.e.data.take() else {
            return Ok(());
        };
        if let Err(e) = std::fs::write(&path, p.as_bytes()) {
            slot.e.data = Some(p);
            let _ = std::fs::remove_file(&path);
            return Err(self.io_err("write spill file", &path, e));
        }
        (slot.on_disk, slot.file) = (true, true);
        let (len, tick) = (slot.len, slot.tick);
        self.lru.remove(&tick);
        self.stats.bytes_in_memory -= len;
        self.stats.bytes_on_disk += len;
        self.stats.bytes_spilled += len;
        Ok(())
    }

    fn io_err(&self, doing: &str, path: &Path, e: std::io::Error) -> String {
        let (rank, path) = (self.rank, path.display());
        format!("worker {rank}: cannot {doing} {path}: {e}")
    }

    fn add_in_memory(&mut self, len: u64) {
        let st = &mut self.stats;
        st.bytes_in_memory += len;
        st.peak_bytes_in_memory = st.peak_bytes_in_memory.max(st.bytes_in_memory);
    }

    /// True when an entry with the key is stored (in memory or on disk).
    pub fn contains(&self, key: &ChunkKey) -> bool {
        self.slots.contains_key(key)
    }

    /// Removes an entry (deleting its spill file if any).
    pub fn remove(&mut self, key: &ChunkKey) {
        let Some(slot) = self.slots.remove(key) else {
            return;
        };
        if slot.file {
            // A file that cannot be deleted now goes with the directory on drop.
            let _ = std::fs::remove_file(self.file_path(key));
            self.stats.bytes_on_disk -= slot.len;
        }
        if !slot.on_disk {
            self.lru.remove(&slot.tick);
            self.stats.bytes_in_memory -= slot.len;
        }
    }

    /// Keeps the entries for which `keep` is true (deleting spill files of the others).
    pub fn retain(&mut self, mut keep: impl FnMut(&ChunkKey) -> bool) {
        let gone: Vec<ChunkKey> = self.slots.keys().filter(|k| !keep(k)).copied().collect();
        for k in &gone {
            self.remove(k);
        }
    }

    /// Byte counts now and over the store's life.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            keys: self.slots.len() as u64,
            ..self.stats
        }
    }

    /// Number of entries stored (memory + disk).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The spill directory (exists only after the first spill).
    pub fn spill_dir(&self) -> &Path {
        &self.dir
    }

    fn file_path(&self, k: &ChunkKey) -> PathBuf {
        (self.dir).join(format!("c{}-n{}-b{}.bin", k.comp, k.node, k.block))
    }
}

impl<H> Drop for Store<H> {
    /// Removes the spill directory and everything in it (errors are ignored).
    fn drop(&mut self) {
        if self.dir_created {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Reads the `len` bytes of a spill file straight into a new payload (a short file
/// is an error).
fn read_spill_file(path: &Path, len: u64) -> std::io::Result<Buffer> {
    let mut f = std::fs::File::open(path)?;
    let mut p = Buffer::for_overwrite(len as usize);
    f.read_exact(p.as_bytes_mut())?;
    Ok(p)
}

/// This host's name, made safe for a file name.
fn hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "localhost".to_string());
    let safe = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    name.chars()
        .map(|c| if safe(c) { c } else { '_' })
        .collect()
}

/// Removes spill directories under `dir` left by processes of this host that no longer
/// exist (a killed MPI job). Returns how many were removed. Does nothing where `/proc`
/// is unavailable, since liveness cannot be checked there.
pub fn remove_stale_spill_dirs(dir: &Path) -> usize {
    if !Path::new("/proc/self").exists() {
        return 0;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let prefix = format!("{DIR_PREFIX}{}-", hostname());
    let mut removed = 0;
    for ent in entries.flatten() {
        let name = ent.file_name();
        let rest = name.to_str().and_then(|n| n.strip_prefix(&prefix));
        let pid = match rest.and_then(|r| r.split_once("-r")) {
            Some((p, _)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p,
            _ => continue,
        };
        let is_dir = ent.file_type().is_ok_and(|t| t.is_dir());
        if is_dir
            && !Path::new("/proc").join(pid).exists()
            && std::fs::remove_dir_all(ent.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh temporary parent directory, removed at the end of the test.
    struct Tmp(PathBuf);
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn tmp(name: &str) -> Tmp {
        let p = std::env::temp_dir().join(format!("tessera-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Tmp(p)
    }

    fn store(dir: &Path, limit: u64) -> Store<u32> {
        let (dir, rank) = (dir.to_path_buf(), 3);
        Store::new(StoreConfig { limit, dir, rank })
    }
    fn key(block: u64) -> ChunkKey {
        let (comp, node) = (7, 2);
        ChunkKey { comp, node, block }
    }
    fn bytes(i: u64, len: usize) -> Vec<u8> {
        (0..len).map(|j| (j as u64 * 31 + i * 17) as u8).collect()
    }
    fn entry(i: u64, len: usize) -> Entry<u32> {
        let (head, data) = (i as u32, Some(Arc::new(Buffer::copy_from(&bytes(i, len)))));
        Entry { head, data }
    }
    fn fill(s: &mut Store<u32>, keys: std::ops::Range<u64>, len: usize) {
        keys.for_each(|i| s.insert(key(i), entry(i, len)).unwrap());
    }
    /// Which of the keys `0..n` have a spill file.
    fn spilled(s: &Store<u32>, n: u64) -> Vec<u64> {
        (0..n).filter(|i| s.file_path(&key(*i)).exists()).collect()
    }
    fn mem_disk(s: &Store<u32>) -> (u64, u64, u64) {
        let st = s.stats();
        (st.keys, st.bytes_in_memory, st.bytes_on_disk)
    }

    #[test]
    fn spills_over_limit_and_reads_back() {
        let tmp = tmp("spill");
        let mut s = store(&tmp.0, 1000);
        fill(&mut s, 0..3, 200);
        assert_eq!(s.stats().peak_bytes_in_memory, 600);
        fill(&mut s, 3..4, 200);
        // 800 > 700: the two oldest go, leaving 400 <= 500.
        assert_eq!((mem_disk(&s), spilled(&s, 4)), ((4, 400, 400), vec![0, 1]));
        assert_eq!(s.stats().bytes_spilled, 400);
        let e = s.get(&key(0)).unwrap().unwrap();
        assert_eq!(e.head, 0);
        assert_eq!(e.data.unwrap().as_bytes(), &bytes(0, 200)[..]);
        // Read back, its file stays (the bytes are on disk and in memory).
        assert_eq!((mem_disk(&s), spilled(&s, 4)), ((4, 600, 400), vec![0, 1]));
        assert_eq!(s.stats().bytes_unspilled, 200);
        for i in 0..4 {
            let d = s.get(&key(i)).unwrap().unwrap().data.unwrap();
            assert_eq!(d.as_bytes(), &bytes(i, 200)[..]);
        }
        let st = s.stats();
        assert_eq!((st.bytes_in_memory, st.bytes_on_disk), (400, 800));
        assert_eq!((st.bytes_spilled, st.bytes_unspilled), (800, 800));
        assert_eq!(st.peak_bytes_in_memory, 800);
        assert!(s.get(&key(99)).unwrap().is_none());
        assert!(s.contains(&key(3)) && !s.contains(&key(99)));
    }

    #[test]
    fn lru_spares_recently_used_and_pins_current() {
        let tmp = tmp("lru");
        let mut s = store(&tmp.0, 1000);
        fill(&mut s, 0..3, 200);
        s.get(&key(0)).unwrap();
        s.insert(key(3), entry(3, 200)).unwrap();
        assert_eq!(spilled(&s, 4), vec![1, 2]);
        // An entry above the limit stays for its own call and goes at the next one.
        s.insert(key(4), entry(4, 2000)).unwrap();
        assert_eq!(spilled(&s, 5), vec![0, 1, 2, 3]);
        s.insert(key(5), entry(5, 100)).unwrap();
        assert_eq!(spilled(&s, 6), vec![0, 1, 2, 3, 4]);
        // Reading it back pins it and pushes the other one out (its own file stays).
        s.get(&key(4)).unwrap();
        assert_eq!(spilled(&s, 6), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(s.stats().bytes_in_memory, 2000);
    }

    /// issue #13 item 11: a chunk read back again and again (a rechunk's input, read by
    /// every output block it overlaps) is written once; its re-reads are counted.
    #[test]
    fn a_chunk_is_written_once_however_often_it_is_read_back() {
        let tmp = tmp("once");
        let mut s = store(&tmp.0, 1000);
        fill(&mut s, 0..4, 300);
        let first = s.stats().bytes_spilled;
        assert_eq!(first, 600, "0 and 1 spilled once each");
        for round in 0..20u64 {
            // Each read pushes the others out; none is written again.
            for i in 0..4 {
                let d = s.get(&key(i)).unwrap().unwrap().data.unwrap();
                assert_eq!(d.as_bytes(), &bytes(i, 300)[..], "round {round}");
            }
        }
        let st = s.stats();
        assert_eq!(st.bytes_spilled, 1200, "each of the 4 entries written once");
        assert!(st.bytes_unspilled >= 20 * 3 * 300, "{st:?}");
        assert!(st.peak_bytes_in_memory <= 1000, "{st:?}");
        assert_eq!(spilled(&s, 4), vec![0, 1, 2, 3]);
        // A new value under a spilled key replaces the file: written again, once.
        s.insert(key(0), entry(9, 300)).unwrap();
        fill(&mut s, 4..6, 300);
        let d = s.get(&key(0)).unwrap().unwrap().data.unwrap();
        assert_eq!(d.as_bytes(), &bytes(9, 300)[..]);
        let disk: u64 = (0..6)
            .filter_map(|i| std::fs::metadata(s.file_path(&key(i))).ok())
            .map(|m| m.len())
            .sum();
        assert_eq!(s.stats().bytes_on_disk, disk);
        s.retain(|_| false);
        assert_eq!(mem_disk(&s), (0, 0, 0));
        assert_eq!(std::fs::read_dir(s.spill_dir()).unwrap().count(), 0);
    }

    #[test]
    fn remove_retain_and_drop_delete_files() {
        let tmp = tmp("remove");
        let mut s = store(&tmp.0, 1000);
        fill(&mut s, 0..8, 200);
        let dir = s.spill_dir().to_path_buf();
        assert!(dir.starts_with(&tmp.0));
        assert_eq!(spilled(&s, 8), vec![0, 1, 2, 3, 4, 5]);
        s.remove(&key(0));
        s.retain(|k| k.block % 2 == 0);
        assert_eq!(spilled(&s, 8), vec![2, 4]);
        assert_eq!((mem_disk(&s), s.len()), ((3, 200, 400), 3));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        // Replacing a spilled entry drops its file and its disk bytes.
        s.insert(key(2), entry(2, 10)).unwrap();
        assert_eq!((mem_disk(&s), spilled(&s, 8)), ((3, 210, 200), vec![4]));
        drop(s);
        assert!(!dir.exists() && tmp.0.exists());
        // A store that never spills creates nothing.
        let mut s = store(&tmp.0, 1000);
        s.insert(key(0), entry(0, 700)).unwrap();
        assert!(!s.spill_dir().exists());
        drop(s);
        assert_eq!(std::fs::read_dir(&tmp.0).unwrap().count(), 0);
    }

    #[test]
    fn unlimited_and_zero_size_never_spill() {
        let tmp = tmp("unlimited");
        let mut s = store(&tmp.0, u64::MAX);
        fill(&mut s, 0..50, 1000);
        assert_eq!(mem_disk(&s), (50, 50_000, 0));
        assert!(!s.spill_dir().exists());
        let mut z = store(&tmp.0, 0);
        for i in 0..10 {
            let data = (i % 2 == 0).then(|| Arc::new(Buffer::zeroed(0)));
            z.insert(key(i), Entry { head: 1, data }).unwrap();
        }
        z.insert(key(10), entry(10, 64)).unwrap();
        z.insert(key(11), entry(11, 64)).unwrap();
        assert_eq!((mem_disk(&z), spilled(&z, 12)), ((12, 64, 64), vec![10]));
        assert!(z.get(&key(1)).unwrap().unwrap().data.is_none());
        assert!(!z.is_empty());
    }

    #[test]
    fn io_errors_name_rank_and_path() {
        let tmp = tmp("errors");
        let file = tmp.0.join("a-file");
        std::fs::write(&file, b"x").unwrap();
        let mut s = store(&file, 100);
        s.insert(key(0), entry(0, 80)).unwrap();
        let err = s.insert(key(1), entry(1, 80)).unwrap_err();
        assert!(
            err.starts_with("worker 3: cannot create spill dir"),
            "{err}"
        );
        assert!(err.contains(&*s.spill_dir().to_string_lossy()), "{err}");
        assert_eq!(mem_disk(&s), (2, 160, 0));
        let mut s = store(&tmp.0, 100);
        s.insert(key(0), entry(0, 80)).unwrap();
        s.insert(key(1), entry(1, 80)).unwrap();
        std::fs::remove_file(s.file_path(&key(0))).unwrap();
        let err = s.get(&key(0)).unwrap_err();
        assert!(err.starts_with("worker 3: cannot read back"), "{err}");
        assert!(err.contains("c7-n2-b0.bin"), "{err}");
    }

    #[test]
    fn stale_dirs_of_dead_processes_are_removed() {
        let tmp = tmp("stale");
        let (host, pid) = (hostname(), std::process::id());
        let dead = tmp.0.join(format!("{DIR_PREFIX}{host}-999999999-r0"));
        std::fs::create_dir_all(&dead).unwrap();
        std::fs::write(dead.join("c1-n1-b1.bin"), b"x").unwrap();
        let keep = [
            format!("{DIR_PREFIX}{host}-{pid}-r1"),
            format!("{DIR_PREFIX}elsewhere-999999999-r0"),
            "999999999-r0".to_string(),
        ];
        for d in &keep {
            std::fs::create_dir_all(tmp.0.join(d)).unwrap();
        }
        let file = tmp.0.join(format!("{DIR_PREFIX}{host}-999999999-r2"));
        std::fs::write(&file, b"not a dir").unwrap();
        assert_eq!(remove_stale_spill_dirs(&tmp.0), 1);
        assert!(!dead.exists() && file.exists());
        assert!(keep.iter().all(|d| tmp.0.join(d).exists()));
        assert_eq!(remove_stale_spill_dirs(&tmp.0.join("missing")), 0);
    }
}
