//! Bounded nesting while decoding control messages.
//!
//! Headers are decoded by serde, which recurses once per level of a nested value (a
//! fused elementwise expression, a list inside a futures value). Well-formed headers nest
//! a few dozen levels, but a corrupt or hostile header could claim a million levels in a
//! few megabytes and overflow the receiving thread's stack, which aborts the process
//! instead of reporting "malformed control message". Recursive fields are decoded through
//! [`bounded`], which counts the levels on this thread and fails past [`MAX_NESTING`].
//! It lives with the array types because the recursive types are theirs (and the futures
//! values above them); the transport only moves bytes and knows none of them.

use serde::{de::Error as _, Deserialize, Deserializer};
use std::cell::Cell;

/// Deepest nesting a decoded header may have.
pub const MAX_NESTING: usize = 512;

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    static REFUSED: Cell<bool> = const { Cell::new(false) };
}

/// Whether [`bounded`] refused a value on this thread since the last call (and resets it).
/// Wire formats that drop a deserializer's own message (postcard keeps only "a serde
/// error") ask this to say why a header was refused.
pub fn take_refused() -> bool {
    REFUSED.with(|r| r.replace(false))
}

/// Leaves one level when dropped (also when decoding fails).
struct Level;

impl Drop for Level {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Decodes a recursive field (`#[serde(deserialize_with = "crate::array::nesting::bounded")]`)
/// one level deeper; fails past [`MAX_NESTING`] levels.
pub fn bounded<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let depth = DEPTH.with(|c| {
        let v = c.get() + 1;
        c.set(v);
        v
    });
    let _level = Level;
    if depth > MAX_NESTING {
        REFUSED.with(|r| r.set(true));
        return Err(D::Error::custom(format!(
            "nested more than {MAX_NESTING} levels deep"
        )));
    }
    T::deserialize(d)
}
