//! Partner subscriptions: subaccounts, ACME contracts and their External Account Binding
//! credentials. Certificates issued over ACME under a contract are ordinary orders that carry
//! the contract's id.

use time::OffsetDateTime;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{Id, credentials::random_bytes, names, seal::SealingKey};

/// An ACME contract: a product, the names it may cover, and how long it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeContract {
    /// Contract id.
    pub id: Id,
    /// The subaccount that owns it.
    pub account_id: Id,
    /// Container its orders go to (the subaccount's root).
    pub container_id: Id,
    /// User its orders are placed as (the subaccount's administrator).
    pub user_id: Id,
    /// Product.
    pub product_name_id: String,
    /// Names certificates may cover: exact names, or `*.domain` for any one label under it.
    pub sans: Vec<String>,
    /// Organization (OV/EV products).
    pub organization_id: Option<Id>,
    /// Whether the contract renews itself.
    pub auto_renew: bool,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// End of the contract.
    pub valid_till: OffsetDateTime,
    /// When it was canceled, if it was.
    pub date_canceled: Option<OffsetDateTime>,
}

impl AcmeContract {
    /// Whether the contract allows a certificate for `name` (already normalised): the name is
    /// one of the SANs, or a SAN `*.d` covers it (`x.d`, or `*.d` itself).
    pub fn allows(&self, name: &str) -> bool {
        self.sans.iter().any(|san| {
            san == name
                || san.strip_prefix("*.").is_some_and(|domain| {
                    name.split_once('.').is_some_and(|(label, rest)| rest == domain && label != "*")
                })
        })
    }

    /// Whether the contract can issue at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.date_canceled.is_none() && now < self.valid_till
    }
}

/// An External Account Binding credential of a contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EabCredential {
    /// Credential id.
    pub id: Id,
    /// The key id ACME clients send (`kid`).
    pub kid: String,
    /// The HMAC key, sealed under the server key ([`seal_hmac_key`], [`open_hmac_key`]).
    pub sealed_hmac_key: Vec<u8>,
    /// Whether it may still bind new ACME accounts.
    pub active: bool,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// The contract.
    pub contract_id: Id,
}

/// A Partner Subscriptions API key's holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerPrincipal {
    /// The key's id.
    pub key_id: Id,
    /// The account the key belongs to.
    pub account_id: Id,
    /// The parent account, for subaccount keys; `None` for parent keys.
    pub parent_account_id: Option<Id>,
}

impl PartnerPrincipal {
    /// Subaccount keys manage ACME contracts; parent keys manage subaccounts.
    pub fn is_subaccount(&self) -> bool {
        self.parent_account_id.is_some()
    }
}

/// A fresh EAB credential: a 43-character base64url key id and a 256-bit HMAC key (as
/// DigiCert issues them). Returns (key id, raw key).
pub fn new_eab_credential() -> (String, [u8; 32]) {
    (URL_SAFE_NO_PAD.encode(random_bytes::<32>()), random_bytes::<32>())
}

/// Seals an EAB HMAC key for storage, bound to its key id.
pub fn seal_hmac_key(sealing_key: &SealingKey, kid: &str, hmac_key: &[u8]) -> Vec<u8> {
    sealing_key.seal(hmac_key, &hmac_key_context(kid))
}

/// The HMAC key of a stored credential; `None` if it does not open under this server key.
pub fn open_hmac_key(sealing_key: &SealingKey, credential: &EabCredential) -> Option<Vec<u8>> {
    sealing_key.open(&credential.sealed_hmac_key, &hmac_key_context(&credential.kid))
}

pub(crate) fn hmac_key_context(kid: &str) -> Vec<u8> {
    [b"eab:".as_slice(), kid.as_bytes()].concat()
}

/// The HMAC key as ACME clients take it: base64url without padding.
pub fn encode_hmac_key(key: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

/// Normalises the SAN list of a contract (wildcards allowed); the first bad name is the error.
pub fn normalize_sans(sans: &[String]) -> Result<Vec<String>, String> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<String> = Vec::new();
    for san in sans {
        let n = names::normalize(san).map_err(|e| e.0)?;
        if seen.insert(n.clone()) {
            out.push(n);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn contract(sans: &[&str]) -> AcmeContract {
        AcmeContract {
            id: 1,
            account_id: 1,
            container_id: 1,
            user_id: 1,
            product_name_id: "ssl_dv_geotrust".into(),
            sans: sans.iter().map(|s| s.to_string()).collect(),
            organization_id: None,
            auto_renew: false,
            created_at: datetime!(2026-01-01 0:00 UTC),
            valid_till: datetime!(2027-01-01 0:00 UTC),
            date_canceled: None,
        }
    }

    #[test]
    fn sans_cover_exact_names_and_one_wildcard_label() {
        let c = contract(&["example.com", "*.example.com"]);
        for ok in ["example.com", "www.example.com", "*.example.com"] {
            assert!(c.allows(ok), "{ok}");
        }
        for bad in ["a.b.example.com", "example.org", "evilexample.com", "*.b.example.com"] {
            assert!(!c.allows(bad), "{bad}");
        }
        assert!(!contract(&["www.example.com"]).allows("example.com"));
    }

    #[test]
    fn activity() {
        let mut c = contract(&["example.com"]);
        assert!(c.is_active(datetime!(2026-06-01 0:00 UTC)));
        assert!(!c.is_active(datetime!(2027-06-01 0:00 UTC)));
        c.date_canceled = Some(datetime!(2026-02-01 0:00 UTC));
        assert!(!c.is_active(datetime!(2026-06-01 0:00 UTC)));
    }
}
