//! The generic webhook's signature: HMAC-SHA256 over the timestamp and the body.
//!
//! Each request carries
//!
//! - `X-Tamperwatch-Timestamp`: seconds since the Unix epoch when it was sent;
//! - `X-Tamperwatch-Signature`: `v1=` and the lowercase hex HMAC-SHA256, keyed with the shared
//!   secret, of `TIMESTAMP + "." + BODY` (the exact bytes received);
//! - `X-Tamperwatch-Delivery`: the alert's deduplication key, the same on every retry.
//!
//! A receiver recomputes the HMAC, compares it in constant time, and refuses timestamps more
//! than five minutes from its clock (so a captured request cannot be replayed later), then
//! drops deliveries whose key it has already seen. [`verify`] does exactly that.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The timestamp header.
pub const TIMESTAMP_HEADER: &str = "X-Tamperwatch-Timestamp";
/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Tamperwatch-Signature";
/// The delivery (deduplication key) header.
pub const DELIVERY_HEADER: &str = "X-Tamperwatch-Delivery";

fn mac(secret: &[u8], timestamp: u64, body: &[u8]) -> Option<Hmac<Sha256>> {
    // HMAC takes keys of any length; `new_from_slice` fails only for fixed-key MACs.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

/// The `X-Tamperwatch-Signature` value for a body sent at `timestamp`.
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    match mac(secret, timestamp, body) {
        Some(mac) => format!("v1={}", hex::encode(mac.finalize().into_bytes())),
        None => "v1=".to_owned(),
    }
}

/// Whether `signature` is a valid signature of `body` sent at `timestamp`, and `timestamp` is
/// within `tolerance_secs` of `now`.
pub fn verify(
    secret: &[u8],
    timestamp: u64,
    body: &[u8],
    signature: &str,
    now: u64,
    tolerance_secs: u64,
) -> bool {
    if now.abs_diff(timestamp) > tolerance_secs {
        return false;
    }
    let Some(hex_sig) = signature.strip_prefix("v1=") else {
        return false;
    };
    let Ok(bytes) = hex::decode(hex_sig) else {
        return false;
    };
    mac(secret, timestamp, body).is_some_and(|m| m.verify_slice(&bytes).is_ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let sig = sign(b"k", 1_700_000_000, b"{}");
        assert!(sig.starts_with("v1=") && sig.len() == 3 + 64);
        assert!(verify(b"k", 1_700_000_000, b"{}", &sig, 1_700_000_100, 300));
        assert!(!verify(
            b"k",
            1_700_000_000,
            b"{} ",
            &sig,
            1_700_000_100,
            300
        ));
        assert!(!verify(
            b"x",
            1_700_000_000,
            b"{}",
            &sig,
            1_700_000_100,
            300
        ));
        assert!(!verify(
            b"k",
            1_700_000_000,
            b"{}",
            &sig,
            1_700_001_000,
            300
        ));
    }
}
