//! The one base64 encoder of the crate: standard with padding (image bodies the builders
//! encode) and URL-safe without padding (callback tokens).

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn encode(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b0 = u32::from(chunk.first().copied().unwrap_or(0));
        let b1 = u32::from(chunk.get(1).copied().unwrap_or(0));
        let b2 = u32::from(chunk.get(2).copied().unwrap_or(0));
        let n = (b0 << 16) | (b1 << 8) | b2;
        // A chunk of k bytes gives k + 1 symbols; padding fills the group to 4.
        for i in 0..4 {
            if i <= chunk.len() {
                let idx = (n >> (18 - 6 * i)) & 63;
                out.push(char::from(alphabet[idx as usize]));
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 (RFC 4648 §4) with padding, as the service expects image bodies.
pub(crate) fn encode_standard(bytes: &[u8]) -> String {
    encode(bytes, STANDARD, true)
}

/// URL-safe base64 (RFC 4648 §5) without padding.
pub(crate) fn encode_url_no_pad(bytes: &[u8]) -> String {
    encode(bytes, URL_SAFE, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, b64) in vectors {
            assert_eq!(encode_standard(plain.as_bytes()), b64);
            assert_eq!(
                encode_url_no_pad(plain.as_bytes()),
                b64.trim_end_matches('=')
            );
        }
        assert_eq!(encode_standard(&[0xfb, 0xff, 0xbf]), "+/+/");
        assert_eq!(encode_url_no_pad(&[0xfb, 0xff, 0xbf]), "-_-_");
    }
}
