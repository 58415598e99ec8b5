//! The demo inventory: containers, organizations, users and a few thousand orders across
//! products and statuses, with duplicates, reissues, renewals, expired and revoked orders.
//! Every certificate is really issued by the instance's CA from a real CSR.

use certkeep_ca::{CertificateAuthority, KeyAlgorithm, LeafRequest, SubjectOrganization, Validation};
use certkeep_core::{
    AccessRole, CertificateKind, CertificateStatus, Contact, Id, IssuedFacts, NewCertificate, NewContainer,
    NewOrder, NewOrganization, NewRequest, NewUser, OrderStatus, Origin, PRODUCTS, Product, RequestStatus,
    RequestType, Store, ValidationType, Validity,
    credentials::hex_upper,
    partner::{AcmeContract, encode_hmac_key, new_eab_credential},
};
use time::{Duration, OffsetDateTime};

use certkeep_server::PkiUrls;

use crate::setup::Admin;

/// A small deterministic generator (SplitMix64): the demo is the same on every start.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const SUBDOMAINS: &[&str] =
    &["www", "api", "mail", "shop", "portal", "vpn", "cdn", "app", "auth", "status", "intranet"];
const BRANDS: &[&str] = &[
    "example",
    "contoso",
    "fabrikam",
    "northwind",
    "tailspin",
    "wingtip",
    "adatum",
    "litware",
    "proseware",
    "woodgrove",
];
const TLDS: &[&str] = &["com", "net", "org", "io"];

/// (status, weight in percent)
const STATUSES: &[(OrderStatus, u64)] = &[
    (OrderStatus::Issued, 70),
    (OrderStatus::Pending, 7),
    (OrderStatus::NeedsApproval, 5),
    (OrderStatus::Revoked, 4),
    (OrderStatus::Rejected, 4),
    (OrderStatus::Canceled, 3),
    (OrderStatus::WaitingPickup, 2),
    (OrderStatus::ReissuePending, 5),
];

struct Place {
    container_id: Id,
    user_id: Id,
    email: String,
}

/// What every certificate of one order shares.
struct Subject<'a> {
    common_name: &'a str,
    dns_names: &'a [String],
    org: Option<&'a Org>,
    validation: ValidationType,
    user_id: Id,
}

struct Org {
    id: Id,
    subject: SubjectOrganization,
}

/// Builds orders and issues their certificates.
struct Generator<'a> {
    ca: &'a CertificateAuthority,
    urls: &'a PkiUrls,
    /// Products this tenant can order (DV only without organizations).
    products: Vec<&'static Product>,
    rng: Rng,
    account_id: Id,
    now: OffsetDateTime,
}

impl<'a> Generator<'a> {
    fn new(
        (ca, urls): (&'a CertificateAuthority, &'a PkiUrls),
        account_id: Id,
        now: OffsetDateTime,
        seed: u64,
        with_orgs: bool,
    ) -> Self {
        let products = PRODUCTS.iter().filter(|p| with_orgs || !p.validation.needs_organization()).collect();
        Self { ca, urls, products, rng: Rng(seed), account_id, now }
    }

    fn issue(
        &mut self,
        kind: CertificateKind,
        status: CertificateStatus,
        subject: &Subject,
        created: OffsetDateTime,
        lifetime: Duration,
    ) -> Result<NewCertificate, String> {
        let (cn, dns, org, validation, user_id) =
            (subject.common_name, subject.dns_names, subject.org, subject.validation, subject.user_id);
        let alg = if self.rng.chance(2) { KeyAlgorithm::Rsa2048 } else { KeyAlgorithm::EcdsaP256 };
        let (_key, csr_pem) = certkeep_ca::generate_csr(alg, cn, dns).map_err(|e| e.to_string())?;
        let csr = certkeep_ca::parse_csr(&csr_pem).map_err(|e| e.to_string())?;
        let issued = if matches!(status, CertificateStatus::Issued | CertificateStatus::Revoked) {
            let not_before = created + Duration::minutes(5);
            let cert = self
                .ca
                .issue(&LeafRequest {
                    public_key: &csr.public_key,
                    common_name: cn,
                    dns_names: dns,
                    organization: org.map(|o| &o.subject),
                    validation: match validation {
                        ValidationType::Dv => Validation::Dv,
                        ValidationType::Ov => Validation::Ov,
                        ValidationType::Ev => Validation::Ev,
                    },
                    not_before,
                    not_after: not_before + lifetime,
                    crl_url: Some(&self.urls.crl),
                    ocsp_url: Some(&self.urls.ocsp),
                    ca_issuers_url: Some(&self.urls.ca_issuers),
                })
                .map_err(|e| e.to_string())?;
            Some(IssuedFacts {
                serial_number: cert.serial_number,
                thumbprint: cert.thumbprint,
                valid_from: cert.not_before,
                valid_till: cert.not_after,
                date_issued: not_before,
                der: cert.der,
            })
        } else {
            None
        };
        Ok(NewCertificate {
            kind,
            status,
            common_name: cn.to_owned(),
            dns_names: dns.to_vec(),
            csr: csr.pem,
            server_platform_id: *self.rng.pick(&[-1, 2, 45, 45, 14]),
            signature_hash: self.ca.signature_hash().to_owned(),
            key_size: csr.public_key.key_size(),
            date_created: created,
            issued,
            archived: false,
            user_id,
        })
    }

    fn names(&mut self, product: &Product) -> (String, Vec<String>) {
        let brand = self.rng.pick(BRANDS);
        let tld = self.rng.pick(TLDS);
        let domain = format!("{brand}{}.{tld}", self.rng.below(400));
        let cn = if product.allows_wildcard && product.name_id.contains("wildcard") {
            format!("*.{domain}")
        } else {
            format!("{}.{domain}", self.rng.pick(SUBDOMAINS))
        };
        let extra = self.rng.below(u64::from(product.max_dns_names.min(4)) + 1) as usize;
        let mut dns = Vec::new();
        for sub in SUBDOMAINS {
            if dns.len() >= extra {
                break;
            }
            let name = format!("{sub}.{domain}");
            if name != cn {
                dns.push(name);
            }
        }
        (cn, dns)
    }

    fn order(
        &mut self,
        places: &[Place],
        orgs: &[Org],
        custom_fields: &[Id],
        renewable: &mut Vec<(Id, String, Vec<String>, &'static Product)>,
        created: OffsetDateTime,
        n: usize,
    ) -> Result<NewOrder, String> {
        let roll = self.rng.below(100);
        let mut acc = 0;
        let status = STATUSES
            .iter()
            .find(|(_, w)| {
                acc += w;
                roll < acc
            })
            .map_or(OrderStatus::Issued, |(s, _)| *s);
        // Some orders renew an earlier one, with the same names and product.
        let renewal = if self.rng.chance(8) && !renewable.is_empty() {
            Some(renewable.swap_remove(self.rng.below(renewable.len() as u64) as usize))
        } else {
            None
        };
        let product = match &renewal {
            Some((_, _, _, p)) => *p,
            None => *self.rng.pick(&self.products),
        };
        let (cn, dns) = match &renewal {
            Some((_, cn, dns, _)) => (cn.clone(), dns.clone()),
            None => self.names(product),
        };
        let place = self.rng.pick(places);
        let org = product.validation.needs_organization().then(|| self.rng.pick(orgs));
        let years = if product.name_id.starts_with("private") { 2 } else { 1 };
        let lifetime = Duration::days(365 * years);
        let cert_status = match status {
            OrderStatus::Issued | OrderStatus::WaitingPickup | OrderStatus::ReissuePending => {
                CertificateStatus::Issued
            }
            OrderStatus::Revoked => CertificateStatus::Revoked,
            OrderStatus::Rejected => CertificateStatus::Rejected,
            _ => CertificateStatus::Pending,
        };
        let user = place.user_id;
        let subject =
            Subject { common_name: &cn, dns_names: &dns, org, validation: product.validation, user_id: user };
        let mut certificates =
            vec![self.issue(CertificateKind::Primary, cert_status, &subject, created, lifetime)?];
        let mut requests = vec![NewRequest {
            date: created,
            request_type: RequestType::NewRequest,
            status: match cert_status {
                CertificateStatus::Issued | CertificateStatus::Revoked => RequestStatus::Approved,
                CertificateStatus::Rejected => RequestStatus::Rejected,
                _ if status == OrderStatus::Pending => RequestStatus::Approved,
                _ => RequestStatus::Pending,
            },
            comments: self.rng.chance(30).then(|| format!("Certificate for ticket OPS-{}", 1000 + n)),
            user_id: user,
        }];
        let issued = cert_status == CertificateStatus::Issued;
        if issued && status == OrderStatus::Issued && self.rng.chance(10) {
            for d in 0..=self.rng.below(3) {
                let at = created + Duration::days(10 + 5 * d as i64);
                if at < self.now {
                    let mut dup = self.issue(
                        CertificateKind::Duplicate,
                        CertificateStatus::Issued,
                        &subject,
                        at,
                        lifetime - Duration::days(10 + 5 * d as i64),
                    )?;
                    dup.archived = self.rng.chance(25);
                    certificates.push(dup);
                    requests.push(NewRequest {
                        date: at,
                        request_type: RequestType::Duplicate,
                        status: RequestStatus::Approved,
                        comments: None,
                        user_id: user,
                    });
                }
            }
        }
        let reissue_status = match status {
            OrderStatus::ReissuePending => Some(CertificateStatus::Pending),
            OrderStatus::Issued if self.rng.chance(7) => Some(CertificateStatus::Issued),
            _ => None,
        };
        if let Some(rs) = reissue_status {
            let at = (created + Duration::days(30)).min(self.now - Duration::hours(1));
            certificates.push(self.issue(
                CertificateKind::Reissue,
                rs,
                &subject,
                at,
                lifetime - Duration::days(30),
            )?);
            requests.push(NewRequest {
                date: at,
                request_type: RequestType::Reissue,
                status: if rs == CertificateStatus::Issued {
                    RequestStatus::Approved
                } else {
                    RequestStatus::Pending
                },
                comments: Some("Key rotation".into()),
                user_id: user,
            });
        }
        if status == OrderStatus::Revoked {
            requests.push(NewRequest {
                date: created + Duration::days(20),
                request_type: RequestType::Revoke,
                status: RequestStatus::Approved,
                comments: Some("Key compromise suspected".into()),
                user_id: user,
            });
        }
        let custom = if self.rng.chance(30) && !custom_fields.is_empty() {
            vec![(*self.rng.pick(custom_fields), format!("{}", 100_000 + self.rng.below(900_000)))]
        } else {
            vec![]
        };
        Ok(NewOrder {
            account_id: self.account_id,
            container_id: place.container_id,
            organization_id: org.map(|o| o.id),
            user_id: user,
            product_name_id: product.name_id.to_owned(),
            status,
            common_name: cn,
            dns_names: dns.clone(),
            email: place.email.clone(),
            signature_hash: self.ca.signature_hash().to_owned(),
            validity: Validity::Years(years as u32),
            date_created: created,
            renewed_order_id: renewal.map(|(id, ..)| id),
            disable_renewal_notifications: self.rng.chance(10),
            auto_renew: self.rng.chance(15),
            auto_reissue: false,
            disable_issuance_email: false,
            disable_ct: product.name_id.starts_with("private"),
            payment_method: "balance".into(),
            origin: if self.rng.chance(5) { Origin::Migrated } else { Origin::CertCentral },
            api_key: self.rng.chance(40).then(|| ("admin".to_owned(), "api_key".to_owned())),
            alternative_order_id: self.rng.chance(10).then(|| format!("PO-{}", 20_000 + n)),
            organization_units: Vec::new(),
            purchased_dns_names: dns.len() as u32,
            custom_fields: custom,
            public_id: hex_upper(&self.rng.next().to_be_bytes()),
            acme_contract_id: None,
            certificates,
            requests,
        })
    }
}

fn contact(first: &str, last: &str, email: &str, title: &str) -> Contact {
    Contact {
        first_name: first.into(),
        last_name: last.into(),
        email: email.into(),
        job_title: title.into(),
        telephone: "666-186-6450".into(),
        telephone_extension: String::new(),
    }
}

/// Fills the admin's account with `order_count` orders and adds a second, small tenant.
pub fn populate(
    store: &dyn Store,
    ca: &CertificateAuthority,
    urls: &PkiUrls,
    admin: &Admin,
    now: OffsetDateTime,
    order_count: usize,
) -> Result<(), String> {
    let err = |e: certkeep_core::StoreError| e.to_string();
    let account = admin.account_id;
    let root = admin.root_container_id;
    let container = |parent: Id, name: &str| {
        store.create_container(&NewContainer {
            account_id: account,
            parent_id: Some(parent),
            name: name.into(),
            description: format!("{name} certificates"),
        })
    };
    let engineering = container(root, "Engineering").map_err(err)?;
    let platform = container(engineering, "Platform").map_err(err)?;
    let marketing = container(root, "Marketing").map_err(err)?;
    let history = container(root, "History Department").map_err(err)?;

    let mut places =
        vec![Place { container_id: root, user_id: admin.user_id, email: "admin@example.com".into() }];
    for (container_id, first, last, email) in [
        (engineering, "John", "Smith", "john.smith@example.com"),
        (platform, "Jill", "Valentine", "jill.valentine@example.com"),
        (marketing, "Jan", "Sport", "jan.sport@example.com"),
        (history, "Gia", "Booth", "gia.booth@example.com"),
    ] {
        let user_id = store
            .create_user(
                &NewUser {
                    account_id: account,
                    container_id,
                    username: email.into(),
                    contact: contact(first, last, email, "Engineer"),
                    access_role: AccessRole::StandardUser,
                },
                now,
            )
            .map_err(err)?;
        places.push(Place { container_id, user_id, email: email.into() });
    }

    let mut orgs = Vec::new();
    for (name, dba, city, state, country) in [
        ("Epigyne Unwieldiness llc", "Epigyne Unwieldiness", "Minneapolis", "Minnesota", "us"),
        ("Contoso Ltd", "", "Seattle", "Washington", "us"),
        ("Fabrikam Inc", "Fabrikam", "Austin", "Texas", "us"),
        ("Northwind Traders GmbH", "Northwind", "Berlin", "Berlin", "de"),
    ] {
        let id = store
            .create_organization(&NewOrganization {
                account_id: account,
                container_id: root,
                name: name.into(),
                assumed_name: dba.into(),
                address: "1 Main Street".into(),
                city: city.into(),
                state: state.into(),
                zip: "55401".into(),
                country: country.into(),
                telephone: "666-186-6450".into(),
                contact: contact("Gia", "Booth", "gia.booth@inbox.com", "Clinical Laboratory Technician"),
            })
            .map_err(err)?;
        let subject = SubjectOrganization {
            name: name.into(),
            locality: city.into(),
            state: state.into(),
            country: country.into(),
            units: Vec::new(),
        };
        orgs.push(Org { id, subject });
    }
    let custom_fields = vec![
        store.create_custom_field(account, "Invoice #").map_err(err)?,
        store.create_custom_field(account, "Cost center").map_err(err)?,
    ];

    let mut generator = Generator::new((ca, urls), account, now, 0x5EED_CE27, true);
    insert(&mut generator, store, &places, &orgs, &custom_fields, order_count)?;

    // A second tenant, to show (and test) that keys never see across accounts.
    let other = crate::setup::create_account(store, "Other Tenant Inc", "admin@other.example", now)?;
    let places = [Place {
        container_id: other.root_container_id,
        user_id: other.user_id,
        email: "admin@other.example".into(),
    }];
    let mut generator = Generator::new((ca, urls), other.account_id, now, 0x07E4, false);
    insert(&mut generator, store, &places, &[], &[], 20)
}

fn insert(
    generator: &mut Generator,
    store: &dyn Store,
    places: &[Place],
    orgs: &[Org],
    custom_fields: &[Id],
    count: usize,
) -> Result<(), String> {
    let now = generator.now;
    // Creation times spread over three years, oldest first so that ids follow dates.
    let mut times: Vec<OffsetDateTime> = (0..count)
        .map(|_| now - Duration::seconds(60 + generator.rng.below(3 * 365 * 86_400) as i64))
        .collect();
    times.sort();
    let mut renewable = Vec::new();
    for (batch_start, batch) in times.chunks(250).enumerate() {
        let mut orders = Vec::with_capacity(batch.len());
        for (i, created) in batch.iter().enumerate() {
            let n = batch_start * 250 + i;
            orders.push(generator.order(places, orgs, custom_fields, &mut renewable, *created, n)?);
        }
        let ids = store.insert_orders(&orders).map_err(|e| e.to_string())?;
        for (id, order) in ids.into_iter().zip(&orders) {
            if order.status == OrderStatus::Issued && order.date_created < now - Duration::days(300) {
                let product = Product::find(&order.product_name_id).expect("catalog product");
                renewable.push((id, order.common_name.clone(), order.dns_names.clone(), product));
            }
        }
    }
    Ok(())
}

/// What a partner tool needs to use the demo: the parent and subaccount Partner API keys and
/// an ACME contract with its EAB credential.
pub struct PartnerDemo {
    /// The demo account's Partner API key (parent: subaccounts, reporting).
    pub parent_key: String,
    /// The subaccount's Partner API key (ACME contracts).
    pub subaccount_key: String,
    /// The subaccount's ACME contract.
    pub contract_id: Id,
    /// EAB key id of the contract.
    pub eab_kid: String,
    /// EAB HMAC key (base64url).
    pub eab_hmac: String,
}

/// Makes the demo account a partner parent with one subaccount holding a DV ACME contract.
pub fn populate_partner(
    store: &dyn Store,
    admin: &Admin,
    now: OffsetDateTime,
) -> Result<PartnerDemo, String> {
    let err = |e: certkeep_core::StoreError| e.to_string();
    let key = |account: Id| -> Result<String, String> {
        let key = certkeep_core::credentials::generate_api_key();
        store
            .create_partner_key(account, &certkeep_core::credentials::hash_api_key(&key), now)
            .map_err(err)?;
        Ok(key)
    };
    let parent_key = key(admin.account_id)?;
    let sub =
        crate::setup::create_account(store, "Example Reseller Customer", "admin@customer.example", now)?;
    store.link_subaccount(admin.account_id, sub.account_id).map_err(err)?;
    let subaccount_key = key(sub.account_id)?;
    let sans = ["example.com", "www.example.com", "demo.test", "www.demo.test"].map(String::from).to_vec();
    let contract = AcmeContract {
        id: 0,
        account_id: sub.account_id,
        container_id: sub.root_container_id,
        user_id: sub.user_id,
        product_name_id: "ssl_dv_geotrust".into(),
        sans,
        organization_id: None,
        auto_renew: true,
        created_at: now,
        valid_till: now + Duration::days(365),
        date_canceled: None,
    };
    let contract_id = store.create_contract(&contract).map_err(err)?;
    let (eab_kid, hmac) = new_eab_credential();
    store.create_eab(contract_id, &eab_kid, &hmac, now).map_err(err)?;
    Ok(PartnerDemo { parent_key, subaccount_key, contract_id, eab_kid, eab_hmac: encode_hmac_key(&hmac) })
}
