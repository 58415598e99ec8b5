//! The demo inventory: containers, organizations, users and a few thousand orders across
//! products and statuses, with duplicates, reissues, renewals, expired and revoked orders.
//! Every certificate is really issued by the instance's CA from a real CSR.
//!
//! The same generator fills benchmark inventories of a million orders (`certkeep generate`):
//! orders are planned in sequence from a seeded generator (so an inventory is the same for a
//! seed, but for the CA's random serial numbers), their CSRs are made and their certificates
//! issued on every core, and batches are written in one transaction each, by a writer thread
//! that runs alongside the issuance of the next batch.

use std::{
    io::{IsTerminal, Write},
    sync::mpsc,
    time::Instant,
};

use certkeep_ca::{CertificateAuthority, CsrKey, KeyAlgorithm, LeafRequest, SubjectOrganization, Validation};
use certkeep_core::{
    AccessRole, CertificateKind, CertificateStatus, Contact, Id, IssuedFacts, NewCertificate, NewContainer,
    NewOrder, NewOrganization, NewRequest, NewUser, OrderStatus, Organization, Origin, PRODUCTS, Product,
    Registration, RequestStatus, RequestType, Store, Validity,
    credentials::hex_upper,
    partner::{AcmeContract, encode_hmac_key, new_eab_credential, seal_hmac_key},
    seal::SealingKey,
};
use time::{Duration, OffsetDateTime};

use certkeep_server::{PkiUrls, ca_validation, subject_organization};

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
    /// Index in the organizations.
    org: Option<usize>,
    validation: Validation,
    user_id: Id,
}

/// RSA keys take tens of milliseconds to generate: the few RSA demo certificates share these
/// keys (as reissues with an unchanged key do); every ECDSA certificate gets a fresh key.
const RSA_KEYS: usize = 4;

/// The cryptographic work a planned certificate still needs.
struct Pending {
    /// `None` for a fresh P-256 key, else an index in the shared RSA keys.
    rsa_key: Option<usize>,
    /// (notBefore, notAfter) when the certificate is issued; `None` leaves it a request.
    validity: Option<(OffsetDateTime, OffsetDateTime)>,
    org: Option<usize>,
    validation: Validation,
}

/// An order whose certificates are not made yet.
struct PlannedOrder {
    order: NewOrder,
    /// One per certificate of the order.
    pending: Vec<Pending>,
    /// Index (in generation order) of the earlier order this one renews.
    renews: Option<usize>,
}

/// An order ready to insert, but for the id of the order it renews.
struct ReadyOrder {
    order: NewOrder,
    renews: Option<usize>,
}

struct Org {
    id: Id,
    subject: SubjectOrganization,
}

/// Plans orders: every random choice, in sequence; the CSRs and certificates come later.
struct Generator {
    /// Products this tenant can order (DV only without organizations).
    products: Vec<&'static Product>,
    rng: Rng,
    account_id: Id,
    now: OffsetDateTime,
    signature_hash: &'static str,
}

impl Generator {
    fn new(
        ca: &CertificateAuthority,
        account_id: Id,
        now: OffsetDateTime,
        seed: u64,
        with_orgs: bool,
    ) -> Self {
        let products = PRODUCTS.iter().filter(|p| with_orgs || !p.validation.needs_organization()).collect();
        Self { products, rng: Rng(seed), account_id, now, signature_hash: ca.signature_hash() }
    }

    /// A certificate without its CSR and issuance, and what they need.
    fn certificate(
        &mut self,
        kind: CertificateKind,
        status: CertificateStatus,
        subject: &Subject,
        created: OffsetDateTime,
        lifetime: Duration,
    ) -> (NewCertificate, Pending) {
        let rsa_key = self.rng.chance(2).then(|| self.rng.below(RSA_KEYS as u64) as usize);
        let validity = matches!(status, CertificateStatus::Issued | CertificateStatus::Revoked).then(|| {
            let not_before = created + Duration::minutes(5);
            (not_before, not_before + lifetime)
        });
        let certificate = NewCertificate {
            kind,
            status,
            common_name: subject.common_name.to_owned(),
            dns_names: subject.dns_names.to_vec(),
            csr: String::new(),
            server_platform_id: *self.rng.pick(&[-1, 2, 45, 45, 14]),
            signature_hash: self.signature_hash.to_owned(),
            key_size: 0,
            date_created: created,
            issued: None,
            archived: false,
            user_id: subject.user_id,
            client_auth: false,
        };
        (certificate, Pending { rsa_key, validity, org: subject.org, validation: subject.validation })
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
        renewable: &mut Vec<Renewable>,
        created: OffsetDateTime,
        n: usize,
    ) -> PlannedOrder {
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
            Some(r) => r.product,
            None => *self.rng.pick(&self.products),
        };
        let (cn, dns) = match &renewal {
            Some(r) => (r.common_name.clone(), r.dns_names.clone()),
            None => self.names(product),
        };
        let place = self.rng.pick(places);
        let org = product.validation.needs_organization().then(|| self.rng.below(orgs.len() as u64) as usize);
        // Public certificates were as long as the rules allowed when they were ordered.
        let lifetime = if product.is_public() {
            Duration::days(certkeep_core::policy::max_certificate_days(created).into())
        } else {
            Duration::days(2 * 365)
        };
        let cert_status = match status {
            OrderStatus::Issued | OrderStatus::WaitingPickup | OrderStatus::ReissuePending => {
                CertificateStatus::Issued
            }
            OrderStatus::Revoked => CertificateStatus::Revoked,
            OrderStatus::Rejected => CertificateStatus::Rejected,
            _ => CertificateStatus::Pending,
        };
        let user = place.user_id;
        let subject = Subject {
            common_name: &cn,
            dns_names: &dns,
            org,
            validation: ca_validation(product.validation, product.is_public()),
            user_id: user,
        };
        let mut pending = Vec::new();
        let (primary, p) =
            self.certificate(CertificateKind::Primary, cert_status, &subject, created, lifetime);
        let mut certificates = vec![primary];
        pending.push(p);
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
                    let (mut dup, p) = self.certificate(
                        CertificateKind::Duplicate,
                        CertificateStatus::Issued,
                        &subject,
                        at,
                        lifetime - Duration::days(10 + 5 * d as i64),
                    );
                    dup.archived = self.rng.chance(25);
                    certificates.push(dup);
                    pending.push(p);
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
            let (reissue, p) =
                self.certificate(CertificateKind::Reissue, rs, &subject, at, lifetime - Duration::days(30));
            certificates.push(reissue);
            pending.push(p);
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
        let renews = renewal.map(|r| r.index);
        let order = NewOrder {
            account_id: self.account_id,
            container_id: place.container_id,
            organization_id: org.map(|i| orgs[i].id),
            user_id: user,
            product_name_id: product.name_id.to_owned(),
            status,
            common_name: cn,
            dns_names: dns.clone(),
            email: place.email.clone(),
            signature_hash: self.signature_hash.to_owned(),
            validity: Validity::Years(if product.is_public() { 1 } else { 2 }),
            date_created: created,
            // Set when the renewed order's id is known, just before insertion.
            renewed_order_id: None,
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
        };
        PlannedOrder { order, pending, renews }
    }
}

/// An issued order old enough to have been renewed, by its index in generation order.
struct Renewable {
    index: usize,
    common_name: String,
    dns_names: Vec<String>,
    product: &'static Product,
}

/// Makes the CSRs of a planned order and issues its certificates.
fn complete(
    planned: PlannedOrder,
    (ca, urls): (&CertificateAuthority, &PkiUrls),
    orgs: &[Org],
    rsa_keys: &[CsrKey],
) -> Result<ReadyOrder, String> {
    let PlannedOrder { mut order, pending, renews } = planned;
    for (cert, p) in order.certificates.iter_mut().zip(pending) {
        let fresh;
        let key = match p.rsa_key {
            Some(i) => &rsa_keys[i],
            None => {
                fresh = CsrKey::generate(KeyAlgorithm::EcdsaP256).map_err(|e| e.to_string())?;
                &fresh
            }
        };
        let csr_pem = key.csr(&cert.common_name, &cert.dns_names).map_err(|e| e.to_string())?;
        let csr = certkeep_ca::parse_csr(&csr_pem).map_err(|e| e.to_string())?;
        if let Some((not_before, not_after)) = p.validity {
            let issued = ca
                .issue(&LeafRequest {
                    public_key: &csr.public_key,
                    common_name: &cert.common_name,
                    dns_names: &cert.dns_names,
                    organization: p.org.map(|i| &orgs[i].subject),
                    validation: p.validation,
                    client_auth: false,
                    not_before,
                    not_after,
                    crl_url: Some(&urls.crl),
                    ocsp_url: Some(&urls.ocsp),
                    ca_issuers_url: Some(&urls.ca_issuers),
                })
                .map_err(|e| e.to_string())?;
            cert.issued = Some(IssuedFacts {
                serial_number: issued.serial_number,
                thumbprint: issued.thumbprint,
                valid_from: issued.not_before,
                valid_till: issued.not_after,
                date_issued: not_before,
                der: issued.der,
            });
        }
        cert.key_size = csr.public_key.key_size();
        cert.csr = csr.pem;
    }
    Ok(ReadyOrder { order, renews })
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

/// The seed of the demo inventory when none is given.
pub const DEFAULT_SEED: u64 = 0x5EED_CE27;

/// Fills the admin's account with `order_count` orders planned from `seed` and adds a
/// second, small tenant. `progress` shows how far the main account is.
pub fn populate(
    store: &dyn Store,
    (ca, urls): (&CertificateAuthority, &PkiUrls),
    admin: &Admin,
    now: OffsetDateTime,
    order_count: usize,
    seed: u64,
    mut progress: Option<Progress>,
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
    for (name, dba, city, state, country, number) in [
        ("Epigyne Unwieldiness llc", "Epigyne Unwieldiness", "Minneapolis", "Minnesota", "us", "4471120"),
        ("Contoso Ltd", "", "Seattle", "Washington", "us", "602155478"),
        ("Fabrikam Inc", "Fabrikam", "Austin", "Texas", "us", "801234567"),
        ("Northwind Traders GmbH", "Northwind", "Berlin", "Berlin", "de", "HRB 123456"),
    ] {
        let new = NewOrganization {
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
            registration: Registration { number: number.into(), ..Default::default() },
        };
        let id = store.create_organization(&new).map_err(err)?;
        let stored = Organization {
            id,
            name: new.name,
            assumed_name: new.assumed_name,
            city: new.city,
            state: new.state,
            country: new.country,
            contact: new.contact,
            registration: new.registration,
        };
        orgs.push(Org { id, subject: subject_organization(&stored, &[]) });
    }
    let custom_fields = vec![
        store.create_custom_field(account, "Invoice #").map_err(err)?,
        store.create_custom_field(account, "Cost center").map_err(err)?,
    ];

    let rsa_keys = (0..RSA_KEYS)
        .map(|_| CsrKey::generate(KeyAlgorithm::Rsa2048))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let inventory = Inventory {
        store,
        ca,
        urls,
        rsa_keys: &rsa_keys,
        places: &places,
        orgs: &orgs,
        custom_fields: &custom_fields,
    };
    let mut generator = Generator::new(ca, account, now, seed, true);
    insert(&mut generator, &inventory, order_count, &mut progress)?;

    // A second tenant, to show (and test) that keys never see across accounts.
    let other = crate::setup::create_account(store, "Other Tenant Inc", "admin@other.example", now)?;
    let places = [Place {
        container_id: other.root_container_id,
        user_id: other.user_id,
        email: "admin@other.example".into(),
    }];
    let inventory = Inventory { places: &places, orgs: &[], custom_fields: &[], ..inventory };
    let mut generator = Generator::new(ca, other.account_id, now, 0x07E4, false);
    insert(&mut generator, &inventory, 20, &mut None)
}

/// Orders per write transaction.
const BATCH: usize = 5000;

/// What [`insert`] shares with its worker threads.
struct Inventory<'a> {
    store: &'a dyn Store,
    ca: &'a CertificateAuthority,
    urls: &'a PkiUrls,
    rsa_keys: &'a [CsrKey],
    places: &'a [Place],
    orgs: &'a [Org],
    custom_fields: &'a [Id],
}

/// Plans `count` orders batch by batch, issues each batch's certificates on every core, and
/// hands the batch to a writer thread that inserts it while the next batch is issued.
fn insert(
    generator: &mut Generator,
    inv: &Inventory,
    count: usize,
    progress: &mut Option<Progress>,
) -> Result<(), String> {
    let now = generator.now;
    // Creation times spread over three years, oldest first so that ids follow dates.
    let mut times: Vec<OffsetDateTime> = (0..count)
        .map(|_| now - Duration::seconds(60 + generator.rng.below(3 * 365 * 86_400) as i64))
        .collect();
    times.sort();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        let (to_writer, batches) = mpsc::sync_channel::<Vec<ReadyOrder>>(1);
        let writer = scope.spawn(move || -> Result<(), String> {
            // Ids of every order written so far, by generation index: renewals point back.
            let mut ids: Vec<Id> = Vec::with_capacity(count);
            for batch in batches {
                let orders: Vec<NewOrder> = batch
                    .into_iter()
                    .map(|r| NewOrder { renewed_order_id: r.renews.map(|i| ids[i]), ..r.order })
                    .collect();
                ids.extend(inv.store.insert_orders(&orders).map_err(|e| e.to_string())?);
                if let Some(p) = progress.as_mut() {
                    p.show(ids.len(), count);
                }
            }
            Ok(())
        });
        // Renewals pick from orders of earlier batches only, whose ids the writer knows by then.
        let mut renewable = Vec::new();
        let mut generated = Ok(());
        for (b, batch) in times.chunks(BATCH).enumerate() {
            let planned: Vec<PlannedOrder> = batch
                .iter()
                .enumerate()
                .map(|(i, created)| {
                    let n = b * BATCH + i;
                    generator.order(inv.places, inv.orgs, inv.custom_fields, &mut renewable, *created, n)
                })
                .collect();
            for (i, p) in planned.iter().enumerate() {
                let o = &p.order;
                if o.status == OrderStatus::Issued && o.date_created < now - Duration::days(300) {
                    renewable.push(Renewable {
                        index: b * BATCH + i,
                        common_name: o.common_name.clone(),
                        dns_names: o.dns_names.clone(),
                        product: Product::find(&o.product_name_id).expect("catalog product"),
                    });
                }
            }
            match issue_all(planned, inv, threads) {
                Ok(ready) => {
                    // A closed channel means the writer failed: its error is reported below.
                    if to_writer.send(ready).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    generated = Err(e);
                    break;
                }
            }
        }
        drop(to_writer);
        let written = writer.join().map_err(|_| "the writer thread panicked".to_owned())?;
        generated.and(written)
    })
}

/// Completes planned orders on `threads` threads, keeping their order.
fn issue_all(planned: Vec<PlannedOrder>, inv: &Inventory, threads: usize) -> Result<Vec<ReadyOrder>, String> {
    let per_thread = planned.len().div_ceil(threads.max(1)).max(1);
    let mut planned = planned.into_iter();
    std::thread::scope(|scope| {
        let workers: Vec<_> = std::iter::from_fn(|| {
            let chunk: Vec<PlannedOrder> = planned.by_ref().take(per_thread).collect();
            (!chunk.is_empty()).then_some(chunk)
        })
        .map(|chunk| {
            scope.spawn(move || -> Result<Vec<ReadyOrder>, String> {
                chunk.into_iter().map(|p| complete(p, (inv.ca, inv.urls), inv.orgs, inv.rsa_keys)).collect()
            })
        })
        .collect();
        let mut ready = Vec::new();
        for worker in workers {
            ready.extend(worker.join().map_err(|_| "an issuing thread panicked".to_owned())??);
        }
        Ok(ready)
    })
}

/// A progress line on stderr: rewritten in place on a terminal, else one line per tenth.
pub struct Progress {
    started: Instant,
    terminal: bool,
    last_tenth: usize,
}

impl Progress {
    /// Starts the clock.
    pub fn start() -> Self {
        Self { started: Instant::now(), terminal: std::io::stderr().is_terminal(), last_tenth: 0 }
    }

    fn show(&mut self, done: usize, total: usize) {
        let tenth = done * 10 / total.max(1);
        if !self.terminal && tenth == self.last_tenth && done < total {
            return;
        }
        self.last_tenth = tenth;
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = done as f64 / elapsed.max(1e-3);
        let left = (total - done) as f64 / rate.max(1e-3);
        let line = format!(
            "orders: {done}/{total} ({:.0}%), {rate:.0}/s, {elapsed:.0} s elapsed, ~{left:.0} s left",
            100.0 * done as f64 / total.max(1) as f64
        );
        let mut err = std::io::stderr().lock();
        let _ = if self.terminal { write!(err, "\r{line}\x1b[K") } else { writeln!(err, "{line}") };
        if self.terminal && done == total {
            let _ = writeln!(err);
        }
    }
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
    sealing_key: &SealingKey,
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
    let (eab_kid, hmac) = new_eab_credential();
    let sealed = seal_hmac_key(sealing_key, &eab_kid, &hmac);
    let (contract_id, _) = store.create_contract(&contract, &eab_kid, &sealed, now).map_err(err)?;
    Ok(PartnerDemo { parent_key, subaccount_key, contract_id, eab_kid, eab_hmac: encode_hmac_key(&hmac) })
}

/// The demo's console sign-ins, in clear (printed in the banner, kept in the data directory).
pub struct ConsoleDemo {
    /// The administrator's user name (full access, the whole account).
    pub admin_username: String,
    /// Their password.
    pub admin_password: String,
    /// A view-only user at the account's root: sees every order, changes nothing.
    pub viewer_username: String,
    /// Their password.
    pub viewer_password: String,
}

/// Gives the demo administrator a console password and adds a view-only user with one.
pub fn console_logins(store: &dyn Store, admin: &Admin, now: OffsetDateTime) -> Result<ConsoleDemo, String> {
    let err = |e: certkeep_core::StoreError| e.to_string();
    let password = || certkeep_core::credentials::generate_api_key()[..20].to_owned();
    let viewer_username = "viewer@example.com".to_owned();
    let viewer = store
        .create_user(
            &NewUser {
                account_id: admin.account_id,
                container_id: admin.root_container_id,
                username: viewer_username.clone(),
                contact: contact("Vera", "Viewer", &viewer_username, "Auditor"),
                access_role: AccessRole::StandardUser,
            },
            now,
        )
        .map_err(err)?;
    let (admin_password, viewer_password) = (password(), password());
    let set = crate::setup::set_console_password;
    set(store, admin.user_id, &admin_password, certkeep_core::ApiKeyRole::Inherit, now)?;
    set(store, viewer, &viewer_password, certkeep_core::ApiKeyRole::ViewOnly, now)?;
    Ok(ConsoleDemo {
        admin_username: "admin@example.com".into(),
        admin_password,
        viewer_username,
        viewer_password,
    })
}
