//! The optimizer: rewrites of a flattened [`Plan`] that change how a result is computed,
//! never what it is.
//!
//! Why here and not in the array API: the API builds one node per user operation, in the
//! user's order, and must give every intermediate array its numpy/dask metadata
//! (`.chunks` included). Only once the whole expression is known can slices be moved next
//! to the data they select, shared reads be computed once, rechunks be split so each byte
//! crosses the network at most once, and blocks nobody needs be dropped.
//!
//! Each pass is one file behind [`Pass`]; [`optimize`] runs them in a fixed order. The
//! optimizer is pure: it sees shapes, chunk grids, dtypes and byte sizes, never MPI or
//! files. [`placement`] is the rule the scheduler follows to pick a worker, and [`cost`]
//! replays the plan with that rule to predict what the run report will measure.

pub mod cost;
pub mod cse;
pub mod cull;
pub mod explain;
pub mod fusion;
pub mod placement;
pub mod rechunk;
pub mod reshape;
pub mod selection;
pub mod slices;

use crate::array::plan::Plan;

/// What passes may know besides the plan.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// Number of workers the plan runs on.
    pub workers: usize,
}

/// One rewrite of a plan.
pub trait Pass {
    /// Short name, shown by `tessera explain`.
    fn name(&self) -> &'static str;
    /// Rewrites the plan in place (appending nodes or redirecting inputs as needed; the
    /// caller compacts afterwards). Returns true when the plan changed.
    fn run(&self, plan: &mut Plan, ctx: &Context) -> bool;
}

/// The passes in the order they run: structural rewrites first (sharing, slices, rechunk
/// splitting), then the decisions that depend on the final structure (fusion, culling).
pub fn passes() -> Vec<Box<dyn Pass>> {
    vec![
        Box::new(cse::ShareCommon),
        Box::new(slices::PushSlices),
        Box::new(cse::ShareCommon),
        Box::new(rechunk::SplitRechunks),
        Box::new(fusion::Fuse),
        Box::new(cull::CullBlocks),
    ]
}

/// Runs every pass; returns the names of those that changed the plan.
pub fn optimize(plan: &mut Plan, ctx: &Context) -> Vec<&'static str> {
    let mut changed = Vec::new();
    for p in passes() {
        if p.run(plan, ctx) {
            changed.push(p.name());
            plan.compact();
        }
    }
    changed
}
