//! Messages between the scheduler (rank 0) and workers. Control messages are small and
//! serialized with postcard behind a two-byte header ([`WIRE_MAGIC`], [`WIRE_VERSION`]), so a
//! rank running another build's protocol is named as such instead of misreading bytes;
//! chunk payloads are never serialized (they travel beside a `Chunk` header).

use super::failure::Failure;
use super::store::StoreStats;
use crate::array::plan::{ChunkKey, Plan};
use crate::comm::Rank;
use crate::compress::Codec;
use crate::value::{Packed, Skel};
use serde::{Deserialize, Serialize};

/// An argument of a futures task as the worker sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum WireArg {
    /// A value carried in the command.
    Inline(Packed),
    /// A stored value or block (the worker waits until it is present).
    Stored(ChunkKey),
}

/// A futures task that finished on a worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallDone {
    /// Future id.
    pub id: u64,
    /// Bytes of its result.
    pub nbytes: u64,
    /// Time it ran, nanoseconds.
    pub busy_ns: u64,
    /// The result itself when small (saves the caller a fetch).
    pub small: Option<Packed>,
}

/// An array task that finished on a worker.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct TaskDone {
    /// Plan node.
    pub node: u32,
    /// Block.
    pub block: u64,
    /// Bytes of its output.
    pub nbytes: u64,
    /// When it ended, nanoseconds since the Unix epoch (the worker's clock).
    pub end_ns: u64,
    /// How long it ran, nanoseconds.
    pub busy_ns: u64,
}

/// Counters a worker sends with its completions: what its tasks cost beyond their outputs.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct WorkerCounters {
    /// Time spent running tasks since the last report, nanoseconds.
    pub busy_ns: u64,
    /// Bytes written to spill files since the last report.
    pub spilled: u64,
    /// Bytes read back from spill files since the last report.
    pub unspilled: u64,
    /// Peak resident memory of the worker's process so far (VmHWM), bytes.
    pub peak_rss: u64,
    /// Most chunk bytes the worker's store held in memory so far.
    pub peak_store: u64,
    /// Chunk bytes the worker's store holds in memory now.
    pub store_bytes: u64,
    /// Resident memory of the worker's process now (VmRSS), bytes.
    pub rss: u64,
    /// When these counters were taken (and, for a single result, when its task ended),
    /// nanoseconds since the Unix epoch.
    pub at_ns: u64,
}

/// A worker's state, as [`crate::Client::inspect_workers`] reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerInfo {
    /// Worker rank.
    pub rank: u32,
    /// Its store: entries, bytes in memory and on disk, spill totals.
    pub store: StoreStats,
    /// Peak resident memory of its process (VmHWM), bytes.
    pub peak_rss: u64,
    /// Payload bytes it sent to other ranks, before compression.
    pub bytes_sent: u64,
    /// The same bytes as they went on the wire (after compression).
    pub wire_bytes_sent: u64,
}

/// How a payload was compressed on the wire.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Packing {
    /// The codec.
    pub codec: Codec,
    /// Length before compression.
    pub raw_len: u64,
}

/// A command in a batch sent to a worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Cmd {
    /// Compute block `block` of plan node `node` of computation `comp`.
    Run {
        /// Computation.
        comp: u64,
        /// Node.
        node: u32,
        /// Block.
        block: u64,
    },
    /// Send a stored chunk to another rank (worker to worker, or to rank 0 for a gather).
    SendTo {
        /// The chunk.
        key: ChunkKey,
        /// The receiver.
        dest: Rank,
    },
    /// Forget a chunk.
    Release(ChunkKey),
    /// The computation is over: drop its plan and chunks, except those of `keep` nodes.
    EndComp {
        /// Computation.
        comp: u64,
        /// Nodes whose chunks stay (persisted results).
        keep: Vec<u32>,
    },
    /// Forget every chunk of a persisted node.
    DropNode {
        /// Computation.
        comp: u64,
        /// Node.
        node: u32,
    },
    /// Run registered function `func` on `args`, keep the result as future `id`.
    Call {
        /// Future id.
        id: u64,
        /// Registered function name.
        func: String,
        /// Arguments.
        args: Vec<WireArg>,
    },
    /// Drop future `id`'s call if it has not started.
    Cancel {
        /// Future id.
        id: u64,
    },
    /// Give back up to `n` calls that have not started (work stealing); the worker answers
    /// with [`Msg::Stolen`].
    Steal {
        /// Most calls to give back.
        n: u32,
    },
    /// Report store counters ([`Msg::Inspected`]).
    Inspect,
}

/// Every message header.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Msg {
    /// The plan of a new computation.
    Plan(Box<Plan>),
    /// A batch of commands.
    Cmds(Vec<Cmd>),
    /// Stop the worker loop.
    Shutdown,
    /// A stored value (an array block or a future's result) follows as the payload.
    Chunk {
        /// Its key.
        key: ChunkKey,
        /// What it is.
        skel: Skel,
        /// How the payload was compressed, if it was.
        packing: Option<Packing>,
    },
    /// Tasks finished: `(node, block, nbytes)`.
    Done {
        /// Computation.
        comp: u64,
        /// Finished blocks.
        items: Vec<TaskDone>,
        /// Bytes these tasks read from files.
        bytes_read: u64,
        /// What they cost.
        counters: WorkerCounters,
    },
    /// Futures tasks finished.
    Called {
        /// The finished calls.
        items: Vec<CallDone>,
        /// What they cost.
        counters: WorkerCounters,
    },
    /// A futures task failed.
    CallFailed {
        /// Future id.
        id: u64,
        /// What went wrong.
        failure: Failure,
        /// Worker host name.
        host: String,
    },
    /// Calls given back after [`Cmd::Steal`].
    Stolen {
        /// Their future ids.
        ids: Vec<u64>,
    },
    /// Answer to [`Cmd::Inspect`].
    Inspected(WorkerInfo),
    /// A worker's loop stopped (a bug or a broken transport): the run cannot continue.
    WorkerDied {
        /// What went wrong.
        message: String,
        /// Worker host name.
        host: String,
    },
    /// A task failed.
    Failed {
        /// Computation.
        comp: u64,
        /// Node.
        node: u32,
        /// Block.
        block: u64,
        /// What went wrong.
        failure: Failure,
        /// Worker host name.
        host: String,
    },
    /// A gathered result block follows as the payload; its task is done (one message
    /// instead of `Chunk` plus `Done`).
    Result {
        /// Its key (node, block).
        key: ChunkKey,
        /// Its dtype and shape.
        skel: Skel,
        /// How the payload was compressed, if it was.
        packing: Option<Packing>,
        /// Bytes the task read from files.
        bytes_read: u64,
        /// What the task cost.
        counters: WorkerCounters,
    },
    /// A plan and the first commands for it, in one message.
    PlanCmds(Box<Plan>, Vec<Cmd>),
    /// A worker asked to send `key` to rank 0 does not hold it (a released value).
    Missing {
        /// The key.
        key: ChunkKey,
    },
    /// A worker's task functions when it started (its first message, before its loop).
    Registered(crate::registry::Snapshot),
}

/// Encodes `Msg::PlanCmds(plan, cmds)` without cloning the plan (the mirror enum has the
/// same variant order as `Msg`; only its last variant is ever written).
pub fn encode_plan_cmds(plan: &Plan, cmds: &[Cmd]) -> Vec<u8> {
    #[derive(Serialize)]
    #[allow(dead_code)]
    enum MsgRef<'a> {
        Plan,
        Cmds,
        Shutdown,
        Chunk,
        Done,
        Called,
        CallFailed,
        Stolen,
        Inspected,
        WorkerDied,
        Failed,
        Result,
        PlanCmds(&'a Plan, &'a [Cmd]),
    }
    framed(&MsgRef::PlanCmds(plan, cmds))
}

/// Encodes `Msg::Plan(plan)` without cloning the plan (serde writes a `Box<T>` exactly as
/// the `T` it holds, and this enum's first variant mirrors `Msg`'s).
pub fn encode_plan(plan: &Plan) -> Vec<u8> {
    #[derive(Serialize)]
    enum PlanRef<'a> {
        Plan(&'a Plan),
    }
    framed(&PlanRef::Plan(plan))
}

/// First byte of every control message.
pub const WIRE_MAGIC: u8 = b'T';
/// Second byte: the protocol version. Changed whenever `Msg` or anything it carries changes
/// shape; every rank of a job must run the same build.
pub const WIRE_VERSION: u8 = 3;

/// `value` serialized behind the wire header. Serializing to memory cannot fail for these
/// types (no maps with non-string keys, no unsized sequences); an empty message would be
/// refused by the receiver's header check rather than misread.
fn framed<T: Serialize>(value: &T) -> Vec<u8> {
    let out = vec![WIRE_MAGIC, WIRE_VERSION];
    postcard::to_extend(value, out).unwrap_or_default()
}

impl Msg {
    /// Serializes the header.
    pub fn encode(&self) -> Vec<u8> {
        framed(self)
    }

    /// Deserializes a header.
    pub fn decode(bytes: &[u8]) -> Result<Msg, String> {
        match bytes {
            [WIRE_MAGIC, WIRE_VERSION, body @ ..] => {
                crate::array::nesting::take_refused();
                let (msg, rest) = postcard::take_from_bytes::<Msg>(body).map_err(|e| {
                    if crate::array::nesting::take_refused() {
                        format!(
                            "malformed control message: nested more than {} levels deep",
                            crate::array::nesting::MAX_NESTING
                        )
                    } else {
                        format!("malformed control message: {e}")
                    }
                })?;
                if rest.is_empty() {
                    Ok(msg)
                } else {
                    Err(format!(
                        "malformed control message: {} bytes after its end",
                        rest.len()
                    ))
                }
            }
            [WIRE_MAGIC, v, ..] => Err(format!(
                "control message of protocol version {v}, this build speaks version \
                 {WIRE_VERSION}: every rank of a job must run the same Tessera build"
            )),
            _ => Err("malformed control message: no Tessera wire header".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_another_protocol_version_are_named_as_such() {
        let mut bytes = Msg::Shutdown.encode();
        assert_eq!(&bytes[..2], &[WIRE_MAGIC, WIRE_VERSION]);
        assert!(matches!(Msg::decode(&bytes), Ok(Msg::Shutdown)));
        bytes[1] = WIRE_VERSION + 1;
        let e = Msg::decode(&bytes).expect_err("another version");
        assert!(
            e.contains("protocol version") && e.contains("same Tessera build"),
            "{e}"
        );
        let e = Msg::decode(b"not a message").expect_err("no header");
        assert!(e.starts_with("malformed control message"), "{e}");
        let mut long = Msg::Shutdown.encode();
        long.push(0);
        let e = Msg::decode(&long).expect_err("trailing bytes");
        assert!(e.contains("after its end"), "{e}");
    }

    #[test]
    fn plan_encoding_matches_the_message() {
        use crate::array::chunks::{AxisSpec, ChunkSpec};
        use crate::array::dtype::DType;
        use crate::array::graph::Generator;
        let ones = Generator::Full { f: 1.0, i: 1 };
        let chunks = ChunkSpec::Uniform(AxisSpec::Size(2));
        let a = crate::array::api::generate(&[4], DType::F64, ones, &chunks).expect("ones");
        let a = a.transpose(None).expect("a second node");
        let plan = Plan::build(7, &a, true);
        let bytes = encode_plan(&plan);
        assert_eq!(bytes, Msg::Plan(Box::new(plan.clone())).encode());
        assert!(matches!(Msg::decode(&bytes), Ok(Msg::Plan(p)) if p.comp == 7));
        let cmds = vec![Cmd::Release(plan.key(0, 0))];
        let both = encode_plan_cmds(&plan, &cmds);
        assert_eq!(both, Msg::PlanCmds(Box::new(plan.clone()), cmds).encode());
    }
}
