//! The optimizer passes one by one, on plans of expressions in the language of `tessera
//! eval` (the expression language lives above the optimizer, so these tests live here).

use tessera::array::graph::DArray;
use tessera::array::plan::Plan;

/// The array of an expression.
fn array(src: &str) -> DArray {
    let v = tessera::expr::eval::evaluate(src, &Default::default()).expect("expression");
    tessera::expr::eval::into_array(v).expect("array")
}

/// The unoptimized plan of an expression.
fn plan(src: &str) -> Plan {
    Plan::build(1, &array(src), true)
}

/// Operation names of the plan's nodes, in order.
fn ops(p: &Plan) -> Vec<&'static str> {
    p.nodes.iter().map(|n| n.op.name()).collect()
}

mod fusion {
    use super::*;
    use tessera::optimize::fusion::*;
    use tessera::optimize::{Context, Pass};

    #[test]
    fn elementwise_chain_and_first_reduction_stage_are_one_task() {
        let mut p = plan("sqrt(random((100, 100), chunks=50) + 1).sum()");
        Fuse.run(&mut p, &Context { workers: 2 });
        let stored: Vec<&str> = p
            .nodes
            .iter()
            .filter(|n| n.materialized)
            .map(|n| n.op.name())
            .collect();
        assert_eq!(stored, vec!["reduce-partial", "reduce-combine", "reduce"]);
    }
}

mod cse {
    use super::*;
    use tessera::optimize::cse::*;
    use tessera::optimize::{Context, Pass};

    #[test]
    fn the_same_constructor_twice_is_built_once() {
        let mut p = plan(
            "random((10, 10), chunks=5, seed=3) - random((10, 10), chunks=5, seed=3).mean(axis=0)",
        );
        let before = p.nodes.len();
        assert!(ShareCommon.run(&mut p, &Context { workers: 2 }));
        p.compact();
        assert_eq!(p.nodes.len(), before - 1);
        assert_eq!(ops(&p).iter().filter(|o| **o == "random").count(), 1);
    }
}

mod slices {
    use super::*;
    use tessera::optimize::slices::*;
    use tessera::optimize::{Context, Pass};

    fn pushed(src: &str) -> Plan {
        let mut p = plan(src);
        PushSlices.run(&mut p, &Context { workers: 2 });
        p.compact();
        p
    }

    #[test]
    fn slices_reach_the_generators() {
        let p = pushed("(arange(100, chunks=10) * 2 + ones(100, chunks=10))[15:35:2]");
        assert_eq!(ops(&p), vec!["arange", "full", "elementwise"]);
        assert_eq!(p.nodes[2].grid.chunks(), &[vec![3, 5, 2]]);
    }

    #[test]
    fn consecutive_slices_merge() {
        let p = pushed("random((40, 40), chunks=10)[::-1][5:30, None, 3]");
        assert_eq!(ops(&p), vec!["random", "getitem"]);
    }

    #[test]
    fn through_transpose_and_reduction() {
        let p = pushed("(random((20, 30, 40), chunks=10).sum(axis=1).T)[5:15, 2]");
        let names = ops(&p);
        assert_eq!(names[0..2], ["random", "getitem"]);
        assert!(!names.contains(&"transpose"));
    }

    #[test]
    fn shared_operations_are_not_duplicated() {
        let p = pushed("(random((20,), chunks=5) + 1)[3:9] + (random((20,), chunks=5) + 1).sum()");
        assert_eq!(ops(&p).iter().filter(|o| **o == "getitem").count(), 1);
    }
}

mod cull {
    use super::*;
    use tessera::optimize::cull::*;
    use tessera::optimize::fusion::Fuse;
    use tessera::optimize::{Context, Pass};

    #[test]
    fn a_slice_of_a_rechunk_needs_only_the_blocks_it_touches() {
        // The slice (with the rechunk fused into it) builds rechunk block 1, positions
        // 25..50: blocks 2 to 4 of the stored elementwise node, none of the others.
        let mut p = plan("(arange(100, chunks=10) + 1).rechunk(25)[30:40]");
        let ctx = Context { workers: 2 };
        Fuse.run(&mut p, &ctx);
        assert!(CullBlocks.run(&mut p, &ctx));
        let stored = p
            .nodes
            .iter()
            .position(|n| n.op.name() == "elementwise")
            .unwrap();
        assert!(p.nodes[stored].materialized);
        let need: Vec<usize> = (0..10).filter(|&b| p.nodes[stored].is_needed(b)).collect();
        assert_eq!(need, vec![2, 3, 4]);
    }
}

mod rechunk {
    use super::*;
    use tessera::optimize::rechunk::*;
    use tessera::optimize::{Context, Pass};

    #[test]
    fn time_to_space_goes_through_pieces() {
        let mut p = plan("(random((8, 6, 6), chunks=(2, 6, 6)) + 1).rechunk((8, 3, 2))");
        assert!(SplitRechunks.run(&mut p, &Context { workers: 2 }));
        p.compact();
        assert_eq!(ops(&p), vec!["random", "elementwise", "rechunk", "rechunk"]);
        assert_eq!(
            p.nodes[2].grid.chunks(),
            &[vec![2; 4], vec![3, 3], vec![2; 3]]
        );
    }

    #[test]
    fn generators_take_the_new_grid() {
        // The slice goes into the constant; the rechunk of a constant is a constant.
        let mut p = plan("ones((8, 6), chunks=(2, 6))[1:7].rechunk((6, 2))");
        let ctx = Context { workers: 2 };
        tessera::optimize::slices::PushSlices.run(&mut p, &ctx);
        assert!(SplitRechunks.run(&mut p, &ctx));
        p.compact();
        assert_eq!(ops(&p), vec!["full"]);
        assert_eq!(p.nodes[0].grid.chunks(), &[vec![6], vec![2, 2, 2]]);
    }
}
