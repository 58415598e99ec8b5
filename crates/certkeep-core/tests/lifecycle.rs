//! The lifecycle's rules, stated directly: each test runs the operations over a real store
//! (SQLite in a temporary directory, or PostgreSQL when `CERTKEEP_TEST_POSTGRES_URL` names a
//! server) and signs with a real CA.

use std::sync::Arc;

use certkeep_ca::{CertificateAuthority, KeyAlgorithm};
use certkeep_core::{
    AccessRole, CertificateKind, CertificateStatus, Contact, Id, NewUser, OrderQuery, OrderRef, OrderStatus,
    Product, RequestStatus, Scope, Store, Validity,
    audit::AuditQuery,
    dcv::DcvMethod,
    lifecycle::{
        Actor, CertificateRef, CertificateRequest, DomainPolicy, Lifecycle, LifecycleError, OrderRequest,
        RevokeTarget, VerifiedCsr, vouch_domain,
    },
    policy::{IssuanceSettings, TestNames},
    refusal::{Object, Refusal},
};
use certkeep_server::{Authority, PkiUrls};
use time::{OffsetDateTime, macros::datetime};

const NOW: OffsetDateTime = datetime!(2026-06-01 0:00 UTC);
const DV: &str = "ssl_dv_geotrust";

/// A store with one tenant whose operator vouched for `example.com`, and a CA.
struct World {
    store: Arc<dyn Store>,
    authority: Authority,
    account: Id,
    root: Id,
    admin: Actor,
    _dir: tempfile::TempDir,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = CertificateAuthority::create(
            &dir.path().join("ca"),
            KeyAlgorithm::EcdsaP256,
            "Test",
            datetime!(2020-01-01 0:00 UTC),
        )
        .unwrap();
        let authority = Authority::new(ca, PkiUrls::under("http://ca.test"));
        let store = certkeep_store::open(&certkeep_store::scratch_database_url(dir.path()).unwrap()).unwrap();
        let (account, root, user_id) = tenant(&*store, "Acme");
        vouch_domain(&*store, NOW, TestNames::Allowed, account, "example.com", "test").unwrap();
        let admin = Actor {
            user_id,
            api_key_id: None,
            api_key: None,
            may_skip_approval: true,
            source: "192.0.2.1".into(),
        };
        World { store, authority, account, root, admin, _dir: dir }
    }

    fn lifecycle(&self) -> Lifecycle<'_> {
        Lifecycle {
            store: &*self.store,
            issuer: &self.authority,
            now: NOW,
            domains: DomainPolicy::Validated,
            issuance: IssuanceSettings { test_names: TestNames::Allowed, ..Default::default() },
        }
    }

    fn scope(&self) -> Scope {
        Scope { account_id: self.account, containers: None }
    }

    /// A one-year DV order for `name`, issued at once when `skip_approval`.
    fn order(&self, name: &str, skip_approval: bool) -> OrderRequest {
        OrderRequest {
            skip_approval,
            ..OrderRequest::automated(Product::find(DV).unwrap(), self.root, (name.into(), vec![]), csr(name))
        }
    }

    /// Places `req` as the administrator, which must succeed.
    fn place(&self, req: &OrderRequest) -> certkeep_core::lifecycle::Placed {
        self.lifecycle().place_order(&self.scope(), &self.admin, req).unwrap()
    }

    fn order_status(&self, order_id: Id) -> OrderStatus {
        self.store.find_order(&self.scope(), &OrderRef::Id(order_id)).unwrap().unwrap().summary.status
    }

    fn order_count(&self) -> u64 {
        self.store.list_orders(&self.scope(), &OrderQuery::default(), NOW).unwrap().total
    }

    /// The tenant's audit log, newest first, as (action, refused).
    fn audit_log(&self) -> Vec<(String, bool)> {
        let page = self
            .store
            .audit_events(Some(self.account), &AuditQuery { limit: 100, ..Default::default() })
            .unwrap();
        page.records.into_iter().map(|r| (r.event.action, r.event.refused)).collect()
    }
}

/// A new account with its root container and an administrator.
fn tenant(store: &dyn Store, name: &str) -> (Id, Id, Id) {
    let (account, root) = store.create_account(name, NOW).unwrap();
    let user = NewUser {
        account_id: account,
        container_id: root,
        username: format!("admin@{name}"),
        contact: Contact::default(),
        access_role: AccessRole::Administrator,
    };
    (account, root, store.create_user(&user, NOW).unwrap())
}

/// A CSR for `name` and its key size, as a front door hands it on.
fn csr(name: &str) -> VerifiedCsr {
    let (_, pem) = certkeep_ca::generate_csr(KeyAlgorithm::EcdsaP256, name, &[]).unwrap();
    let key = certkeep_ca::parse_csr(&pem).unwrap().public_key;
    VerifiedCsr { pem, key_size: key.key_size(), spki_der: Some(key.spki_der().to_vec()) }
}

/// A duplicate or reissue for `name` alone, issued at once when the actor may skip approval.
fn certificate_request(name: &str) -> CertificateRequest {
    CertificateRequest {
        common_name: Some(name.into()),
        dns_names: None,
        csr: csr(name),
        server_platform_id: None,
        skip_approval: true,
        comments: None,
        client_auth: false,
    }
}

/// The typed refusal of a result that must be one.
fn refusal<T: std::fmt::Debug>(result: Result<T, LifecycleError>) -> Refusal {
    match result {
        Err(LifecycleError::Refused(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn an_order_covered_by_a_validated_parent_domain_is_issued_at_once_when_approval_may_be_skipped() {
    let w = World::new();
    let placed = w.place(&w.order("shop.example.com", true));
    assert_eq!(placed.request_status, RequestStatus::Approved);
    let der = placed.issued.expect("issued at once");
    let (cert, stored_der) =
        w.store.find_certificate(&w.scope(), &CertificateRef::Id(placed.certificate_id)).unwrap().unwrap();
    assert_eq!(cert.status, CertificateStatus::Issued);
    assert_eq!(stored_der.as_deref(), Some(&der[..]));
    assert_eq!(w.order_status(placed.order_id), OrderStatus::Issued);
    assert_eq!(w.audit_log()[0], ("order.create".to_owned(), false));
}

#[test]
fn an_order_for_a_name_no_validated_domain_covers_is_refused_writes_a_refused_event_and_changes_nothing() {
    let w = World::new();
    let result = w.lifecycle().place_order(&w.scope(), &w.admin, &w.order("shop.example.net", true));
    assert_eq!(refusal(result), Refusal::DomainNotValidated("shop.example.net".into()));
    assert_eq!(w.order_count(), 0);
    // Only the refusal joins the operator's vouching in the log.
    let log = w.audit_log();
    assert_eq!(log, [("order.create".to_owned(), true), ("domain.vouch".to_owned(), false)]);
}

#[test]
fn an_order_whose_validity_exceeds_the_products_longest_plan_is_refused_validity_too_long() {
    let w = World::new();
    let max_days = Product::find(DV).unwrap().max_plan_days;
    let req = OrderRequest { validity: Validity::Days(max_days + 1), ..w.order("shop.example.com", true) };
    let result = w.lifecycle().place_order(&w.scope(), &w.admin, &req);
    assert_eq!(refusal(result), Refusal::ValidityTooLong { product: DV, max_days });
    assert_eq!(w.order_count(), 0);
    // The longest plan itself is accepted.
    w.place(&OrderRequest { validity: Validity::Days(max_days), ..req });
}

#[test]
fn an_ov_order_without_an_organization_is_refused_organization_required() {
    let w = World::new();
    let req =
        OrderRequest { product: Product::find("ssl_plus").unwrap(), ..w.order("shop.example.com", true) };
    let result = w.lifecycle().place_order(&w.scope(), &w.admin, &req);
    assert_eq!(refusal(result), Refusal::OrganizationRequired { product: "ssl_plus" });
}

#[test]
fn an_actor_who_may_not_skip_approval_leaves_the_order_waiting_for_approval() {
    let w = World::new();
    let requester = Actor { may_skip_approval: false, ..w.admin.clone() };
    let placed =
        w.lifecycle().place_order(&w.scope(), &requester, &w.order("shop.example.com", true)).unwrap();
    assert_eq!(placed.request_status, RequestStatus::Pending);
    assert_eq!(placed.issued, None);
    assert_eq!(w.order_status(placed.order_id), OrderStatus::NeedsApproval);
}

#[test]
fn approving_a_request_issues_the_order_and_approving_it_again_is_refused() {
    let w = World::new();
    let placed = w.place(&w.order("shop.example.com", false));
    let lifecycle = w.lifecycle();
    lifecycle.decide_request(&w.scope(), &w.admin, placed.request_id, true, None).unwrap();
    assert_eq!(w.order_status(placed.order_id), OrderStatus::Issued);
    let again = lifecycle.decide_request(&w.scope(), &w.admin, placed.request_id, false, None);
    assert_eq!(
        refusal(again),
        Refusal::RequestAlreadyProcessed { id: placed.request_id, status: RequestStatus::Approved }
    );
    assert_eq!(w.order_status(placed.order_id), OrderStatus::Issued);
}

#[test]
fn rejecting_a_new_orders_request_rejects_the_order() {
    let w = World::new();
    let placed = w.place(&w.order("shop.example.com", false));
    w.lifecycle().decide_request(&w.scope(), &w.admin, placed.request_id, false, Some("no")).unwrap();
    assert_eq!(w.order_status(placed.order_id), OrderStatus::Rejected);
}

#[test]
fn a_pending_order_can_be_canceled_and_an_issued_one_cannot() {
    let w = World::new();
    let lifecycle = w.lifecycle();
    let pending = w.place(&w.order("shop.example.com", false));
    lifecycle.cancel(&w.scope(), &w.admin, pending.order_id, None).unwrap();
    assert_eq!(w.order_status(pending.order_id), OrderStatus::Canceled);
    let issued = w.place(&w.order("www.example.com", true));
    let result = lifecycle.cancel(&w.scope(), &w.admin, issued.order_id, None);
    assert_eq!(refusal(result), Refusal::OrderNotCancelable(OrderStatus::Issued));
    assert_eq!(w.order_status(issued.order_id), OrderStatus::Issued);
}

#[test]
fn a_duplicate_for_a_name_not_on_the_order_is_refused_name_not_on_order() {
    let w = World::new();
    let placed = w.place(&w.order("shop.example.com", true));
    let req = certificate_request("www.example.com");
    let lifecycle = w.lifecycle();
    let result =
        lifecycle.add_certificate(&w.scope(), &w.admin, placed.order_id, CertificateKind::Duplicate, &req);
    assert_eq!(refusal(result), Refusal::NameNotOnOrder("www.example.com".into()));
    // A reissue may change the names (they are checked against the validated domains instead).
    let (_, _, der) = lifecycle
        .add_certificate(&w.scope(), &w.admin, placed.order_id, CertificateKind::Reissue, &req)
        .unwrap();
    assert!(der.is_some());
}

#[test]
fn a_reissue_for_a_name_no_validated_domain_covers_is_refused_domain_not_validated() {
    let w = World::new();
    let placed = w.place(&w.order("shop.example.com", true));
    let req = certificate_request("shop.example.org");
    let result =
        w.lifecycle().add_certificate(&w.scope(), &w.admin, placed.order_id, CertificateKind::Reissue, &req);
    assert_eq!(refusal(result), Refusal::DomainNotValidated("shop.example.org".into()));
    assert_eq!(w.order_status(placed.order_id), OrderStatus::Issued);
}

#[test]
fn revoking_a_certificate_twice_is_refused() {
    let w = World::new();
    let placed = w.place(&w.order("shop.example.com", true));
    let target = RevokeTarget::Certificate(CertificateRef::Id(placed.certificate_id));
    let lifecycle = w.lifecycle();
    assert_eq!(lifecycle.revoke(&w.scope(), &w.admin, &target, "keyCompromise", None, true).unwrap(), None);
    assert_eq!(w.order_status(placed.order_id), OrderStatus::Revoked);
    let again = lifecycle.revoke(&w.scope(), &w.admin, &target, "keyCompromise", None, true);
    assert_eq!(
        refusal(again),
        Refusal::CertificateNotIssued { id: placed.certificate_id, status: CertificateStatus::Revoked }
    );
    let log = w.audit_log();
    assert_eq!(log[0], ("certificate.revoke".to_owned(), true));
    assert_eq!(log[1], ("certificate.revoke".to_owned(), false));
}

#[test]
fn a_tenants_order_is_not_found_for_another_tenant() {
    let w = World::new();
    let placed = w.place(&w.order("shop.example.com", true));
    let (other_account, _, other_user) = tenant(&*w.store, "Other");
    let other = Scope { account_id: other_account, containers: None };
    let outsider = Actor { user_id: other_user, ..w.admin.clone() };
    let lifecycle = w.lifecycle();
    let cancel = lifecycle.cancel(&other, &outsider, placed.order_id, None);
    assert!(matches!(cancel, Err(LifecycleError::NotFound(Object::Order))), "{cancel:?}");
    let target = RevokeTarget::Certificate(CertificateRef::Id(placed.certificate_id));
    let revoke = lifecycle.revoke(&other, &outsider, &target, "unspecified", None, true);
    assert!(matches!(revoke, Err(LifecycleError::NotFound(Object::Certificate))), "{revoke:?}");
    let approve = lifecycle.decide_request(&other, &outsider, placed.request_id, true, None);
    assert!(matches!(approve, Err(LifecycleError::NotFound(Object::Request))), "{approve:?}");
    assert_eq!(w.order_status(placed.order_id), OrderStatus::Issued);
}

#[test]
fn only_administrators_register_domains_and_nobody_registers_one_as_vouched_for() {
    let w = World::new();
    let lifecycle = w.lifecycle();
    let user = Actor { may_skip_approval: false, ..w.admin.clone() };
    let by_user =
        lifecycle.add_domain(&w.scope(), &user, "example.org", w.root, None, DcvMethod::DnsTxtToken);
    assert_eq!(refusal(by_user), Refusal::AdministratorsOnly("register domains"));
    let vouched =
        lifecycle.add_domain(&w.scope(), &w.admin, "example.org", w.root, None, DcvMethod::Operator);
    assert_eq!(refusal(vouched), Refusal::OperatorOnlyDcv);
    let domain = lifecycle
        .add_domain(&w.scope(), &w.admin, "example.org", w.root, None, DcvMethod::DnsTxtToken)
        .unwrap();
    assert_eq!(domain.validated_at, None);
    // Registered is not validated: names under it are still refused.
    let result = lifecycle.place_order(&w.scope(), &w.admin, &w.order("shop.example.org", true));
    assert_eq!(refusal(result), Refusal::DomainNotValidated("shop.example.org".into()));
}
