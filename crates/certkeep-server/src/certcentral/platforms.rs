//! CertCentral server platforms (glossary "Server platforms"), as order views show them.

use serde::Serialize;

/// A server platform: id, name and DigiCert's instruction links.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct ServerPlatform {
    /// Platform id.
    pub id: i64,
    /// Display name.
    pub name: &'static str,
    /// Installation instructions.
    pub install_url: &'static str,
    /// CSR creation instructions.
    pub csr_url: &'static str,
}

const fn platform(
    id: i64,
    name: &'static str,
    install_url: &'static str,
    csr_url: &'static str,
) -> ServerPlatform {
    ServerPlatform { id, name, install_url, csr_url }
}

const OTHER: ServerPlatform = platform(
    -1,
    "OTHER",
    "http://www.digicert.com/SSL-certificate-installation.htm",
    "http://www.digicert.com/csr-creation.htm",
);

static PLATFORMS: &[ServerPlatform] = &[
    OTHER,
    platform(
        2,
        "Apache",
        "http://www.digicert.com/ssl-certificate-installation-apache.htm",
        "http://www.digicert.com/csr-creation-apache.htm",
    ),
    platform(
        14,
        "Microsoft IIS 7",
        "http://www.digicert.com/ssl-certificate-installation-microsoft-iis-7.htm",
        "http://www.digicert.com/csr-creation-microsoft-iis-7.htm",
    ),
    platform(
        45,
        "nginx",
        "http://www.digicert.com/ssl-certificate-installation-nginx.htm",
        "http://www.digicert.com/csr-creation-nginx.htm",
    ),
];

impl ServerPlatform {
    /// The platform with this id; unknown ids show as OTHER.
    pub fn find(id: i64) -> Self {
        PLATFORMS.iter().copied().find(|p| p.id == id).unwrap_or(OTHER)
    }
}
