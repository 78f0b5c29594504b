//! Messages between the scheduler (rank 0) and workers. Control messages are small and
//! serialized with bincode; chunk payloads never are (they travel beside a `Chunk` header).

use super::plan::{ChunkKey, Plan};
use crate::array::chunk::ChunkMeta;
use crate::comm::Rank;
use serde::{Deserialize, Serialize};

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
    /// A chunk follows as the payload.
    Chunk {
        /// Its key.
        key: ChunkKey,
        /// Its dtype and shape.
        meta: ChunkMeta,
    },
    /// Tasks finished: `(node, block, nbytes)`.
    Done {
        /// Computation.
        comp: u64,
        /// Finished blocks.
        items: Vec<(u32, u64, u64)>,
        /// Bytes these tasks read from files.
        bytes_read: u64,
    },
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
        message: String,
        /// Worker host name.
        host: String,
    },
    /// A gathered result block follows as the payload; its task is done (one message
    /// instead of `Chunk` plus `Done`).
    Result {
        /// Its key (node, block).
        key: ChunkKey,
        /// Its dtype and shape.
        meta: ChunkMeta,
        /// Bytes the task read from files.
        bytes_read: u64,
    },
    /// A plan and the first commands for it, in one message.
    PlanCmds(Box<Plan>, Vec<Cmd>),
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
        WorkerDied,
        Failed,
        Result,
        PlanCmds(&'a Plan, &'a [Cmd]),
    }
    bincode::serialize(&MsgRef::PlanCmds(plan, cmds)).unwrap_or_default()
}

/// Encodes `Msg::Plan(plan)` without cloning the plan (serde writes a `Box<T>` exactly as
/// the `T` it holds, and this enum's first variant mirrors `Msg`'s).
pub fn encode_plan(plan: &Plan) -> Vec<u8> {
    #[derive(Serialize)]
    enum PlanRef<'a> {
        Plan(&'a Plan),
    }
    bincode::serialize(&PlanRef::Plan(plan)).unwrap_or_default()
}

impl Msg {
    /// Serializes the header.
    pub fn encode(&self) -> Vec<u8> {
        bincode::serialize(self).unwrap_or_default()
    }

    /// Deserializes a header.
    pub fn decode(bytes: &[u8]) -> Result<Msg, String> {
        bincode::deserialize(bytes).map_err(|e| format!("malformed control message: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_encoding_matches_the_message() {
        let a = crate::expr::eval::into_array(
            crate::expr::eval::evaluate("ones(4, chunks=2) + 1", &Default::default())
                .expect("expr"),
        )
        .expect("array");
        let plan = Plan::build(7, &a, true);
        let bytes = encode_plan(&plan);
        assert_eq!(bytes, Msg::Plan(Box::new(plan.clone())).encode());
        assert!(matches!(Msg::decode(&bytes), Ok(Msg::Plan(p)) if p.comp == 7));
        let cmds = vec![Cmd::Release(plan.key(0, 0))];
        let both = encode_plan_cmds(&plan, &cmds);
        assert_eq!(both, Msg::PlanCmds(Box::new(plan.clone()), cmds).encode());
    }
}
