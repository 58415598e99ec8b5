//! PEM, base64 and hex helpers.

use std::fmt::Write;

/// PEM label of PKCS#10 requests.
pub(crate) const CSR_LABEL: &str = "CERTIFICATE REQUEST";
/// PEM label of X.509 certificates.
pub(crate) const CERTIFICATE_LABEL: &str = "CERTIFICATE";
/// PEM label of PKCS#8 private keys.
pub(crate) const PRIVATE_KEY_LABEL: &str = "PRIVATE KEY";

/// Encodes DER as PEM with 64-column lines and `\n` line endings (trailing newline included).
pub(crate) fn encode_pem(label: &str, der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new(label, der), config)
}

/// A PEM block split out of free-form text.
pub(crate) struct PemBlock<'a> {
    /// The label between `BEGIN ` and `-----`.
    pub(crate) label: &'a str,
    /// The base64 body, possibly with arbitrary whitespace.
    pub(crate) body: &'a str,
}

/// Finds the first `-----BEGIN X-----` ... `-----END X-----` block in `text`.
///
/// Line breaks are not required anywhere; text before and after the block is ignored.
pub(crate) fn find_pem_block(text: &str) -> Option<PemBlock<'_>> {
    let (_, after_begin) = text.split_once("-----BEGIN ")?;
    let (label, rest) = after_begin.split_once("-----")?;
    let (body, after_end) = rest.split_once("-----END ")?;
    let (end_label, _) = after_end.split_once("-----")?;
    (label.trim() == end_label.trim()).then_some(PemBlock { label: label.trim(), body })
}

/// Decodes standard base64, ignoring all whitespace and tolerating missing padding.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return None;
    }
    let padding = (4 - compact.len() % 4) % 4;
    compact.extend(std::iter::repeat_n('=', padding));
    // Reframe as a canonical PEM block so the `pem` crate does the decoding.
    let framed = format!("-----BEGIN DATA-----\n{compact}\n-----END DATA-----\n");
    pem::parse(framed).ok().map(pem::Pem::into_contents)
}

/// Upper-case hex without separators.
pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02X}");
    }
    out
}

/// SHA-1 thumbprint of a DER certificate as upper-case hex (40 characters).
pub(crate) fn sha1_thumbprint(der: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der);
    hex_upper(digest.as_ref())
}

/// A certs-only PKCS#7 SignedData (RFC 2315) holding `certificates`, DER, as `.p7b` files carry
/// certificate bundles.
pub(crate) fn pkcs7_certificates(certificates: &[&[u8]]) -> Vec<u8> {
    use yasna::{Tag, models::ObjectIdentifier};
    let signed_data = ObjectIdentifier::from_slice(&[1, 2, 840, 113_549, 1, 7, 2]);
    let data = ObjectIdentifier::from_slice(&[1, 2, 840, 113_549, 1, 7, 1]);
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_oid(&signed_data);
            w.next().write_tagged(Tag::context(0), |w| {
                w.write_sequence(|w| {
                    w.next().write_u8(1);
                    w.next().write_set(|_| {});
                    w.next().write_sequence(|w| w.next().write_oid(&data));
                    w.next().write_tagged_implicit(Tag::context(0), |w| {
                        w.write_set_of(|w| {
                            // yasna panics on an empty element (found by the download fuzz target).
                            for der in certificates.iter().filter(|d| !d.is_empty()) {
                                w.next().write_der(der);
                            }
                        })
                    });
                    w.next().write_set(|_| {});
                })
            });
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_uses_lf_and_wraps_at_64() {
        let der: Vec<u8> = (0..=255).collect();
        let text = encode_pem(CERTIFICATE_LABEL, &der);
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(text.ends_with("-----END CERTIFICATE-----\n"));
        assert!(!text.contains('\r'));
        assert!(text.lines().all(|line| line.len() <= 64));
        let block = find_pem_block(&text).expect("block");
        assert_eq!(block.label, CERTIFICATE_LABEL);
        assert_eq!(decode_base64(block.body).expect("base64"), der);
    }

    #[test]
    fn mismatched_or_missing_framing_is_rejected() {
        assert!(find_pem_block("-----BEGIN A-----AAAA-----END B-----").is_none());
        assert!(find_pem_block("-----BEGIN A-----AAAA").is_none());
        assert!(find_pem_block("AAAA").is_none());
    }

    #[test]
    fn base64_tolerates_missing_padding_and_rejects_garbage() {
        assert_eq!(decode_base64("AQI").expect("decode"), vec![1, 2]);
        assert_eq!(decode_base64(" AQ\r\nI= ").expect("decode"), vec![1, 2]);
        assert!(decode_base64("!!!!").is_none());
        assert!(decode_base64("").is_none());
    }

    #[test]
    fn hex_and_thumbprint() {
        assert_eq!(hex_upper(&[0x0a, 0xff, 0x00]), "0AFF00");
        // SHA-1("abc")
        assert_eq!(sha1_thumbprint(b"abc"), "A9993E364706816ABA3E25717850C26C9CD0D89D");
    }
}
