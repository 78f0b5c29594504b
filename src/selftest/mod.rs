//! Instrumented checks the test suite runs through the binary (`tessera self-test ...`),
//! under `mpirun` where they need real ranks. They live with the binary, not the library.

pub mod futures;
pub mod optimizer;
pub mod zero_copy;
