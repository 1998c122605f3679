//! Short-lived signed links: stateless, HMAC-SHA256 over what the link opens, for whom
//! and until when, under a key derived from the server's secret for each purpose (a
//! remix stem's link cannot open an album). Used for downloads handed out after a check
//! (a licence accepted, an album's download allowed).

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], purpose: &str, parts: &[&str], exp: i64) -> HmacSha256 {
    let mut key = HmacSha256::new_from_slice(secret).expect("any key length");
    key.update(purpose.as_bytes());
    let derived = key.finalize().into_bytes();
    let mut m = HmacSha256::new_from_slice(&derived).expect("any key length");
    for p in parts {
        m.update(p.as_bytes());
        m.update(b"\n");
    }
    m.update(exp.to_string().as_bytes());
    m
}

/// The signature (hex) of `parts` until `exp` (Unix seconds) for `purpose`.
pub fn sign(secret: &[u8], purpose: &str, parts: &[&str], exp: i64) -> String {
    hex::encode(mac(secret, purpose, parts, exp).finalize().into_bytes())
}

/// Whether `sig` (hex) signs `parts` until `exp` for `purpose` (constant time). Expiry
/// is the caller's to check, so it can say which of the two went wrong.
pub fn verify(secret: &[u8], purpose: &str, parts: &[&str], exp: i64, sig: &str) -> bool {
    let Ok(sig) = hex::decode(sig) else {
        return false;
    };
    mac(secret, purpose, parts, exp).verify_slice(&sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_opens_only_what_it_was_signed_for() {
        let s = sign(b"secret", "cadenza/album/download", &["c1", "u1"], 100);
        assert!(verify(
            b"secret",
            "cadenza/album/download",
            &["c1", "u1"],
            100,
            &s
        ));
        assert!(!verify(
            b"secret",
            "cadenza/album/download",
            &["c2", "u1"],
            100,
            &s
        ));
        assert!(!verify(
            b"secret",
            "cadenza/album/download",
            &["c1", "u1"],
            101,
            &s
        ));
        assert!(!verify(
            b"secret",
            "cadenza/remix/download",
            &["c1", "u1"],
            100,
            &s
        ));
        assert!(!verify(
            b"other",
            "cadenza/album/download",
            &["c1", "u1"],
            100,
            &s
        ));
        assert!(!verify(
            b"secret",
            "cadenza/album/download",
            &["c1", "u1"],
            100,
            "zz"
        ));
        // The parts are separated: ("a", "bc") is not ("ab", "c").
        let t = sign(b"secret", "p", &["a", "bc"], 1);
        assert!(!verify(b"secret", "p", &["ab", "c"], 1, &t));
    }
}
