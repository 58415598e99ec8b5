//! The rules publicly trusted TLS certificates follow at a given instant: the CA/Browser Forum
//! Baseline Requirements (ballot SC-081 validity steps, SC47, 7.1.2.7.12 names) as DigiCert
//! applies them, one day short of each cap. Every rule takes the issuance time, so a frozen
//! clock (`--fixed-time`) shows the 2027 and 2029 steps.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;

use time::{Date, OffsetDateTime, macros::date};

use crate::{Product, names};

/// `(first day, DigiCert's longest public TLS certificate in days)`, newest last. Before the
/// first step DigiCert issued 397 days (BR: 398).
const VALIDITY_STEPS: [(Date, u32); 3] =
    [(date!(2026 - 02 - 24), 199), (date!(2027 - 03 - 15), 99), (date!(2029 - 03 - 15), 46)];

/// `(first day, days a domain validation is reused)`: BR 4.2.1 (200, 100, then 10 days),
/// one day short as DigiCert does. Before the first step: 397 days.
const DCV_REUSE_STEPS: [(Date, u32); 3] =
    [(date!(2026 - 02 - 24), 199), (date!(2027 - 03 - 15), 99), (date!(2029 - 03 - 15), 9)];

/// The last day a public TLS certificate may also assert id-kp-clientAuth on request
/// (Chrome Root Program 1.6; DigiCert ALERT53 as updated 2026-03-03).
pub const CLIENT_AUTH_LAST_DAY: Date = date!(2027 - 02 - 28);

/// TLDs of RFC 2606 that a CI stand-in may treat as registered public suffixes.
const TEST_TLDS: [&str; 2] = ["test", "example"];

fn step(steps: &[(Date, u32)], first: u32, at: OffsetDateTime) -> u32 {
    steps.iter().rev().find(|(from, _)| at.date() >= *from).map_or(first, |(_, days)| *days)
}

/// The longest public TLS certificate, in days, issued at `at`: 397, then 199 from
/// 2026-02-24, 99 from 2027-03-15 and 46 from 2029-03-15. Longer requests are shortened to it.
pub fn max_certificate_days(at: OffsetDateTime) -> u32 {
    step(&VALIDITY_STEPS, 397, at)
}

/// How many days a completed domain validation counts for certificates issued at `at`.
pub fn dcv_reuse_days(at: OffsetDateTime) -> u32 {
    step(&DCV_REUSE_STEPS, 397, at)
}

/// Whether a public TLS certificate issued at `at` may carry id-kp-clientAuth on request.
pub fn client_auth_allowed(at: OffsetDateTime) -> bool {
    at.date() <= CLIENT_AUTH_LAST_DAY
}

/// Why a name may not appear in a certificate of some product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameRefusal {
    /// Not an LDH host name (or an A-label that is not valid IDNA2008).
    Malformed(String),
    /// A wildcard on a product without wildcards.
    WildcardNotAllowed(String),
    /// An IP address in a public certificate.
    IpAddress(String),
    /// A name under no registered public suffix (`host.local`, `printer.internal`).
    InternalName(String),
    /// A public suffix itself, or a wildcard directly on one (`co.uk`, `*.co.uk`).
    PublicSuffix(String),
    /// More names than the product allows, counted before any name is examined.
    TooMany {
        /// The product's limit on additional names.
        allowed: u32,
    },
}

impl fmt::Display for NameRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(n) => write!(f, "{n:?} is not a valid DNS name"),
            Self::WildcardNotAllowed(n) => {
                write!(f, "this product does not allow wildcard names such as {n}")
            }
            Self::IpAddress(n) => {
                write!(f, "{n} is an IP address, which public TLS certificates cannot hold")
            }
            Self::InternalName(n) => {
                write!(f, "{n} is an internal name: it does not end in a registered public suffix")
            }
            Self::PublicSuffix(n) => write!(f, "{n} is or covers a whole public suffix"),
            Self::TooMany { allowed } => write!(f, "this product allows at most {allowed} additional names"),
        }
    }
}

/// Which names a public product accepts besides those the Baseline Requirements allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TestNames {
    /// Only names under a public suffix of the Public Suffix List (production).
    #[default]
    Refused,
    /// Also names under the RFC 2606 test TLDs `.test` and `.example` (CI stand-ins, demos).
    Allowed,
}

/// What a deployment chooses within the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuanceSettings {
    /// Whether public products also accept the RFC 2606 test TLDs.
    pub test_names: TestNames,
    /// Longest certificate of a private product, in days (its order's plan still bounds it).
    pub private_certificate_days: u32,
}

/// Default for [`IssuanceSettings::private_certificate_days`]: three years.
pub const PRIVATE_CERTIFICATE_DAYS: u32 = 3 * 365 + 1;

impl Default for IssuanceSettings {
    fn default() -> Self {
        Self { test_names: TestNames::Refused, private_certificate_days: PRIVATE_CERTIFICATE_DAYS }
    }
}

/// Checks a normalised name against the Baseline Requirements' rules for public TLS
/// certificates: no IP addresses, no internal names, no public suffix and no wildcard
/// directly on one (the Public Suffix List, ICANN and private sections).
pub fn check_public_name(name: &str, test_names: TestNames) -> Result<(), NameRefusal> {
    if name.parse::<IpAddr>().is_ok() {
        return Err(NameRefusal::IpAddress(name.to_owned()));
    }
    let base = name.strip_prefix("*.").unwrap_or(name);
    let tld = base.rsplit('.').next().unwrap_or(base);
    if test_names == TestNames::Allowed && TEST_TLDS.contains(&tld) {
        return if base == tld { Err(NameRefusal::PublicSuffix(name.to_owned())) } else { Ok(()) };
    }
    let suffix = psl::suffix(base.as_bytes()).filter(|s| s.is_known());
    match suffix {
        None => Err(NameRefusal::InternalName(name.to_owned())),
        Some(s) if s.as_bytes() == base.as_bytes() => Err(NameRefusal::PublicSuffix(name.to_owned())),
        Some(_) => Ok(()),
    }
}

/// Normalises the common name and the additional names of a request for `product` and checks
/// them against its rules, in time linear in the number of names: the count is refused before
/// any name is examined, duplicates (and additional names equal to the common name) are
/// dropped, wildcards need a product that allows them, and public products refuse what
/// [`check_public_name`] refuses. Returns the common name and the distinct additional names.
pub fn product_names(
    product: &Product,
    common_name: &str,
    dns_names: &[String],
    test_names: TestNames,
) -> Result<(String, Vec<String>), NameRefusal> {
    // Every additional name but one duplicate of the common name counts against the limit.
    if dns_names.len() > product.max_dns_names as usize + 1 {
        return Err(NameRefusal::TooMany { allowed: product.max_dns_names });
    }
    let check = |raw: &str| -> Result<String, NameRefusal> {
        let name = names::normalize(raw).map_err(|e| NameRefusal::Malformed(e.0))?;
        if names::is_wildcard(&name) && !product.allows_wildcard {
            return Err(NameRefusal::WildcardNotAllowed(name));
        }
        if product.is_public() {
            check_public_name(&name, test_names)?;
        }
        Ok(name)
    };
    let cn = check(common_name)?;
    let mut seen = HashSet::from([cn.clone()]);
    let mut dns = Vec::with_capacity(dns_names.len());
    for raw in dns_names {
        let name = check(raw)?;
        if seen.insert(name.clone()) {
            dns.push(name);
        }
    }
    if dns.len() > product.max_dns_names as usize {
        return Err(NameRefusal::TooMany { allowed: product.max_dns_names });
    }
    Ok((cn, dns))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn validity_follows_digicerts_steps() {
        assert_eq!(max_certificate_days(datetime!(2026-02-23 23:59 UTC)), 397);
        assert_eq!(max_certificate_days(datetime!(2026-02-24 00:00 UTC)), 199);
        assert_eq!(max_certificate_days(datetime!(2027-03-14 23:59 UTC)), 199);
        assert_eq!(max_certificate_days(datetime!(2027-03-15 00:00 UTC)), 99);
        assert_eq!(max_certificate_days(datetime!(2029-03-15 00:00 UTC)), 46);
        assert_eq!(dcv_reuse_days(datetime!(2026-12-07 00:00 UTC)), 199);
        assert_eq!(dcv_reuse_days(datetime!(2029-06-01 00:00 UTC)), 9);
    }

    #[test]
    fn client_auth_ends_with_february_2027() {
        assert!(client_auth_allowed(datetime!(2027-02-28 23:59 UTC)));
        assert!(!client_auth_allowed(datetime!(2027-03-01 00:00 UTC)));
    }

    #[test]
    fn public_names_need_a_registered_suffix() {
        let refused = TestNames::Refused;
        assert_eq!(check_public_name("www.example.com", refused), Ok(()));
        assert_eq!(check_public_name("*.example.co.uk", refused), Ok(()));
        assert_eq!(check_public_name("user.github.io", refused), Ok(()));
        assert_eq!(check_public_name("10.0.0.1", refused), Err(NameRefusal::IpAddress("10.0.0.1".into())));
        assert!(matches!(check_public_name("host.local", refused), Err(NameRefusal::InternalName(_))));
        assert!(matches!(check_public_name("a.test", refused), Err(NameRefusal::InternalName(_))));
        assert!(matches!(check_public_name("*.co.uk", refused), Err(NameRefusal::PublicSuffix(_))));
        assert!(matches!(check_public_name("co.uk", refused), Err(NameRefusal::PublicSuffix(_))));
        assert!(matches!(check_public_name("*.github.io", refused), Err(NameRefusal::PublicSuffix(_))));
        assert_eq!(check_public_name("a.test", TestNames::Allowed), Ok(()));
        assert_eq!(check_public_name("*.a.example", TestNames::Allowed), Ok(()));
        assert!(matches!(
            check_public_name("host.local", TestNames::Allowed),
            Err(NameRefusal::InternalName(_))
        ));
    }

    #[test]
    fn product_names_count_first_then_check_each_once() {
        let dv = Product::find("ssl_dv_geotrust").unwrap();
        let names = vec!["www.example.com".to_string(), "example.com".into()];
        assert_eq!(
            product_names(dv, "Example.com", &names, TestNames::Refused),
            Ok(("example.com".into(), vec!["www.example.com".into()]))
        );
        let many = vec!["bad name".to_string(); 3];
        assert_eq!(
            product_names(dv, "example.com", &many, TestNames::Refused),
            Err(NameRefusal::TooMany { allowed: 1 })
        );
        assert!(matches!(
            product_names(dv, "*.example.com", &[], TestNames::Refused),
            Err(NameRefusal::WildcardNotAllowed(_))
        ));
        let private = Product::find("private_ssl_plus").unwrap();
        assert!(product_names(private, "host.local", &["10.0.0.1".into()], TestNames::Refused).is_ok());
    }
}
