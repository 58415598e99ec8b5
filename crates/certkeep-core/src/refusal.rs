//! Why the inventory refuses a well-formed request, as a type: each front door maps a
//! [`Refusal`] once to its own codes (CertCentral's `invalid_dns_names|...`, NCP's
//! `returnCode`, ACME's problem types), and its [`Display`](fmt::Display) is the message
//! people read.

use std::fmt;

use crate::{CertificateStatus, Id, OrderStatus, RequestStatus, lifecycle::DcvFailure, policy};

/// What a lookup did not find (or found outside the caller's scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    /// An order.
    Order,
    /// A request on an order.
    Request,
    /// A certificate.
    Certificate,
    /// An organization.
    Organization,
    /// A container.
    Container,
    /// A domain.
    Domain,
    /// A product of the catalog.
    Product,
    /// An account.
    Account,
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Order => "order",
            Self::Request => "request",
            Self::Certificate => "certificate",
            Self::Organization => "organization",
            Self::Container => "container",
            Self::Domain => "domain",
            Self::Product => "product",
            Self::Account => "account",
        })
    }
}

/// What kind of refusal it is, for doors that answer by kind rather than by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalClass {
    /// The input is wrong (a name, a validity, a missing organization, a DCV check).
    Invalid,
    /// The object is in a state that does not allow the operation.
    Conflict,
    /// The caller may not do this.
    Forbidden,
}

/// Why a lifecycle operation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A name of the request breaks the product's rules; `common_name` when the name refused
    /// as malformed is the common name.
    Name {
        /// The rule it breaks.
        refusal: policy::NameRefusal,
        /// Whether it is the common name.
        common_name: bool,
    },
    /// A duplicate names something the order does not.
    NameNotOnOrder(String),
    /// No domain the account validated covers the name.
    DomainNotValidated(String),
    /// A domain to register is no domain name (`refusal: None`), or one nobody vouches for
    /// (a public suffix, an address).
    InvalidDomainName {
        /// The name as given.
        name: String,
        /// The rule it breaks, when it is a name.
        refusal: Option<policy::NameRefusal>,
    },
    /// clientAuth on a public product after [`policy::CLIENT_AUTH_LAST_DAY`].
    ClientAuthRetired,
    /// The validity period ends now or before.
    ValidityNotInFuture,
    /// The validity period is longer than the product's plans.
    ValidityTooLong {
        /// The product's `name_id`.
        product: &'static str,
        /// Its longest plan.
        max_days: u32,
    },
    /// An OV/EV product without an organization.
    OrganizationRequired {
        /// The product's `name_id`.
        product: &'static str,
    },
    /// A public EV certificate for an organization without a registration number.
    RegistrationNumberMissing,
    /// A custom field the account does not have.
    UnknownCustomField(Id),
    /// Only the operator vouches for domains.
    OperatorOnlyDcv,
    /// A new random value for a DCV method that uses none.
    DcvMethodHasNoToken,
    /// A DCV check did not show control of the domain `name`.
    Dcv {
        /// The domain.
        name: String,
        /// What the check found.
        failure: DcvFailure,
    },
    /// The random value changed while it was being checked.
    DcvTokenChanged,
    /// The order's validity has ended: nothing more is issued on it.
    OrderExpired,
    /// The ACME order was finalized meanwhile.
    AcmeOrderNotReady,
    /// An ACME order is finalized only by issuing (approval cannot be pending).
    AcmeOrderNotIssued,
    /// The request was approved or rejected already.
    RequestAlreadyProcessed {
        /// The request.
        id: Id,
        /// Its status.
        status: RequestStatus,
    },
    /// The order's status does not allow canceling it.
    OrderNotCancelable(OrderStatus),
    /// The operation needs an issued order.
    OrderNotIssued(OrderStatus),
    /// The operation needs an issued certificate.
    CertificateNotIssued {
        /// The certificate.
        id: Id,
        /// Its status.
        status: CertificateStatus,
    },
    /// A certificate recorded from elsewhere, which this CA did not sign.
    NotIssuedHere,
    /// The order has a pending reissue.
    ReissuePending,
    /// The domain is registered already.
    DuplicateDomain(String),
    /// Only administrators may do this (`register domains`...).
    AdministratorsOnly(&'static str),
}

impl Refusal {
    /// The kind of refusal.
    pub fn class(&self) -> RefusalClass {
        match self {
            Self::Name { .. }
            | Self::NameNotOnOrder(_)
            | Self::DomainNotValidated(_)
            | Self::InvalidDomainName { .. }
            | Self::ClientAuthRetired
            | Self::ValidityNotInFuture
            | Self::ValidityTooLong { .. }
            | Self::OrganizationRequired { .. }
            | Self::RegistrationNumberMissing
            | Self::UnknownCustomField(_)
            | Self::OperatorOnlyDcv
            | Self::DcvMethodHasNoToken
            | Self::Dcv { .. } => RefusalClass::Invalid,
            Self::DcvTokenChanged
            | Self::OrderExpired
            | Self::AcmeOrderNotReady
            | Self::AcmeOrderNotIssued
            | Self::RequestAlreadyProcessed { .. }
            | Self::OrderNotCancelable(_)
            | Self::OrderNotIssued(_)
            | Self::CertificateNotIssued { .. }
            | Self::NotIssuedHere
            | Self::ReissuePending
            | Self::DuplicateDomain(_) => RefusalClass::Conflict,
            Self::AdministratorsOnly(_) => RefusalClass::Forbidden,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name { refusal, .. } => write!(f, "{refusal}."),
            Self::NameNotOnOrder(name) => {
                write!(f, "A duplicate may only use names of the order; {name} is not one.")
            }
            Self::DomainNotValidated(name) => {
                write!(f, "The domain of {name} has not been validated for this account.")
            }
            Self::InvalidDomainName { refusal: Some(refusal), .. } => write!(f, "{refusal}."),
            Self::InvalidDomainName { name, refusal: None } => write!(f, "{name:?} is not a domain name."),
            Self::ClientAuthRetired => write!(
                f,
                "Public TLS certificates assert serverAuth only since {}: clientAuth is no longer available.",
                policy::CLIENT_AUTH_LAST_DAY.next_day().unwrap_or(policy::CLIENT_AUTH_LAST_DAY)
            ),
            Self::ValidityNotInFuture => f.write_str("The validity period must end in the future."),
            Self::ValidityTooLong { product, max_days } => {
                write!(f, "{product} orders cover at most {max_days} days.")
            }
            Self::OrganizationRequired { product } => write!(f, "{product} needs an organization."),
            Self::RegistrationNumberMissing => f.write_str(
                "EV certificates name the organization's registration number, and this organization has none on record.",
            ),
            Self::UnknownCustomField(id) => write!(f, "No custom field {id}."),
            Self::OperatorOnlyDcv => f.write_str("Only the operator vouches for domains (certkeep domain vouch)."),
            Self::DcvMethodHasNoToken => f.write_str("The domain's DCV method does not use a random value."),
            Self::Dcv { name, failure } => match failure {
                DcvFailure::NoCheck => write!(
                    f,
                    "The DCV method of {name} checks no random value (certkeep sends no e-mail)."
                ),
                DcvFailure::TokenExpired => {
                    write!(f, "The random value of {name} has expired: generate a new one.")
                }
                DcvFailure::TxtNotFound(detail) => {
                    write!(f, "Could not find a valid TXT record for one or more domains. {detail}")
                }
                DcvFailure::CnameNotFound(detail) => {
                    write!(f, "Could not find a valid CNAME record for one or more domains. {detail}")
                }
                DcvFailure::FileNotFound(detail) => {
                    write!(f, "Could not find the random value in the file on the domain. {detail}")
                }
            },
            Self::DcvTokenChanged => {
                f.write_str("The domain's random value changed while it was being checked.")
            }
            Self::OrderExpired => f.write_str("The order's validity has ended."),
            Self::AcmeOrderNotReady => {
                f.write_str("The ACME order is no longer ready: it was finalized already.")
            }
            Self::AcmeOrderNotIssued => f.write_str("An ACME order is finalized only by issuing."),
            Self::RequestAlreadyProcessed { id, status } => {
                write!(f, "Request {id} is already {}.", status.as_str())
            }
            Self::OrderNotCancelable(status) => {
                write!(f, "An order in status {} cannot be canceled.", status.as_str())
            }
            Self::OrderNotIssued(status) => write!(f, "The order is {}, not issued.", status.as_str()),
            Self::CertificateNotIssued { id, status } => {
                write!(f, "Certificate {id} is {}, not issued.", status.as_str())
            }
            Self::NotIssuedHere => {
                f.write_str("This certificate was not issued by certkeep and cannot be revoked here.")
            }
            Self::ReissuePending => f.write_str("Certificates with a pending reissue cannot be revoked."),
            Self::DuplicateDomain(name) => write!(f, "{name} is already registered."),
            Self::AdministratorsOnly(what) => write!(f, "Only administrators may {what}."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use policy::NameRefusal;

    #[test]
    fn each_refusal_has_its_class() {
        let name = Refusal::Name { refusal: NameRefusal::IpAddress("10.0.0.1".into()), common_name: false };
        assert_eq!(name.class(), RefusalClass::Invalid);
        assert_eq!(Refusal::ValidityNotInFuture.class(), RefusalClass::Invalid);
        let dcv = Refusal::Dcv { name: "example.com".into(), failure: DcvFailure::TokenExpired };
        assert_eq!(dcv.class(), RefusalClass::Invalid);
        assert_eq!(Refusal::OrderNotIssued(OrderStatus::Pending).class(), RefusalClass::Conflict);
        assert_eq!(Refusal::DuplicateDomain("example.com".into()).class(), RefusalClass::Conflict);
        assert_eq!(Refusal::AcmeOrderNotReady.class(), RefusalClass::Conflict);
        assert_eq!(Refusal::AdministratorsOnly("delete domains").class(), RefusalClass::Forbidden);
    }

    #[test]
    fn messages_say_what_was_refused() {
        let wildcard = NameRefusal::WildcardNotAllowed("*.example.com".into());
        assert_eq!(
            Refusal::Name { refusal: wildcard, common_name: false }.to_string(),
            "this product does not allow wildcard names such as *.example.com."
        );
        assert_eq!(
            Refusal::InvalidDomainName { name: "a b".into(), refusal: None }.to_string(),
            "\"a b\" is not a domain name."
        );
        assert_eq!(
            Refusal::ValidityTooLong { product: "ssl_basic", max_days: 1095 }.to_string(),
            "ssl_basic orders cover at most 1095 days."
        );
        assert_eq!(
            Refusal::RequestAlreadyProcessed { id: 7, status: RequestStatus::Approved }.to_string(),
            "Request 7 is already approved."
        );
        assert_eq!(
            Refusal::CertificateNotIssued { id: 3, status: CertificateStatus::Revoked }.to_string(),
            "Certificate 3 is revoked, not issued."
        );
        assert_eq!(
            Refusal::Dcv { name: "example.com".into(), failure: DcvFailure::NoCheck }.to_string(),
            "The DCV method of example.com checks no random value (certkeep sends no e-mail)."
        );
        assert_eq!(
            Refusal::AdministratorsOnly("register domains").to_string(),
            "Only administrators may register domains."
        );
        assert_eq!(
            Refusal::ClientAuthRetired.to_string(),
            "Public TLS certificates assert serverAuth only since 2027-03-01: clientAuth is no longer available."
        );
    }
}
