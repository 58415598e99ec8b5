//! Tenants and who acts for them: accounts, containers, organizations, users, API keys.

use crate::Id;

/// The part of an account a caller may see: the whole account, or a set of containers
/// (the subtree under the caller's container).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The tenant.
    pub account_id: Id,
    /// `None` for the whole account, else the visible containers.
    pub containers: Option<Vec<Id>>,
}

impl Scope {
    /// Whether objects in `container_id` are visible.
    pub fn allows_container(&self, container_id: Id) -> bool {
        self.containers.as_ref().is_none_or(|c| c.contains(&container_id))
    }
}

/// CertCentral API key roles (glossary "API key roles").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyRole {
    /// 0: inherits the user's permissions.
    Inherit,
    /// 100: orders only.
    Orders,
    /// 101: orders, domains and organizations.
    OrdersDomainsOrganizations,
    /// 102: view only (GET requests only).
    ViewOnly,
    /// 103: user management.
    UserManagement,
}

impl ApiKeyRole {
    /// The numeric role id.
    pub fn code(self) -> i64 {
        match self {
            Self::Inherit => 0,
            Self::Orders => 100,
            Self::OrdersDomainsOrganizations => 101,
            Self::ViewOnly => 102,
            Self::UserManagement => 103,
        }
    }

    /// Parses a numeric role id.
    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            0 => Self::Inherit,
            100 => Self::Orders,
            101 => Self::OrdersDomainsOrganizations,
            102 => Self::ViewOnly,
            103 => Self::UserManagement,
            _ => return None,
        })
    }

    /// Whether the key may change anything.
    pub fn can_write(self) -> bool {
        self != Self::ViewOnly
    }

    /// Whether the key may skip approval (`skip_approval`): keys that act with the full
    /// rights of an administrator or manager, and order/domain/organization keys.
    pub fn may_skip_approval(self, user_role: AccessRole) -> bool {
        match self {
            Self::Inherit => matches!(user_role, AccessRole::Administrator | AccessRole::Manager),
            Self::OrdersDomainsOrganizations => true,
            Self::Orders | Self::ViewOnly | Self::UserManagement => false,
        }
    }
}

/// CertCentral user access roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessRole {
    /// 1
    Administrator,
    /// 2
    LimitedUser,
    /// 3
    FinanceManager,
    /// 4
    Manager,
    /// 5
    StandardUser,
}

impl AccessRole {
    /// The numeric role id.
    pub fn code(self) -> i64 {
        match self {
            Self::Administrator => 1,
            Self::LimitedUser => 2,
            Self::FinanceManager => 3,
            Self::Manager => 4,
            Self::StandardUser => 5,
        }
    }

    /// Parses a numeric role id.
    pub fn from_code(code: i64) -> Option<Self> {
        [Self::Administrator, Self::LimitedUser, Self::FinanceManager, Self::Manager, Self::StandardUser]
            .into_iter()
            .find(|r| r.code() == code)
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The key's id.
    pub api_key_id: Id,
    /// The key's name, recorded on orders it places.
    pub api_key_name: String,
    /// The key's role.
    pub role: ApiKeyRole,
    /// The user the key belongs to.
    pub user_id: Id,
    /// The user's container (where new orders go by default).
    pub container_id: Id,
    /// Whether the key may skip approval.
    pub may_skip_approval: bool,
    /// What the key may see.
    pub scope: Scope,
    /// The user's access role.
    pub access_role: AccessRole,
}

/// Contact details as CertCentral's "contact details object".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// E-mail address.
    pub email: String,
    /// Job title.
    pub job_title: String,
    /// Telephone number.
    pub telephone: String,
    /// Telephone extension.
    pub telephone_extension: String,
}

/// A new container under `parent_id` (or the account's root when `None`).
#[derive(Debug, Clone)]
pub struct NewContainer {
    /// Owning account.
    pub account_id: Id,
    /// Parent container; `None` makes the account's root container.
    pub parent_id: Option<Id>,
    /// Name.
    pub name: String,
    /// Free-form description.
    pub description: String,
}

/// A container as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// Id.
    pub id: Id,
    /// Name.
    pub name: String,
    /// Whether the container is active.
    pub is_active: bool,
}

/// A new organization.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    /// Owning account.
    pub account_id: Id,
    /// Container the organization belongs to.
    pub container_id: Id,
    /// Legal name.
    pub name: String,
    /// DBA name.
    pub assumed_name: String,
    /// Street address.
    pub address: String,
    /// City.
    pub city: String,
    /// State or province.
    pub state: String,
    /// Postal code.
    pub zip: String,
    /// ISO country code, lower case.
    pub country: String,
    /// Telephone.
    pub telephone: String,
    /// Organization contact.
    pub contact: Contact,
    /// Its registration, which EV certificates name.
    pub registration: Registration,
}

/// How a legal entity is registered: what EV certificates name besides its name and address
/// (EV Guidelines 7.1.4.2.3 to 7.1.4.2.5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Registration {
    /// Registration (incorporation) number, the subject's serialNumber; empty when none is
    /// recorded, and then the organization cannot order EV certificates.
    pub number: String,
    /// `Private Organization`, `Government Entity`, `Business Entity` or `Non-Commercial Entity`
    /// (empty: `Private Organization`).
    pub business_category: String,
    /// Country of the registering jurisdiction, two letters (empty: the organization's country).
    pub jurisdiction_country: String,
}

/// Business categories of the EV Guidelines (7.1.4.2.3).
pub const BUSINESS_CATEGORIES: [&str; 4] =
    ["Private Organization", "Government Entity", "Business Entity", "Non-Commercial Entity"];

impl Registration {
    /// The business category, defaulted.
    pub fn business_category(&self) -> &str {
        if self.business_category.is_empty() { BUSINESS_CATEGORIES[0] } else { &self.business_category }
    }
}

/// An organization as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Id.
    pub id: Id,
    /// Legal name.
    pub name: String,
    /// DBA name.
    pub assumed_name: String,
    /// City.
    pub city: String,
    /// State or province.
    pub state: String,
    /// ISO country code, lower case.
    pub country: String,
    /// Organization contact.
    pub contact: Contact,
    /// Its registration, which EV certificates name.
    pub registration: Registration,
}

impl Organization {
    /// The jurisdiction EV certificates name: the registration's, else the organization's country.
    pub fn jurisdiction_country(&self) -> &str {
        if self.registration.jurisdiction_country.is_empty() {
            &self.country
        } else {
            &self.registration.jurisdiction_country
        }
    }

    /// `name (assumed_name)`, or just the name without a DBA.
    pub fn display_name(&self) -> String {
        if self.assumed_name.is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, self.assumed_name)
        }
    }
}

/// A new user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Owning account.
    pub account_id: Id,
    /// Container the user belongs to; their keys see its subtree.
    pub container_id: Id,
    /// Login name.
    pub username: String,
    /// Contact details.
    pub contact: Contact,
    /// Access role.
    pub access_role: AccessRole,
}

/// A user as shown on orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: Id,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// E-mail address.
    pub email: String,
}

/// A new API key; only the hash of the key is stored.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// The user the key acts as.
    pub user_id: Id,
    /// Human name of the key.
    pub name: String,
    /// Role.
    pub role: ApiKeyRole,
    /// [`crate::credentials::hash_api_key`] of the key.
    pub key_hash: Vec<u8>,
}

/// An account (tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Id.
    pub id: Id,
    /// Name.
    pub name: String,
    /// Creation time.
    pub created_at: time::OffsetDateTime,
}

/// A container and its place in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerNode {
    /// The container.
    pub container: Container,
    /// Its parent (none for the account's root).
    pub parent_id: Option<Id>,
    /// Description.
    pub description: String,
}

/// A user as the user endpoints show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Name and e-mail.
    pub user: User,
    /// Login name.
    pub username: String,
    /// Container.
    pub container: Container,
    /// Access role.
    pub access_role: AccessRole,
    /// Job title.
    pub job_title: String,
    /// Telephone.
    pub telephone: String,
}

/// A domain an account controls (or claims, until validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// Id.
    pub id: Id,
    /// Name (lower case).
    pub name: String,
    /// Container.
    pub container_id: Id,
    /// Organization.
    pub organization_id: Option<Id>,
    /// How control is (to be) shown.
    pub dcv_method: crate::dcv::DcvMethod,
    /// The random value to show, for methods that use one.
    pub dcv_token: Option<crate::dcv::DcvToken>,
    /// Creation time.
    pub date_created: time::OffsetDateTime,
    /// When control was last validated (whether that still counts: [`Domain::status`]).
    pub validated_at: Option<time::OffsetDateTime>,
}

impl Domain {
    /// Where the domain's validation stands at `now`.
    pub fn status(&self, now: time::OffsetDateTime) -> crate::dcv::DomainStatus {
        crate::dcv::status(self.validated_at, now)
    }
}
