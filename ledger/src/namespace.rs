//! The namespace of a client key, shared by the SQLite and Redis ledgers.

use capmonster_core::ClientKey;
use sha2::{Digest, Sha256};

/// How many hex digits of SHA-256 name a client key's namespace.
const NAMESPACE_HEX: usize = 32;

/// The namespace of a client key: the first 32 hex digits (128 bits) of the SHA-256 of the
/// key. The key itself, or any fragment of it, never reaches the store. Both stores use it:
/// a Redis ledger's keys are `capmonster:{NS}:…`, a SQLite ledger's rows carry `NS` in
/// their `ns` column.
///
/// ```
/// use capmonster_core::ClientKey;
/// let key = ClientKey::new("0123456789abcdef0123456789abcdef")?;
/// let ns = capmonster_ledger::namespace_for_key(&key);
/// assert_eq!(ns.len(), 32);
/// assert!(!ns.contains("0123456789abcdef"));
/// # Ok::<(), capmonster_core::Error>(())
/// ```
pub fn namespace_for_key(key: &ClientKey) -> String {
    let mut hex = hex(&Sha256::digest(key.expose().as_bytes()));
    hex.truncate(NAMESPACE_HEX);
    hex
}

/// Lower-case hex digits of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
