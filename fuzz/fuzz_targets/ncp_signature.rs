//! NCP signature headers: timestamp, access key and signature from any bytes. A signature
//! made with the right secret must verify; any other must not.
#![no_main]

use aws_lc_rs::hmac;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use base64::{Engine, engine::general_purpose::STANDARD};
use certkeep_server::ncp::auth::{SignedHeaders, string_to_sign};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"fuzz-ncp-secret";

fuzz_target!(|data: &[u8]| {
    let mut fields = data.splitn(5, |b| *b == b'\n');
    let mut next = || fields.next().unwrap_or_default();
    let (timestamp, access_key, signature, method, target) = (next(), next(), next(), next(), next());
    let now_ms = std::str::from_utf8(timestamp).ok().and_then(|t| t.parse::<i64>().ok()).unwrap_or(0);
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("x-ncp-apigw-timestamp", timestamp),
        ("x-ncp-iam-access-key", access_key),
        ("x-ncp-apigw-signature-v2", signature),
    ] {
        if let Ok(v) = HeaderValue::from_bytes(value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
    let (method, target) = (String::from_utf8_lossy(method), String::from_utf8_lossy(target));
    let Ok(signed) = SignedHeaders::read(&headers, i128::from(now_ms)) else { return };
    let message = string_to_sign(&method, &target, &signed.timestamp, &signed.access_key);
    let good = STANDARD.encode(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, SECRET), message.as_bytes()));
    assert_eq!(signed.signed_by(SECRET, &method, &target), signed.signature == good);
    let forged = SignedHeaders { signature: good, ..signed };
    assert!(forged.signed_by(SECRET, &method, &target));
    assert!(!forged.signed_by(b"another secret", &method, &target));
});
