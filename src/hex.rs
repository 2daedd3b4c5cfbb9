//! Lower-case hex, the way podup writes hashes, tokens and signatures.

use sha2::{Digest, Sha256};
use std::fmt::Write;

/// `bytes` as lower-case hex, two digits each.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The SHA-256 of `data`, in hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Exactly 64 hex digits, either case, as the 32 bytes of a SHA-256 or HMAC-SHA256.
pub fn decode_32(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let [high, low] = pair else { return None };
        *byte = nibble(*high)? << 4 | nibble(*low)?;
    }
    Some(out)
}

fn nibble(c: u8) -> Option<u8> {
    char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn decodes_exactly_64_hex_digits() {
        let hex = "0F".repeat(32);
        assert_eq!(super::decode_32(&hex), Some([0x0f; 32]));
        for bad in [
            "0f".repeat(31),
            "0f".repeat(33),
            format!("+f{}", "0f".repeat(31)),
            format!("é{}", "0".repeat(62)),
        ] {
            assert_eq!(super::decode_32(&bad), None, "{bad}");
        }
    }

    #[test]
    fn hex_and_sha256() {
        assert_eq!(super::hex(&[0, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
