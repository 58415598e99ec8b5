//! ACME request bodies: flattened JWS, protected header, JWK (account keys and the EAB
//! payload), thumbprints, signature checks and the HS256 MAC of External Account Binding.
#![no_main]

use certkeep_server::acme::jws::{Flattened, Jwk, verify_hs256};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(jws) = Flattened::parse(data) else { return };
    let input = jws.signing_input();
    let signature = jws.signature().unwrap_or_default();
    if let Ok(header) = jws.header() {
        if let Some(jwk) = header.jwk.as_ref().and_then(|v| Jwk::parse(v).ok()) {
            assert_eq!(Jwk::parse(&jwk.to_json()).as_ref().ok(), Some(&jwk), "a parsed JWK round-trips");
            let _ = jwk.thumbprint();
            assert!(jwk.verify(&header.alg, &input, &signature).is_err() || !signature.is_empty());
        }
    }
    // External Account Binding: the payload is the account's JWK, or itself a JWS.
    if let Some(payload) = jws.payload().ok().and_then(|p| serde_json::from_slice(&p).ok()) {
        let _ = Jwk::parse(&payload);
        let _ = Flattened::from_value(&payload, "externalAccountBinding").map(|inner| inner.header());
    }
    assert!(!verify_hs256(b"fuzz-eab-key", &input, &signature) || signature.len() == 32);
});
