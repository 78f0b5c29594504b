//! Fuzzing of the four readers of untrusted bytes (issue #13 item 14): the expression
//! parser, the job-file checker, the `.npy` header reader and the wire-header decoder.
//!
//! cargo-fuzz needs a nightly toolchain, so this is a small mutation fuzzer that runs on
//! stable as an ordinary test binary (`cargo test --release --test fuzz`). Each target
//! starts from its corpus in `fuzz/corpus/<target>/` (seeded from real inputs: the
//! oracle's expressions, `jobs/*.toml`, `.npy` files written by numpy, headers written by
//! the encoder) and feeds mutated inputs for `TESSERA_FUZZ_SECONDS` seconds (default 60).
//! An input fails when the target panics, breaks one of its invariants (spans inside the
//! source, round trips, sizes that match), or runs longer than [`HANG_SECONDS`]; the
//! input is saved (see [`save_failure`]) and the test fails naming the file. Inputs run
//! on a thread with the 2 MiB stack of a runtime worker thread, so unbounded recursion
//! shows up as a crash; the input in flight is always in `<target dir>/fuzz/<target>/
//! in-flight`, so even an abort leaves it behind. Add a fixed failing input to the corpus
//! as a regression seed.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tessera::array::elementwise::{EExpr, UFunc};
use tessera::array::graph::Op;
use tessera::array::plan::{ChunkKey, Plan};
use tessera::comm::Rank;
use tessera::futures::value::Skel;
use tessera::runtime::compress::Codec;
use tessera::runtime::failure::Failure;
use tessera::runtime::protocol::{Cmd, Msg, Packing, TaskDone, WorkerCounters};

/// Longest time one input may take before it counts as a hang.
const HANG_SECONDS: u64 = 20;

/// Stack of the thread that runs the inputs: a runtime worker thread's default.
const STACK_BYTES: usize = 2 << 20;

/// Largest input the mutator produces.
const MAX_INPUT: usize = 256 << 10;

/// Seconds of fuzzing per target.
fn budget() -> Duration {
    let secs = std::env::var("TESSERA_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(60.0);
    Duration::from_secs_f64(secs)
}

/// splitmix64: small, fast, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn work_dir(target: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("fuzz")
        .join(target);
    std::fs::create_dir_all(&d).expect("fuzz work dir");
    d
}

/// The corpus files of a target, in name order.
fn load_corpus(target: &str) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus_dir(target))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// Saves a failing input under `fuzz/failures/<target>/` in the target directory and
/// returns its path.
fn save_failure(target: &str, input: &[u8]) -> PathBuf {
    let dir = work_dir(target).join("failures");
    let _ = std::fs::create_dir_all(&dir);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in input {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    let p = dir.join(format!("failure-{h:016x}"));
    let _ = std::fs::write(&p, input);
    p
}

/// One mutation step: bit flips, byte edits, dictionary tokens, interesting integers,
/// repeated ranges (long chains, deep nesting), splices with other corpus entries.
fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>], dict: &[&[u8]]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(5) {
        let at = rng.below(v.len() + 1);
        match rng.below(10) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            2 => {
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                v.splice(at..at, bytes);
            }
            3 if !v.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(v.len());
                let start = at.min(end);
                v.drain(start..end);
            }
            4 if !dict.is_empty() => {
                let t = dict[rng.below(dict.len())];
                v.splice(at..at, t.iter().copied());
            }
            5 if v.len() >= 8 => {
                let i = rng.below(v.len() - 7);
                let x: u64 = match rng.below(6) {
                    0 => 0,
                    1 => 1,
                    2 => u64::MAX,
                    3 => i64::MAX as u64,
                    4 => u32::MAX as u64 + rng.below(3) as u64,
                    _ => 1 << rng.below(64),
                };
                let w = [1, 2, 4, 8][rng.below(4)];
                v[i..i + w].copy_from_slice(&x.to_le_bytes()[..w]);
            }
            6 if !v.is_empty() => {
                // Repeat a range: long operator chains, deep nesting, long names.
                let start = rng.below(v.len());
                let end = (start + 1 + rng.below(12)).min(v.len());
                let piece = v[start..end].to_vec();
                let times = [2, 10, 100, 1000, 20_000][rng.below(5)];
                let mut rep = Vec::with_capacity(piece.len() * times);
                for _ in 0..times {
                    rep.extend_from_slice(&piece);
                }
                v.splice(end..end, rep);
            }
            7 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())];
                let cut = rng.below(other.len() + 1);
                v.truncate(at);
                v.extend_from_slice(&other[cut..]);
            }
            8 => v.truncate(at),
            _ => {
                if !v.is_empty() {
                    let i = rng.below(v.len());
                    v[i] = v[i].wrapping_add(1 + rng.below(3) as u8);
                }
            }
        }
        v.truncate(MAX_INPUT);
    }
    v
}

/// What one target checks for one input: `Err` is a broken invariant.
type Check = fn(&Path, &[u8]) -> Result<(), String>;

/// Runs target `name` for the time budget: the corpus first, then mutations. Panics with
/// the saved failing inputs if any.
fn fuzz(
    name: &'static str,
    extra_seeds: Vec<Vec<u8>>,
    dict: &'static [&'static [u8]],
    check: Check,
) {
    let mut corpus = load_corpus(name);
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{name}/ is empty or missing"
    );
    corpus.extend(extra_seeds);
    let dir = work_dir(name);
    let in_flight = dir.join("in-flight");
    let (to_runner, inputs) = mpsc::channel::<Vec<u8>>();
    let (to_main, results) = mpsc::channel::<Result<(), String>>();
    let scratch = dir.clone();
    let runner = std::thread::Builder::new()
        .name(format!("fuzz-{name}"))
        .stack_size(STACK_BYTES)
        .spawn(move || {
            for input in inputs {
                let r = std::panic::catch_unwind(|| check(&scratch, &input)).unwrap_or_else(|p| {
                    let msg = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "a panic".into());
                    Err(format!("panic: {msg}"))
                });
                if to_main.send(r).is_err() {
                    break;
                }
            }
        })
        .expect("fuzz runner thread");
    let seed = std::env::var("TESSERA_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let mut rng = Rng(seed);
    let started = Instant::now();
    let deadline = started + budget();
    let mut failures: Vec<String> = Vec::new();
    let mut runs = 0u64;
    let mut k = 0usize;
    loop {
        let input = if k < corpus.len() {
            corpus[k].clone()
        } else if Instant::now() >= deadline || failures.len() >= 5 {
            break;
        } else {
            let base = &corpus[rng.below(corpus.len())];
            mutate(&mut rng, base, &corpus, dict)
        };
        k += 1;
        // The input in flight is on disk first, so even an abort leaves it behind.
        if let Ok(mut f) = std::fs::File::create(&in_flight) {
            let _ = f.write_all(&input);
        }
        if to_runner.send(input.clone()).is_err() {
            let p = save_failure(name, &input);
            failures.push(format!("the runner thread died ({})", p.display()));
            break;
        }
        runs += 1;
        match results.recv_timeout(Duration::from_secs(HANG_SECONDS)) {
            Ok(Ok(())) => {}
            Ok(Err(why)) => {
                let p = save_failure(name, &input);
                let why: String = why.chars().take(500).collect();
                failures.push(format!("{why}\n    input: {}", p.display()));
            }
            Err(_) => {
                let p = save_failure(name, &input);
                failures.push(format!(
                    "no answer within {HANG_SECONDS} s (hang)\n    input: {}",
                    p.display()
                ));
                break; // the runner is stuck; it ends with the process
            }
        }
    }
    drop(to_runner);
    if failures.is_empty() {
        let _ = runner.join();
        let _ = std::fs::remove_file(&in_flight);
    }
    eprintln!(
        "fuzz {name}: {runs} inputs ({} corpus) in {:.1} s, seed {seed}, {} failure(s)",
        corpus.len(),
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "fuzz {name} (TESSERA_FUZZ_SEED={seed}):\n  {}",
        failures.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------

const EXPR_DICT: &[&[u8]] = &[
    b"(",
    b")",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b":",
    b".",
    b"...",
    b"+",
    b"-",
    b"*",
    b"**",
    b"/",
    b"//",
    b"%",
    b"~",
    b"&",
    b"|",
    b"^",
    b"==",
    b"!=",
    b"<",
    b"<=",
    b">",
    b">=",
    b"=",
    b" + 1",
    b"x",
    b"sum",
    b"(axis=0)",
    b"[::-1]",
    b"[0, 1:-1, None, ...]",
    b"1e308",
    b"9223372036854775808",
    b"-9223372036854775808",
    b"'s'",
    b"\"",
    b"\\",
    b"\xc3\xa9",
    b"\xe2\x88\x92",
    b"\xf0\x9f\x98\x80",
    b"not",
    b"and",
    b"lambda",
    b"True",
    b"None",
    b"0x1",
    b"1j",
    b"1_000",
    b"\n",
    b"\t",
    b"\0",
];

/// The parser never panics; every span lies in the source on character boundaries; an
/// error message quotes no more than a few hundred characters of the source.
fn check_expr(_dir: &Path, input: &[u8]) -> Result<(), String> {
    let src = String::from_utf8_lossy(input);
    match tessera::expr::parser::parse(&src) {
        Ok(e) => {
            if e.span.end > src.len() || e.span.start > e.span.end {
                return Err(format!("root span {:?} outside the source", e.span));
            }
            // A parenthesised name's span includes its parentheses.
            let bare = |t: &str| {
                t.trim_matches(|c: char| c == '(' || c == ')' || " \t\n\r\x0c".contains(c))
                    .to_string()
            };
            for (name, span) in e.names() {
                if src.get(span.start..span.end).map(bare).as_deref() != Some(name.as_str()) {
                    return Err(format!("name {name:?} has span {span:?}"));
                }
            }
            Ok(())
        }
        Err(pe) => {
            let s = pe.span;
            if s.start > s.end
                || s.end > src.len()
                || !src.is_char_boundary(s.start)
                || !src.is_char_boundary(s.end)
            {
                return Err(format!(
                    "error span {s:?} not in the source: {}",
                    pe.message
                ));
            }
            if pe.message.chars().count() > 600 {
                return Err(format!(
                    "error message of {} characters",
                    pe.message.chars().count()
                ));
            }
            let rendered = pe.render(&src);
            if rendered.lines().any(|l| l.chars().count() > 800) {
                return Err("rendered error has a line over 800 characters".into());
            }
            Ok(())
        }
    }
}

const JOB_DICT: &[&[u8]] = &[
    b"[job]\n",
    b"[runtime]\n",
    b"[arrays]\n",
    b"[[outputs]]\n",
    b"[inputs.x]\n",
    b"name = \"j\"\n",
    b"workers = 0\n",
    b"workers = 100000\n",
    b"memory_limit = \"1K\"\n",
    b"chunk_target = 1\n",
    b"spill_dir = \"/nonexistent\"\n",
    b"compression = \"maybe\"\n",
    b"checkpoint = \"c\"\n",
    b"overwrite = true\n",
    b"file = \"x.npy\"\n",
    b"file = \"data/o.nc\"\n",
    b"file = \"data/o.h5\"\n",
    b"variable = \"a/b\"\n",
    b"variable = \"\"\n",
    b"array = \"y\"\n",
    b"format = \"json\"\n",
    b"deflate = 10\n",
    b"chunks = { time = 0 }\n",
    b"chunks = [1, \"auto\"]\n",
    b"decode = false\n",
    b"generate = { kind = \"climate\" }\n",
    b"y = \"x + 1\"\n",
    b"x = \"y\"\n",
    b"y = \"y\"\n",
    b"\"",
    b"'",
    b"\n",
    b"=",
    b"[",
    b"]",
    b"{",
    b"}",
    b"#",
    b"\\u0000",
];

/// The job checker never panics, and every error names the job file.
fn check_job(dir: &Path, input: &[u8]) -> Result<(), String> {
    let job = dir.join("job.toml");
    std::fs::write(&job, input).map_err(|e| format!("cannot write the job: {e}"))?;
    match tessera::job::load(&job) {
        Ok(_) => Ok(()),
        Err(e) => {
            let msg = e.to_string();
            if msg.contains(&job.display().to_string()) {
                Ok(())
            } else {
                Err(format!("the error does not name the job file: {msg}"))
            }
        }
    }
}

const NPY_DICT: &[&[u8]] = &[
    b"{'descr': '",
    b"'fortran_order': True, ",
    b"'shape': (",
    b"), }",
    b"<f8",
    b">i2",
    b"|b1",
    b"<u8",
    b"<c16",
    b"O",
    b"9223372036854775807, ",
    b"18446744073709551615, ",
    b"0, ",
    b"-1, ",
    b"\x93NUMPY\x01\x00",
    b"\x93NUMPY\x02\x00",
    b"\x93NUMPY\x03\x00",
    b"\xff\xff",
    b"\xc3\xa9",
];

/// The `.npy` reader never panics, and a chunk it returns holds exactly the bytes its
/// shape and dtype need.
fn check_npy(dir: &Path, input: &[u8]) -> Result<(), String> {
    let path = dir.join("x.npy");
    std::fs::write(&path, input).map_err(|e| format!("cannot write the file: {e}"))?;
    match tessera::io::npy::read(&path) {
        Ok(c) => {
            let need = c
                .shape
                .iter()
                .try_fold(c.dtype.size(), |acc, &d| acc.checked_mul(d));
            if need != Some(c.data.len()) {
                return Err(format!(
                    "shape {:?} of {} but {} bytes",
                    c.shape,
                    c.dtype,
                    c.data.len()
                ));
            }
            Ok(())
        }
        Err(e) => {
            let msg = e.to_string();
            if msg.is_empty() {
                Err("empty error message".into())
            } else {
                Ok(())
            }
        }
    }
}

const WIRE_DICT: &[&[u8]] = &[
    b"T\x02",
    b"T\x01",
    b"\x00",
    b"\x01",
    b"\x02",
    b"\x0c",
    b"\x7f",
    b"\x80\x01",
    b"\xff\xff\xff\xff\x0f",
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
    b"\x00\x00\x00\x00\x00\x00\xf8\x7f",
];

/// The decoder never panics, and whatever it accepts encodes and decodes again to the
/// same bytes.
fn check_wire(_dir: &Path, input: &[u8]) -> Result<(), String> {
    match Msg::decode(input) {
        Ok(m) => {
            let once = m.encode();
            let again = Msg::decode(&once)
                .map_err(|e| format!("re-encoded message does not decode: {e}"))?;
            if again.encode() != once {
                return Err("decode(encode(m)) differs from m".into());
            }
            Ok(())
        }
        Err(e) if e.is_empty() => Err("empty error".into()),
        Err(_) => Ok(()),
    }
}

/// Headers written by the encoder: every message kind, with plans of real expressions.
fn wire_seeds() -> Vec<Vec<u8>> {
    let plan = |src: &str| {
        let v = tessera::expr::evaluate(src, &Default::default()).expect("seed expression");
        let a = tessera::expr::eval::into_array(v).expect("seed array");
        Plan::build(7, &a, true)
    };
    let key = ChunkKey {
        comp: 7,
        node: 1,
        block: 2,
    };
    let counters = WorkerCounters {
        busy_ns: 5,
        spilled: 1 << 20,
        ..Default::default()
    };
    let skel = Skel::List(vec![
        Skel::Int(-3),
        Skel::Str("s".into()),
        Skel::List(vec![Skel::Bool(true), Skel::Float(0.5), Skel::Unit]),
    ]);
    let msgs = vec![
        Msg::Plan(Box::new(plan(
            "sqrt(random((100, 100), chunks=50) + 1).sum(axis=0)",
        ))),
        Msg::PlanCmds(
            Box::new(plan(
                "where(arange(10, chunks=3) > 4, 1.5, -ones(10))[::-2]",
            )),
            vec![Cmd::Run {
                comp: 7,
                node: 0,
                block: 1,
            }],
        ),
        Msg::Cmds(vec![
            Cmd::Run {
                comp: 7,
                node: 3,
                block: 9,
            },
            Cmd::SendTo { key, dest: Rank(2) },
            Cmd::Release(key),
            Cmd::EndComp {
                comp: 7,
                keep: vec![1, 2],
            },
            Cmd::DropNode { comp: 7, node: 1 },
            Cmd::Cancel { id: 4 },
            Cmd::Steal { n: 3 },
            Cmd::Inspect,
        ]),
        Msg::Shutdown,
        Msg::Chunk {
            key,
            skel: skel.clone(),
            packing: Some(Packing {
                codec: Codec::Lz4,
                raw_len: 4096,
            }),
        },
        Msg::Done {
            comp: 7,
            items: vec![TaskDone {
                node: 1,
                block: 2,
                nbytes: 800,
                end_ns: 1,
                busy_ns: 2,
            }],
            bytes_read: 10,
            counters,
        },
        Msg::Failed {
            comp: 7,
            node: 1,
            block: 0,
            failure: Failure::msg("boom"),
            host: "node1".into(),
        },
        Msg::WorkerDied {
            message: "transport closed".into(),
            host: "node2".into(),
        },
        Msg::Stolen { ids: vec![1, 2, 3] },
        Msg::Missing { key },
        Msg::Result {
            key,
            skel,
            packing: None,
            bytes_read: 0,
            counters,
        },
    ];
    msgs.iter().map(Msg::encode).collect()
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[test]
fn fuzz_expression_parser() {
    fuzz("expr", Vec::new(), EXPR_DICT, check_expr);
}

#[test]
fn fuzz_job_checker() {
    // The seeds' relative paths resolve here: a data/ folder for outputs and an input.
    let dir = work_dir("job");
    std::fs::create_dir_all(dir.join("data")).expect("data dir");
    std::fs::write(dir.join("x.npy"), b"").expect("input file");
    fuzz("job", Vec::new(), JOB_DICT, check_job);
}

#[test]
fn fuzz_npy_header_reader() {
    fuzz("npy", Vec::new(), NPY_DICT, check_npy);
}

#[test]
fn fuzz_wire_header_decoder() {
    fuzz("wire", wire_seeds(), WIRE_DICT, check_wire);
}

/// Rewrites `fuzz/corpus/wire/` from the encoder (run after changing the protocol):
/// `cargo test --release --test fuzz -- --ignored write_wire_corpus`.
#[test]
#[ignore]
fn write_wire_corpus() {
    let dir = corpus_dir("wire");
    std::fs::create_dir_all(&dir).expect("corpus dir");
    for (k, bytes) in wire_seeds().iter().enumerate() {
        std::fs::write(dir.join(format!("encoder-{k:02}")), bytes).expect("write seed");
    }
}

/// Issue #13 item 14, found by reasoning about the decoder: a header nesting a fused
/// expression (or a futures value) a hundred thousand levels deep overflowed the stack of
/// the thread decoding it, an abort instead of "malformed control message".
#[test]
fn deeply_nested_headers_are_refused_not_a_stack_overflow() {
    // Building and encoding such a header recurses too: on a thread with a large stack.
    let headers = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(|| {
            let v = tessera::expr::evaluate("ones(4, chunks=2) + 1", &Default::default())
                .expect("expression");
            let a = tessera::expr::eval::into_array(v).expect("array");
            let mut plan = Plan::build(1, &a, true);
            let mut deep = EExpr::Input(0);
            for _ in 0..100_000 {
                deep = EExpr::Unary(UFunc::Neg, Box::new(deep));
            }
            let node = plan
                .nodes
                .iter_mut()
                .find(|n| matches!(n.op, Op::Elementwise { .. }))
                .expect("an elementwise node");
            if let Op::Elementwise { expr, .. } = &mut node.op {
                *expr = deep;
            }
            let mut skel = Skel::Unit;
            for _ in 0..100_000 {
                skel = Skel::List(vec![skel]);
            }
            let chunk = Msg::Chunk {
                key: ChunkKey {
                    comp: 1,
                    node: 0,
                    block: 0,
                },
                skel,
                packing: None,
            };
            let out = vec![Msg::Plan(Box::new(plan)).encode(), chunk.encode()];
            out
        })
        .expect("thread")
        .join()
        .expect("encoding on a large stack");
    let verdicts = std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(move || {
            headers
                .iter()
                .map(|h| Msg::decode(h).map(|_| ()))
                .collect::<Vec<_>>()
        })
        .expect("thread")
        .join()
        .expect("decoding must not crash");
    for v in verdicts {
        let e = v.expect_err("a 100000-level header must be refused");
        assert!(e.contains("malformed control message"), "{e}");
        assert!(e.contains("nested more than"), "{e}");
    }
}

/// A `.npy` file with header `header` (format 1.0, padded as numpy pads) and `data`.
fn npy_bytes(header: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header.as_bytes().to_vec();
    let pad = (64 - (10 + h.len() + 1) % 64) % 64;
    h.extend(std::iter::repeat_n(b' ', pad));
    h.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out
}

/// Issue #13 item 14, found by the npy target: an empty or non-ASCII `descr` panicked
/// (`split_at` inside a character or past the end), and a shape whose byte size wraps
/// passed the size check and panicked later. Each is now an error naming the file.
#[test]
fn npy_headers_that_panicked_are_errors() {
    let dir = work_dir("npy-regressions");
    let cases = [
        (
            "{'descr': '', 'fortran_order': False, 'shape': (2,), }",
            "unsupported dtype",
        ),
        (
            "{'descr': 'é8', 'fortran_order': False, 'shape': (2,), }",
            "unsupported dtype",
        ),
        (
            "{'descr': '<f8', 'fortran_order': True, 'shape': (2305843009213693952, 2), }",
            "too big",
        ),
    ];
    for (k, (header, want)) in cases.iter().enumerate() {
        let path = dir.join(format!("case{k}.npy"));
        std::fs::write(&path, npy_bytes(header, &[0u8; 16])).expect("write");
        let e = tessera::io::npy::read(&path).expect_err(header).to_string();
        assert!(e.contains(want), "{header}: {e}");
        assert!(e.contains(&path.display().to_string()), "{e}");
        // Through the binary too: an error, not a panic.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["eval", "x", "--open", &format!("x={}", path.display())])
            .output()
            .expect("run tessera");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(!err.contains("panicked") && err.contains(want), "{err}");
    }
}
