//! `tessera explain`: the plan before and after optimization, with predicted costs.

use super::cost::{predict, Prediction};
use super::{optimize, Context};
use crate::array::chunks::AxisChunks;
use crate::array::graph::{DArray, Op};
use crate::array::plan::Plan;
use serde_json::{json, Value};

/// The two plans of one expression and what each is predicted to cost.
pub struct Explanation {
    /// As built from the expression (every node stored, every block computed).
    pub before: Plan,
    /// After the optimizer.
    pub after: Plan,
    /// Passes that changed the plan.
    pub passes: Vec<&'static str>,
    /// Prediction for `before`.
    pub predicted_before: Prediction,
    /// Prediction for `after`.
    pub predicted_after: Prediction,
}

/// [`explain`], refused like a computation (with the count, the limit and a chunking
/// that fits) when an array has more blocks than the scheduler takes: the optimizer and
/// the cost model visit every block, so this is what front ends call.
pub fn explain_within_limits(
    root: &DArray,
    workers: usize,
) -> Result<Explanation, crate::array::ArrayError> {
    crate::array::plan::check_blocks(&Plan::build(0, root, true))?;
    Ok(explain(root, workers))
}

/// Plans `root` for `workers` workers, with the result gathered to the caller (visiting
/// every block: see [`explain_within_limits`]).
pub fn explain(root: &DArray, workers: usize) -> Explanation {
    let before = Plan::build(0, root, true);
    let mut after = before.clone();
    let passes = optimize(&mut after, &Context { workers });
    Explanation {
        predicted_before: predict(&before, workers),
        predicted_after: predict(&after, workers),
        before,
        after,
        passes,
    }
}

fn describe(op: &Op<usize>) -> String {
    let inputs: Vec<String> = op.inputs().iter().map(|i| format!("%{i}")).collect();
    let extra = match op {
        Op::Read(spec) => format!(" {}:{}", spec.path.display(), spec.var),
        Op::Transpose { perm, .. } => format!(" perm={perm:?}"),
        Op::ReducePartial { axes, func, .. } | Op::ReduceCombine { axes, func, .. } => {
            format!(" {:?} axes={axes:?}", func.kind)
        }
        Op::ReduceFinal { axes, func, .. } => format!(" {:?} axes={axes:?}", func.kind),
        Op::GroupPartial { axis, ngroups, .. } => format!(" axis={axis} groups={ngroups}"),
        Op::Take { axis, .. } => format!(" axis={axis}"),
        Op::Concatenate { axis, .. } => format!(" axis={axis}"),
        _ => String::new(),
    };
    format!("{}({}){extra}", op.name(), inputs.join(", "))
}

/// Lines describing a plan, one per node.
pub fn plan_lines(plan: &Plan) -> Vec<String> {
    plan.nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let nb = n.grid.num_blocks();
            let tasks = (0..nb).filter(|&b| n.is_needed(b)).count();
            let how = if !n.materialized {
                "fused".to_string()
            } else if tasks < nb {
                format!("{tasks}/{nb} blocks")
            } else {
                format!("{nb} blocks")
            };
            format!(
                "  %{i:<3} {:<40} {} {:?} chunks {:?}  [{how}]{}",
                describe(&n.op),
                n.dtype,
                n.grid.shape(),
                n.grid.chunks().iter().map(summarize).collect::<Vec<_>>(),
                if i == plan.root { "  <- result" } else { "" }
            )
        })
        .collect()
}

/// Block sizes of one axis, shortened when long (`10x7+3` for seven tens then a three),
/// in closed form for a regular axis however many blocks it has.
fn summarize(c: &AxisChunks) -> String {
    if c.len() <= 4 {
        return format!("{:?}", c.to_vec());
    }
    let first = c[0];
    let same = match c.regular_block() {
        Some(_) if c[c.len() - 1] == first => c.len(),
        Some(_) => c.len() - 1,
        None => c.iter().take_while(|&&x| x == first).count(),
    };
    if same == c.len() {
        format!("{first}x{same}")
    } else if same == c.len() - 1 {
        format!("{first}x{same}+{}", c[c.len() - 1])
    } else {
        format!("{} blocks", c.len())
    }
}

fn prediction_lines(p: &Prediction) -> Vec<String> {
    vec![
        format!("  tasks                  {}", p.tasks),
        format!("  bytes moved            {}", p.bytes_moved),
        format!("  bytes read             {}", p.bytes_read),
        format!("  bytes scattered        {}", p.bytes_scattered),
        format!("  bytes gathered         {}", p.bytes_gathered),
        format!(
            "  peak bytes per worker  {} (estimate)",
            p.peak_bytes_per_worker
        ),
    ]
}

impl Explanation {
    /// Human-readable text.
    pub fn render_text(&self) -> String {
        let mut out = vec![format!(
            "plan before optimization ({} nodes):",
            self.before.nodes.len()
        )];
        out.extend(plan_lines(&self.before));
        out.push(format!(
            "plan after optimization ({} nodes; passes that changed it: {}):",
            self.after.nodes.len(),
            if self.passes.is_empty() {
                "none".to_string()
            } else {
                self.passes.join(", ")
            }
        ));
        out.extend(plan_lines(&self.after));
        out.push(format!(
            "predicted on {} workers, before -> after:",
            self.predicted_after.workers
        ));
        let b = prediction_lines(&self.predicted_before);
        let a = prediction_lines(&self.predicted_after);
        for (lb, la) in b.iter().zip(&a) {
            let label = &la[..25.min(la.len())];
            out.push(format!(
                "{label}{} -> {}",
                lb[25.min(lb.len())..].trim(),
                la[25.min(la.len())..].trim()
            ));
        }
        out.join("\n")
    }

    /// One JSON object: the optimized plan's predictions at top level, the unoptimized
    /// plan's under `"before"`.
    pub fn render_json(&self) -> Value {
        let p = &self.predicted_after;
        json!({
            "workers": p.workers,
            "bytes_moved": p.bytes_moved,
            "bytes_read": p.bytes_read,
            "tasks": p.tasks,
            "peak_bytes_per_worker": p.peak_bytes_per_worker,
            "bytes_scattered": p.bytes_scattered,
            "bytes_gathered": p.bytes_gathered,
            "passes": self.passes,
            "plan": plan_lines(&self.after).iter().map(|l| l.trim().to_string()).collect::<Vec<_>>(),
            "before": {
                "bytes_moved": self.predicted_before.bytes_moved,
                "bytes_read": self.predicted_before.bytes_read,
                "tasks": self.predicted_before.tasks,
                "peak_bytes_per_worker": self.predicted_before.peak_bytes_per_worker,
                "plan": plan_lines(&self.before).iter().map(|l| l.trim().to_string()).collect::<Vec<_>>(),
            }
        })
    }
}
