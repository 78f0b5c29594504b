//! The launcher's environment, read in one place: whether this process is one rank of an
//! MPI job, its rank, the job's size and how many ranks share this node.
//!
//! Launchers announce a job before `MPI_Init` through environment variables, each with its
//! own names: OpenMPI's `mpirun` (`OMPI_COMM_WORLD_*`), MPICH's Hydra (`PMI_*`,
//! `MPI_LOCALNRANKS`), PMIx launchers (`PMIX_*`) and Slurm's `srun` (`SLURM_*`, which are
//! also set inside a batch script that is not itself an MPI rank: they count only beside
//! `PMIX_RANK`). Everything that needs these facts (choosing the transport, printing once,
//! sizing memory, keeping a one-node job off the network) asks here.

/// The first variable of `names` that is set and parses as a number.
fn first_number(names: &[&str]) -> Option<usize> {
    names
        .iter()
        .find_map(|k| std::env::var(k).ok()?.trim().parse().ok())
}

fn var(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

/// The job's size as the launcher announced it (whether or not it is more than one rank).
fn announced_size() -> Option<usize> {
    first_number(&[
        "OMPI_COMM_WORLD_SIZE",
        "PMI_SIZE",
        "PMIX_SIZE",
        "MPI_LOCALNRANKS",
    ])
    .or_else(|| {
        if var("PMIX_RANK").is_some() {
            first_number(&["SLURM_NTASKS"])
        } else {
            None
        }
    })
}

/// True when this process was started by an MPI launcher (mpirun/mpiexec, or srun with
/// PMI/PMIx) as part of a job of more than one rank.
pub fn launched_under_mpi() -> bool {
    announced_size().is_some_and(|n| n > 1)
}

/// This process's rank as the launcher announced it (0 when none did).
pub fn rank() -> usize {
    first_number(&[
        "OMPI_COMM_WORLD_RANK",
        "PMI_RANK",
        "PMIX_RANK",
        "SLURM_PROCID",
    ])
    .unwrap_or(0)
}

/// The number of ranks of the MPI job this process belongs to, if it belongs to one.
pub fn size() -> Option<usize> {
    if !launched_under_mpi() {
        return None;
    }
    announced_size()
}

/// How many ranks of the job run on this node, when the launcher says.
pub fn ranks_on_this_node() -> Option<usize> {
    first_number(&[
        "OMPI_COMM_WORLD_LOCAL_SIZE",
        "MPI_LOCALNRANKS",
        "SLURM_NTASKS_PER_NODE",
    ])
}

/// Whether every rank of the job runs on this node, when the launcher says.
pub fn on_one_node() -> Option<bool> {
    match (
        var("OMPI_COMM_WORLD_LOCAL_SIZE"),
        var("OMPI_COMM_WORLD_SIZE"),
    ) {
        (Some(local), Some(world)) => Some(local == world),
        _ => var("SLURM_STEP_NUM_NODES")
            .or_else(|| var("SLURM_NNODES"))
            .map(|n| n.trim() == "1"),
    }
}

/// Keeps a one-node MPI job off the network: unless the user chose the byte transports
/// (`OMPI_MCA_btl`), a job whose ranks all run on one node uses shared memory and the
/// process itself (`self,vader`), so no rank opens a TCP listener on every interface as
/// OpenMPI's TCP transport does.
///
/// Call it first thing in `main`, before any thread starts: it sets an environment variable.
pub fn prefer_local_transports() {
    if var("OMPI_MCA_btl").is_some() {
        return;
    }
    if on_one_node() == Some(true) {
        std::env::set_var("OMPI_MCA_btl", "self,vader");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_is_known_exactly_when_launched() {
        // Whatever environment the tests run in, the answers agree with each other.
        assert_eq!(size().is_some(), launched_under_mpi());
        if let Some(n) = size() {
            assert!(n > 1 && rank() < n);
        }
    }
}
