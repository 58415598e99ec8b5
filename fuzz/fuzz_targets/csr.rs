//! CSR parsing and CertCentral's CSR checks on any text, and on any bytes as the DER inside
//! a PEM block (so mutations reach the ASN.1 and signature checks).
#![no_main]

use base64::{Engine, engine::general_purpose::STANDARD};
use certkeep_server::certcentral::csr::check;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = certkeep_ca::parse_csr(&text);
    let pem = format!(
        "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
        STANDARD.encode(data)
    );
    let names = ["www.example.com".to_owned()];
    if let Err(e) = check(Some(&pem), "example.com", &names, true) {
        assert!(e.status.is_client_error(), "{e:?}");
    }
});
