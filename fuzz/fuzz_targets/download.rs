//! Certificate downloads: any format name, common name and certificate bytes. Every format
//! packs exactly the expected PEM texts; ZIPs read back to the same files.
#![no_main]

use std::io::Read;

use certkeep_server::certcentral::downloads::{CaChain, package, pem};
use libfuzzer_sys::fuzz_target;

const FORMATS: [&str; 12] = [
    "pem_all",
    "pem",
    "pem_noroot",
    "pem_nointermediate",
    "crt",
    "p7b",
    "cer",
    "default",
    "default_pem",
    "default_cer",
    "apache",
    "other",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let (name, der) = match rest.iter().position(|b| *b == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    let common_name = String::from_utf8_lossy(name);
    let format = FORMATS[usize::from(selector) % FORMATS.len()];
    let chain =
        CaChain { intermediate: (b"\x30\x03\x02\x01\x01", "INTERMEDIATE\n"), root: (b"\x30\x00", "ROOT\n") };
    let Ok(download) = package(format, &common_name, der, chain, selector >= 128) else {
        assert_eq!(format, "other");
        return;
    };
    let plain = |name: &str| !name.starts_with('.') && !name.contains(['/', '\\', '"', ';']);
    assert!(plain(&download.file_name), "{:?}", download.file_name);
    let leaf = pem(der);
    match download.content_type {
        "application/zip" => {
            let mut archive =
                zip::ZipArchive::new(std::io::Cursor::new(&download.body)).expect("a readable ZIP");
            let mut texts = Vec::new();
            for i in 0..archive.len() {
                let mut text = String::new();
                let mut file = archive.by_index(i).unwrap();
                let name = String::from_utf8_lossy(file.name_raw()).into_owned();
                assert!(plain(&name), "{name:?}");
                file.read_to_string(&mut text).unwrap();
                texts.push(text);
            }
            assert_eq!(texts.first(), Some(&leaf));
        }
        "application/x-pem-file" => {
            assert!(String::from_utf8(download.body).unwrap().starts_with(&leaf));
        }
        _ => assert!(download.body.starts_with(b"-----BEGIN PKCS7-----")),
    }
});
