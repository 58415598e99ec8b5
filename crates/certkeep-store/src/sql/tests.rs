//! The store's rules, on SQLite and (with `CERTKEEP_TEST_POSTGRES_URL`) on PostgreSQL.

use certkeep_core::{
    AccessRole, ApiKeyRole, ConsoleLogin, ConsoleStore, Contact, Id, InventoryStore, NcpStore, NewApiKey,
    NewConsoleSession, NewContainer, NewUser, OperationsStore, PartnerStore, Scope,
    lifecycle::{Actor, AuditEvent, LifecycleError},
    ncp::NcpAcmeAccount,
    partner::AcmeContract,
    refusal::Refusal,
    store::Attempt,
};
use time::{OffsetDateTime, macros::datetime};

use super::db::params;
use super::*;

const NOW: OffsetDateTime = datetime!(2026-06-01 0:00 UTC);

/// Runs each named test on a fresh SQLite store and, when CERTKEEP_TEST_POSTGRES_URL names
/// a server, on a fresh PostgreSQL database.
macro_rules! on_both_engines {
    ($($name:ident),*) => {
        mod on_sqlite {$(
            #[test]
            fn $name() {
                let dir = tempfile::tempdir().unwrap();
                super::$name(&crate::SqliteStore::open(&dir.path().join("t.db")).unwrap());
            }
        )*}
        mod on_postgres {$(
            #[test]
            fn $name() {
                if let Some(store) = crate::postgres::scratch_store() {
                    super::$name(&store);
                }
            }
        )*}
    };
}

on_both_engines!(
    copy_covers_every_table,
    copy_moves_every_row_and_refuses_a_full_target,
    audit_events_are_append_only,
    a_failed_transaction_leaves_nothing_behind,
    a_domain_keeps_its_dcv_state_and_counts_only_for_its_account,
    a_panicking_transaction_leaves_nothing_behind,
    request_counts_slide_and_spare_other_callers,
    container_scopes_cover_the_subtree,
    refused_writes_are_logged_and_read_back_per_account_newest_first,
    eab_keys_stored_in_clear_by_older_versions_are_sealed_once,
    an_ncp_acme_account_is_created_whole_or_not_at_all,
    every_sealed_value_is_resealed_in_one_transaction_or_none_is,
    console_sessions_expire_and_end_at_sign_out_or_a_new_password,
    a_webhook_event_is_leased_to_one_claimant_at_a_time_until_delivered,
    an_email_notice_is_queued_once_and_leased_to_one_claimant_at_a_time,
    acme_steps_run_an_issuance_each_in_one_transaction
);

/// An account with an administrator, and a contract for it (not yet stored: `id` 0).
fn account_with_contract<E: Engine>(store: &SqlStore<E>) -> (Id, AcmeContract) {
    let (account, root) = store.create_account("a", NOW).unwrap();
    let user = NewUser {
        account_id: account,
        container_id: root,
        username: "u".into(),
        contact: Contact::default(),
        access_role: AccessRole::Administrator,
    };
    let user_id = store.create_user(&user, NOW).unwrap();
    let contract = AcmeContract {
        id: 0,
        account_id: account,
        container_id: root,
        user_id,
        product_name_id: "ssl_dv_geotrust".into(),
        sans: vec!["example.com".into()],
        organization_id: None,
        auto_renew: false,
        created_at: NOW,
        valid_till: NOW,
        date_canceled: None,
    };
    (account, contract)
}

fn an_ncp_acme_account_is_created_whole_or_not_at_all<E: Engine>(store: &SqlStore<E>) {
    let (account, contract) = account_with_contract(store);
    let ncp = NcpAcmeAccount {
        contract_id: 0,
        account_id: account,
        alias: "one".into(),
        validation_mode: "DNS01".into(),
        validity_days: 90,
    };
    let id = store.create_ncp_acme_account(&contract, "kid", b"sealed", &ncp, NOW).unwrap();
    let (credential, bound) = store.find_eab("kid").unwrap().unwrap();
    assert_eq!((credential.sealed_hmac_key.as_slice(), bound.id), (&b"sealed"[..], id));
    assert_eq!(
        store.ncp_acme_accounts(account).unwrap(),
        [NcpAcmeAccount { contract_id: id, ..ncp.clone() }]
    );
    // The credential fails (its key id is taken): no contract or NCP record is left behind.
    let again = NcpAcmeAccount { alias: "two".into(), ..ncp };
    assert!(store.create_ncp_acme_account(&contract, "kid", b"other", &again, NOW).is_err());
    assert_eq!(store.contracts(account).unwrap().len(), 1);
    assert_eq!(store.ncp_acme_accounts(account).unwrap().len(), 1);
    // The same for a Partner contract and its first credential.
    assert!(store.create_contract(&contract, "kid", b"other", NOW).is_err());
    assert_eq!(store.contracts(account).unwrap().len(), 1);
}

fn every_sealed_value_is_resealed_in_one_transaction_or_none_is<E: Engine>(store: &SqlStore<E>) {
    use certkeep_core::{ncp::NewNcpKey, seal::SealedSecret};
    let (account, _) = store.create_account("a", NOW).unwrap();
    for (access_key, sealed) in [("AK1", b"one".to_vec()), ("AK2", b"two".to_vec())] {
        let key = NewNcpKey { account_id: account, access_key: access_key.into(), sealed_secret: sealed };
        store.create_ncp_key(&key, NOW).unwrap().unwrap();
    }
    let sealed = |access_key: &str| store.find_ncp_key(access_key).unwrap().unwrap().sealed_secret;
    let bound = |secret: SealedSecret<'_>| match secret {
        SealedSecret::NcpSecretKey { access_key, sealed } => {
            Some([sealed, b"@", access_key.as_bytes()].concat())
        }
        _ => None,
    };
    assert_eq!(store.reseal_secrets(&bound).unwrap(), 2);
    assert_eq!((sealed("AK1"), sealed("AK2")), (b"one@AK1".to_vec(), b"two@AK2".to_vec()));
    // A webhook's secret is resealed with the rest, bound to its account.
    let hook = certkeep_core::webhook::NewWebhook {
        account_id: account,
        endpoint: "https://hooks.example.com/".into(),
        sealed_secret: b"hook".to_vec(),
        events: vec![],
        settings: Default::default(),
        date_created: NOW,
    };
    let audit = AuditEvent {
        account_id: Some(account),
        user_id: None,
        api_key_id: None,
        action: "webhook.create".into(),
        object: String::new(),
        detail: String::new(),
        source: "test".into(),
        at: NOW,
        refused: false,
    };
    certkeep_core::WebhookStore::create_webhook(store, &hook, &audit).unwrap().unwrap();
    let with_hooks = |secret: SealedSecret<'_>| match secret {
        SealedSecret::WebhookSecret { account_id, sealed } if account_id == account => {
            Some([sealed, b"@hook"].concat())
        }
        SealedSecret::WebhookSecret { .. } => None,
        other => Some(other.sealed().to_vec()),
    };
    assert_eq!(store.reseal_secrets(&with_hooks).unwrap(), 3);
    let resealed = certkeep_core::WebhookStore::webhooks(store, account).unwrap().remove(0).0.sealed_secret;
    assert_eq!(resealed, b"hook@hook".to_vec());
    // One value that does not open: the error names it, and the other is not resealed.
    let refuse_ak2 = |secret: SealedSecret<'_>| match secret {
        SealedSecret::NcpSecretKey { access_key: "AK2", .. } => None,
        other => Some([other.sealed(), b"+"].concat()),
    };
    let error = store.reseal_secrets(&refuse_ak2).unwrap_err().to_string();
    assert!(error.contains("the secret of NCP access key AK2 does not open"), "{error}");
    assert_eq!((sealed("AK1"), sealed("AK2")), (b"one@AK1".to_vec(), b"two@AK2".to_vec()));
}

fn refused_writes_are_logged_and_read_back_per_account_newest_first<E: Engine>(store: &SqlStore<E>) {
    use certkeep_core::audit::AuditQuery;
    let (account, _) = store.create_account("A", NOW).unwrap();
    let event = |account_id, at| AuditEvent {
        account_id,
        user_id: None,
        api_key_id: None,
        action: "auth.refused".into(),
        object: "POST /x".into(),
        detail: "invalid key".into(),
        source: "192.0.2.1".into(),
        at,
        refused: true,
    };
    store.record_audit(&event(Some(account), NOW)).unwrap();
    store.record_audit(&event(None, NOW + time::Duration::hours(1))).unwrap();
    let all = store.audit_events(None, &AuditQuery { limit: 10, ..Default::default() }).unwrap();
    assert_eq!(all.total, 2);
    assert_eq!(all.records[0].event, event(None, NOW + time::Duration::hours(1)), "newest first");
    let mine = store.audit_events(Some(account), &AuditQuery { limit: 10, ..Default::default() }).unwrap();
    assert_eq!((mine.total, mine.records[0].event.clone()), (1, event(Some(account), NOW)));
    let since = AuditQuery { since: Some(NOW + time::Duration::minutes(1)), limit: 10, offset: 0 };
    assert_eq!(store.audit_events(None, &since).unwrap().total, 1);
    let paged = store.audit_events(None, &AuditQuery { limit: 1, offset: 1, since: None }).unwrap();
    assert_eq!((paged.total, paged.records.len(), paged.records[0].id), (2, 1, all.records[1].id));
}

fn eab_keys_stored_in_clear_by_older_versions_are_sealed_once<E: Engine>(store: &SqlStore<E>) {
    let (_, contract) = account_with_contract(store);
    let (contract_id, _) = store.create_contract(&contract, "new", b"sealed-by-caller", NOW).unwrap();
    // A row as the migration leaves those written before sealing: `sealed` defaults to false.
    store
        .run(Mode::Write, |db| {
            db.execute(
                "INSERT INTO eab_credentials (contract_id, kid, hmac_key, active, created_at) \
                 VALUES (?, 'old', ?, TRUE, 0)",
                params![contract_id, vec![1u8, 2]],
            )
        })
        .unwrap();
    let seal = |kid: &str, key: &[u8]| [kid.as_bytes(), b":", key].concat();
    assert_eq!(store.seal_clear_eab_keys(&seal).unwrap(), 1);
    assert_eq!(store.find_eab("old").unwrap().unwrap().0.sealed_hmac_key, b"old:\x01\x02");
    assert_eq!(store.find_eab("new").unwrap().unwrap().0.sealed_hmac_key, b"sealed-by-caller");
    assert_eq!(store.seal_clear_eab_keys(&seal).unwrap(), 0, "sealed once");
}

fn audit_events_are_append_only<E: Engine>(store: &SqlStore<E>) {
    let (account, _) = store.create_account("A", NOW).unwrap();
    let actor =
        Actor { user_id: 1, api_key_id: None, api_key: None, may_skip_approval: false, source: "t".into() };
    store
        .transaction(&mut |tx| {
            tx.insert_audit(&AuditEvent {
                account_id: Some(account),
                user_id: Some(actor.user_id),
                api_key_id: None,
                action: "test".into(),
                object: "order:1".into(),
                detail: String::new(),
                source: actor.source.clone(),
                at: NOW,
                refused: false,
            })
            .map_err(Into::into)
        })
        .unwrap();
    let execute = |sql: &str| store.run(Mode::Read, |db| db.execute(sql, params![]));
    assert!(execute("UPDATE audit_events SET action = 'x'").is_err());
    assert!(execute("DELETE FROM audit_events").is_err());
    let n: i64 = store
        .run(Mode::Read, |db| db.row("SELECT count(*) FROM audit_events", params![], |r| r.get(0)))
        .unwrap();
    assert_eq!(n, 1);
}

fn a_domain_keeps_its_dcv_state_and_counts_only_for_its_account<E: Engine>(store: &SqlStore<E>) {
    use certkeep_core::dcv::{DcvMethod, DcvToken};
    let (a, a_root) = store.create_account("A", NOW).unwrap();
    let (b, b_root) = store.create_account("B", NOW).unwrap();
    let token = DcvToken::generate(NOW);
    let since = NOW - time::Duration::days(1);
    let mut checked = None;
    store
        .transaction(&mut |tx| {
            let new = |account_id, container_id, method, validated_at| certkeep_core::lifecycle::NewDomain {
                account_id,
                container_id,
                organization_id: None,
                name: "example.com".into(),
                dcv_method: method,
                dcv_token: Some(token.clone()),
                at: NOW,
                validated_at,
            };
            let id = tx.insert_domain(&new(a, a_root, DcvMethod::HttpToken, None))?.unwrap();
            assert!(!tx.domain_validated(a, "example.com", since, false)?);
            tx.set_domain_validated(id, DcvMethod::HttpToken, NOW)?;
            // http-token shows control of the exact name only.
            assert!(tx.domain_validated(a, "example.com", since, false)?);
            assert!(!tx.domain_validated(a, "example.com", since, true)?);
            tx.set_domain_dcv(id, DcvMethod::DnsTxtToken, None)?;
            assert!(tx.domain_validated(a, "example.com", since, true)?);
            // Another account registering the same name has its own, pending, domain.
            tx.insert_domain(&new(b, b_root, DcvMethod::DnsTxtToken, None))?.unwrap();
            assert!(!tx.domain_validated(b, "example.com", since, false)?);
            assert!(tx.domain(b, id)?.is_none());
            checked = tx.domain_named(a, "example.com")?;
            Ok(())
        })
        .unwrap();
    let d = checked.unwrap();
    assert_eq!((d.dcv_method, d.dcv_token, d.validated_at), (DcvMethod::DnsTxtToken, None, Some(NOW)));
    let listed = store.list_domains(&Scope { account_id: b, containers: None }).unwrap();
    assert_eq!((listed.len(), listed[0].dcv_token.as_ref()), (1, Some(&token)));
    assert_eq!(listed[0].validated_at, None);
}

/// `example.com`, pending, for the account's root container.
fn pending_domain(account_id: Id, container_id: Id) -> certkeep_core::lifecycle::NewDomain {
    certkeep_core::lifecycle::NewDomain {
        account_id,
        container_id,
        organization_id: None,
        name: "example.com".into(),
        dcv_method: certkeep_core::dcv::DcvMethod::Email,
        dcv_token: None,
        at: NOW,
        validated_at: None,
    }
}

fn a_failed_transaction_leaves_nothing_behind<E: Engine>(store: &SqlStore<E>) {
    let (account, root) = store.create_account("A", NOW).unwrap();
    let result = store.transaction(&mut |tx| {
        tx.insert_domain(&pending_domain(account, root))?;
        Err(LifecycleError::Refused(Refusal::DcvTokenChanged))
    });
    assert!(result.is_err());
    assert!(store.list_domains(&Scope { account_id: account, containers: None }).unwrap().is_empty());
}

fn container_scopes_cover_the_subtree<E: Engine>(store: &SqlStore<E>) {
    let (account, root) = store.create_account("A", NOW).unwrap();
    let child = |parent, name: &str| {
        store
            .create_container(&NewContainer {
                account_id: account,
                parent_id: Some(parent),
                name: name.into(),
                description: String::new(),
            })
            .unwrap()
    };
    let (a, b) = (child(root, "a"), child(root, "b"));
    let a1 = child(a, "a1");
    let user = store
        .create_user(
            &NewUser {
                account_id: account,
                container_id: a,
                username: "u".into(),
                contact: Contact::default(),
                access_role: AccessRole::StandardUser,
            },
            NOW,
        )
        .unwrap();
    store
        .create_api_key(
            &NewApiKey { user_id: user, name: "k".into(), role: ApiKeyRole::Orders, key_hash: vec![7] },
            NOW,
        )
        .unwrap();
    let p = store.authenticate(&[7]).unwrap().unwrap();
    let mut seen = p.scope.containers.clone().unwrap();
    seen.sort();
    assert_eq!(seen, vec![a, a1]);
    assert!(!p.scope.allows_container(b) && !p.scope.allows_container(root));
    assert!(!p.may_skip_approval, "an orders key of a standard user needs approval");
    assert!(store.authenticate(&[8]).unwrap().is_none());
}

fn copy_covers_every_table<E: Engine>(store: &SqlStore<E>) {
    let sql = match store.run(Mode::Read, |db| Ok(db.dialect())).unwrap() {
        db::Dialect::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT LIKE 'orders_search%' AND name <> 'order_counts'"
        }
        db::Dialect::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = current_schema() \
             AND table_name NOT IN ('schema_version', 'order_counts')"
        }
    };
    let mut tables: Vec<String> = store.run(Mode::Read, |db| db.rows(sql, params![], |r| r.get(0))).unwrap();
    tables.sort();
    let mut listed: Vec<String> = copy::TABLES.iter().map(|t| t.to_string()).collect();
    listed.sort();
    assert_eq!(tables, listed, "a table is missing from copy::TABLES");
}

fn copy_moves_every_row_and_refuses_a_full_target<E: Engine>(source: &SqlStore<E>) {
    // A subaccount made before its parent: the copy must not trip over the reference.
    let (child, _) = source.create_account("Child", NOW).unwrap();
    let (parent, root) = source.create_account("Parent", NOW).unwrap();
    source.link_subaccount(parent, child).unwrap();
    let user = source
        .create_user(
            &NewUser {
                account_id: parent,
                container_id: root,
                username: "u".into(),
                contact: Contact::default(),
                access_role: AccessRole::Administrator,
            },
            NOW,
        )
        .unwrap();
    source
        .create_api_key(
            &NewApiKey { user_id: user, name: "k".into(), role: ApiKeyRole::Inherit, key_hash: vec![1, 2] },
            NOW,
        )
        .unwrap();
    assert!(use_nonce(source, "n1"));

    let dir = tempfile::tempdir().unwrap();
    let target = crate::SqliteStore::open(&dir.path().join("copy.db")).unwrap();
    let report = copy::copy(source.engine(), target.engine()).unwrap();
    let rows = |table: &str| report.iter().find(|s| s.table == table).unwrap().rows;
    assert_eq!((rows("accounts"), rows("users"), rows("api_keys"), rows("acme_nonces")), (2, 1, 1, 1));
    assert_eq!(target.subaccounts(parent).unwrap().len(), 1);
    assert!(target.authenticate(&[1, 2]).unwrap().is_some());
    // A nonce used before the copy stays used.
    assert!(!use_nonce(&target, "n1"));
    // New rows get new ids.
    let (next, _) = target.create_account("Next", NOW).unwrap();
    assert!(next > parent);
    let again = copy::copy(source.engine(), target.engine()).unwrap_err();
    assert!(again.to_string().contains("not empty"), "{again}");
}

/// Uses a nonce valid for an hour from [`NOW`], in a transaction of its own.
fn use_nonce(store: &dyn certkeep_core::acme::AcmeStore, nonce: &str) -> bool {
    let expires = NOW + time::Duration::hours(1);
    certkeep_core::acme::transaction(store, |tx| tx.use_nonce(nonce, expires, NOW)).unwrap()
}

fn a_panicking_transaction_leaves_nothing_behind<E: Engine>(store: &SqlStore<E>) {
    let (account, root) = store.create_account("A", NOW).unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.transaction(&mut |tx| {
            tx.insert_domain(&pending_domain(account, root))?;
            panic!("a bug in the middle of a transaction")
        })
    }));
    assert!(panicked.is_err());
    // The connection went back to the pool outside any transaction: work after it commits.
    store.create_account("B", NOW).unwrap();
    let scope = Scope { account_id: account, containers: None };
    for _ in 0..3 {
        assert!(store.list_domains(&scope).unwrap().is_empty());
    }
}

fn request_counts_slide_and_spare_other_callers<E: Engine>(store: &SqlStore<E>) {
    let limits = [(3, 10)];
    let count =
        |caller: &str, secs: i64| store.count_request(caller, &limits, NOW + time::Duration::seconds(secs));
    assert!((0..3).all(|_| count("a", 1).unwrap()));
    assert!(!count("a", 1).unwrap());
    assert!(count("b", 1).unwrap());
    // Halfway through the next window half of the previous window still counts.
    assert!(count("a", 15).unwrap());
    assert!(!count("a", 15).unwrap());
    // Two windows later everything is forgotten.
    assert!((0..3).all(|_| count("a", 40).unwrap()));
}

fn console_sessions_expire_and_end_at_sign_out_or_a_new_password<E: Engine>(store: &SqlStore<E>) {
    let (account, root) = store.create_account("A", NOW).unwrap();
    let team = store
        .create_container(&NewContainer {
            account_id: account,
            parent_id: Some(root),
            name: "team".into(),
            description: String::new(),
        })
        .unwrap();
    let user = store
        .create_user(
            &NewUser {
                account_id: account,
                container_id: team,
                username: "ops".into(),
                contact: Contact::default(),
                access_role: AccessRole::StandardUser,
            },
            NOW,
        )
        .unwrap();
    let login =
        ConsoleLogin { user_id: user, password_hash: "$argon2id$x".into(), role: ApiKeyRole::ViewOnly };
    assert!(!store.set_console_login(&ConsoleLogin { user_id: 999_999, ..login.clone() }, NOW).unwrap());
    assert_eq!(store.console_login("ops").unwrap(), None);
    assert!(store.set_console_login(&login, NOW).unwrap());
    assert_eq!(store.console_login("ops").unwrap(), Some(login.clone()));
    let open = |token: u8| {
        let session = NewConsoleSession {
            token_hash: vec![token],
            user_id: user,
            csrf_token: format!("csrf{token}"),
            created_at: NOW,
            expires_at: NOW + time::Duration::hours(1),
        };
        store.create_console_session(&session).unwrap();
    };
    open(1);
    let s = store.console_session(&[1], NOW).unwrap().unwrap();
    assert_eq!((s.username.as_str(), s.role, s.csrf_token.as_str()), ("ops", ApiKeyRole::ViewOnly, "csrf1"));
    assert_eq!((s.scope.account_id, s.scope.containers), (account, Some(vec![team])), "the user's subtree");
    assert_eq!(store.console_session(&[1], NOW + time::Duration::hours(1)).unwrap(), None, "expired");
    assert_eq!(store.console_session(&[2], NOW).unwrap(), None);
    // Sign-out ends that session only.
    open(2);
    assert!(store.delete_console_session(&[1]).unwrap());
    assert!(!store.delete_console_session(&[1]).unwrap());
    assert_eq!(store.console_session(&[1], NOW).unwrap(), None);
    assert!(store.console_session(&[2], NOW).unwrap().is_some());
    // A new password ends every session of the user.
    let changed = ConsoleLogin { password_hash: "$argon2id$y".into(), role: ApiKeyRole::Inherit, ..login };
    assert!(store.set_console_login(&changed, NOW).unwrap());
    assert_eq!(store.console_session(&[2], NOW).unwrap(), None);
    assert_eq!(store.console_login("ops").unwrap(), Some(changed));
}

fn a_webhook_event_is_leased_to_one_claimant_at_a_time_until_delivered<E: Engine>(store: &SqlStore<E>) {
    use certkeep_core::{WebhookStore, store::DeliveryState, webhook::NewWebhook};
    let (account, _) = store.create_account("a", NOW).unwrap();
    let audit = AuditEvent {
        account_id: Some(account),
        user_id: None,
        api_key_id: None,
        action: "webhook.create".into(),
        object: String::new(),
        detail: String::new(),
        source: "test".into(),
        at: NOW,
        refused: false,
    };
    let new = NewWebhook {
        account_id: account,
        endpoint: "https://hooks.example.com/".into(),
        sealed_secret: b"sealed".to_vec(),
        events: vec!["certificate_issued".into()],
        settings: Default::default(),
        date_created: NOW,
    };
    let id = store.create_webhook(&new, &audit).unwrap().unwrap();
    assert_eq!(store.create_webhook(&new, &audit).unwrap(), None, "one webhook per account");
    store
        .engine()
        .run(Mode::Write, &mut |db| {
            db.execute(
                "INSERT INTO webhook_deliveries (webhook_id, event, order_id, created_at) VALUES (?, 'certificate_issued', 1, 0)",
                params![id],
            )
            .map(drop)
        })
        .unwrap();
    assert!(
        store.claim_deliveries(1_000, 61_000, 10).unwrap().is_empty(),
        "a pending webhook delivers nothing"
    );
    let state = |account| {
        let (total, page) = store.webhook_deliveries(account, 0, 10).unwrap();
        (total, page.iter().map(|d| (d.state(), d.attempts, d.last_error.clone())).collect::<Vec<_>>())
    };
    assert_eq!(state(account), (1, vec![(DeliveryState::Pending, 0, None)]));
    let (elsewhere, _) = store.create_account("b", NOW).unwrap();
    assert_eq!(state(elsewhere), (0, vec![]), "another account's outbox is its own");
    let activate = |w: &mut certkeep_core::webhook::Webhook| {
        w.verified = true;
        w.set_active(true).map(|()| audit.clone())
    };
    store.change_webhook(account, id, &mut { activate }).unwrap().unwrap().unwrap();
    let first = store.claim_deliveries(1_000, 61_000, 10).unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].endpoint.as_str(), first[0].attempts), ("https://hooks.example.com/", 1));
    assert!(store.claim_deliveries(2_000, 62_000, 10).unwrap().is_empty(), "leased until 61 s");
    let again = store.claim_deliveries(61_000, 121_000, 10).unwrap();
    assert_eq!(
        again.iter().map(|d| (d.id, d.attempts)).collect::<Vec<_>>(),
        [(first[0].id, 2)],
        "the lease ran out"
    );
    store
        .record_attempts(&[(first[0].id, Attempt::Failed { error: "503".into(), retry_at_ms: 200_000 })])
        .unwrap();
    assert_eq!(state(account), (1, vec![(DeliveryState::Failed, 2, Some("503".into()))]));
    let (_, page) = store.webhook_deliveries(account, 0, 10).unwrap();
    assert_eq!(page[0].next_attempt, Some(OffsetDateTime::from_unix_timestamp(200).unwrap()));
    assert_eq!(store.webhook_deliveries(account, 1, 10).unwrap(), (1, vec![]), "paged");
    assert!(store.claim_deliveries(150_000, 210_000, 10).unwrap().is_empty(), "not due before its retry");
    assert_eq!(store.webhook_backlog().unwrap(), 1);
    let (_, summary) = store.webhooks(account).unwrap().remove(0);
    assert_eq!((summary.pending, summary.last_error.as_deref()), (1, Some("503")));
    let third = store.claim_deliveries(200_000, 260_000, 10).unwrap();
    store.record_attempts(&[(third[0].id, Attempt::Delivered(NOW))]).unwrap();
    assert!(store.claim_deliveries(400_000, 460_000, 10).unwrap().is_empty(), "delivered once and for all");
    assert_eq!(store.webhook_backlog().unwrap(), 0);
    let (_, page) = store.webhook_deliveries(account, 0, 10).unwrap();
    assert_eq!(
        (page[0].state(), page[0].delivered_at, page[0].next_attempt),
        (DeliveryState::Delivered, Some(NOW), None)
    );
    let (_, summary) = store.webhooks(account).unwrap().remove(0);
    assert_eq!((summary.pending, summary.delivered, summary.last_error), (0, 1, None));
}

/// An issued order of `user_id` for `cn` whose one certificate expires at `valid_till`,
/// with contact `email`.
fn issued_order(
    account_id: Id,
    container_id: Id,
    user_id: Id,
    cn: &str,
    email: &str,
    valid_till: OffsetDateTime,
) -> certkeep_core::NewOrder {
    use certkeep_core::{
        CertificateKind, CertificateStatus, IssuedFacts, NewCertificate, OrderStatus, Origin, Validity,
    };
    certkeep_core::NewOrder {
        account_id,
        container_id,
        organization_id: None,
        user_id,
        product_name_id: "ssl_plus".into(),
        status: OrderStatus::Issued,
        common_name: cn.into(),
        dns_names: vec![cn.into()],
        email: email.into(),
        signature_hash: "sha256".into(),
        validity: Validity::Years(1),
        date_created: NOW,
        renewed_order_id: None,
        disable_renewal_notifications: false,
        auto_renew: false,
        auto_reissue: false,
        disable_ct: false,
        disable_issuance_email: false,
        payment_method: "balance".into(),
        origin: Origin::CertCentral,
        api_key: None,
        alternative_order_id: None,
        organization_units: vec![],
        purchased_dns_names: 1,
        custom_fields: vec![],
        public_id: format!("pub-{cn}"),
        acme_contract_id: None,
        certificates: vec![NewCertificate {
            kind: CertificateKind::Primary,
            status: CertificateStatus::Issued,
            common_name: cn.into(),
            dns_names: vec![cn.into()],
            csr: String::new(),
            server_platform_id: -1,
            signature_hash: "sha256".into(),
            key_size: 256,
            date_created: NOW,
            issued: Some(IssuedFacts {
                serial_number: format!("serial-{cn}"),
                thumbprint: format!("thumb-{cn}"),
                valid_from: NOW,
                valid_till,
                date_issued: NOW,
                der: vec![0x30],
            }),
            archived: false,
            user_id,
            client_auth: false,
        }],
        requests: vec![],
    }
}

fn an_email_notice_is_queued_once_and_leased_to_one_claimant_at_a_time<E: Engine>(store: &SqlStore<E>) {
    use certkeep_core::NoticeStore;
    let (account, root) = store.create_account("a", NOW).unwrap();
    let user = |name: &str, email: &str| NewUser {
        account_id: account,
        container_id: root,
        username: name.into(),
        contact: Contact { email: email.into(), ..Contact::default() },
        access_role: AccessRole::Administrator,
    };
    let placer = store.create_user(&user("placer", "placer@a.test"), NOW).unwrap();
    let nobody = store.create_user(&user("nobody", ""), NOW).unwrap();
    let till = NOW + time::Duration::days(40);
    let orders = store
        .insert_orders(&[
            issued_order(account, root, placer, "contact.a.test", "contact@a.test", till),
            issued_order(account, root, placer, "placer.a.test", "", till + time::Duration::hours(1)),
            issued_order(account, root, nobody, "nobody.a.test", "", till),
        ])
        .unwrap();
    let windows = [30, 7];
    assert_eq!(store.queue_email_notices(&windows, NOW).unwrap(), 0, "no certificate in a window yet");
    let in_thirty = NOW + time::Duration::days(10);
    assert_eq!(
        store.queue_email_notices(&windows, in_thirty).unwrap(),
        2,
        "one without any address is skipped"
    );
    assert_eq!(store.queue_email_notices(&windows, in_thirty).unwrap(), 0, "queued once");
    assert_eq!(store.email_backlog().unwrap(), 2);

    let first = store.claim_email_notices(1_000, 121_000, 10).unwrap();
    let got: Vec<(Id, &str, &str, i64, u32)> = first
        .iter()
        .map(|n| (n.order_id, n.recipient.as_str(), n.common_name.as_str(), n.window_days, n.attempts))
        .collect();
    assert_eq!(
        got,
        [
            (orders[0], "contact@a.test", "contact.a.test", 30, 1),
            (orders[1], "placer@a.test", "placer.a.test", 30, 1)
        ],
        "the order's contact, else the user who placed it"
    );
    assert_eq!(
        (first[0].dns_names.as_slice(), first[0].valid_till),
        (&["contact.a.test".to_owned()][..], till)
    );
    assert_eq!(first[0].product_name_id, "ssl_plus");
    assert!(store.claim_email_notices(2_000, 122_000, 10).unwrap().is_empty(), "leased until 121 s");
    let (a, b) = (&first[0], &first[1]);
    store.record_email_attempts(&[((a.certificate_id, a.window_days), Attempt::Delivered(NOW))]).unwrap();
    let taken_over = store.claim_email_notices(121_000, 241_000, 10).unwrap();
    assert_eq!(
        taken_over.iter().map(|n| (n.certificate_id, n.attempts)).collect::<Vec<_>>(),
        [(b.certificate_id, 2)],
        "an unsent notice is taken over when its lease runs out; a sent one is done"
    );
    let failed = Attempt::Failed { error: "relay down".into(), retry_at_ms: 300_000 };
    store.record_email_attempts(&[((b.certificate_id, b.window_days), failed)]).unwrap();
    assert!(store.claim_email_notices(250_000, 370_000, 10).unwrap().is_empty(), "not due before its retry");
    assert_eq!(store.email_backlog().unwrap(), 1);
    let retried = store.claim_email_notices(300_000, 420_000, 10).unwrap();
    assert_eq!(retried.iter().map(|n| n.attempts).collect::<Vec<_>>(), [3]);
    store.record_email_attempts(&[((b.certificate_id, b.window_days), Attempt::Delivered(NOW))]).unwrap();
    assert!(store.claim_email_notices(900_000, 960_000, 10).unwrap().is_empty());
    assert_eq!(store.email_backlog().unwrap(), 0);

    // The next window queues the next notice; the webhook channel's record is its own.
    let in_seven = NOW + time::Duration::days(34);
    assert_eq!(store.queue_email_notices(&windows, in_seven).unwrap(), 2);
    assert_eq!(store.claim_email_notices(1_000_000, 1_120_000, 1).unwrap().len(), 1, "at most the limit");
    assert_eq!(store.email_backlog().unwrap(), 2);
}

/// The ACME protocol steps over this store, each in one transaction as a request runs it: a
/// nonce works once, an order's authorizations carry the challenges their names allow, each
/// validation moves its challenge, authorization and order together, a valid authorization is
/// reused, and a pending one expires when read.
fn acme_steps_run_an_issuance_each_in_one_transaction<E: Engine>(store: &SqlStore<E>) {
    use certkeep_core::acme::{AcmeAccount, AcmeStatus, AcmeStore, rules, steps, transaction};
    let (_, contract) = account_with_contract(store);
    let (contract_id, eab_id) = store.create_contract(&contract, "kid", b"sealed", NOW).unwrap();
    let account = AcmeAccount {
        id: 0,
        thumbprint: "tp".into(),
        jwk: "{}".into(),
        contract_id,
        eab_id,
        status: AcmeStatus::Valid,
        contacts: vec![],
        created_at: NOW,
    };
    let account_id = store.create_acme_account(&account).unwrap();
    let expires = NOW + time::Duration::hours(1);
    let open =
        || transaction(store, |tx| steps::open(tx, Some(("n", expires)), Some(account_id), NOW)).unwrap();
    let first = open();
    assert!(first.nonce_fresh);
    assert_eq!(first.account.map(|a| a.contract_id), Some(contract_id));
    assert!(!open().nonce_fresh, "a nonce works once");

    let names = ["example.com".to_owned(), "*.example.com".to_owned()];
    let order = transaction(store, |tx| steps::new_order(tx, account_id, &names, NOW)).unwrap();
    assert_eq!((order.status, order.authz_ids.len()), (AcmeStatus::Pending, 2));
    assert_eq!(order.expires, NOW + rules::LIFETIME);
    let authzs: Vec<_> = order.authz_ids.iter().map(|id| store.acme_authz(*id).unwrap().unwrap()).collect();
    for a in &authzs {
        let kinds: Vec<&str> = a.challenges.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(kinds, rules::challenge_types(a.wildcard), "{}", a.identifier);
    }
    for (i, authz) in authzs.iter().enumerate() {
        let mut c = authz.challenges[0].clone();
        c.status = rules::validated(true);
        c.validated = Some(NOW);
        let after = transaction(store, |tx| steps::record_validation(tx, &c, authz, NOW)).unwrap().unwrap();
        let expected = if i == 0 { AcmeStatus::Pending } else { AcmeStatus::Ready };
        assert_eq!(after.status, expected);
        assert_eq!(store.acme_order(order.id).unwrap().unwrap().status, expected);
        assert_eq!(store.acme_authz(authz.id).unwrap().unwrap().status, AcmeStatus::Valid);
        assert_eq!(store.acme_challenge(c.id).unwrap().unwrap().validated, Some(NOW));
    }

    // The valid authorization is reused: the next order for the name is ready at once.
    let again = ["example.com".to_owned()];
    let reused = transaction(store, |tx| steps::new_order(tx, account_id, &again, NOW)).unwrap();
    assert_eq!((reused.status, &reused.authz_ids[..]), (AcmeStatus::Ready, &order.authz_ids[..1]));
    // A pending authorization read after its expiry is saved expired, and its order invalid.
    let other = ["www.example.com".to_owned()];
    let pending = transaction(store, |tx| steps::new_order(tx, account_id, &other, NOW)).unwrap();
    let later = NOW + rules::LIFETIME;
    let authz_id = pending.authz_ids[0];
    let read = transaction(store, |tx| steps::authz(tx, account_id, authz_id, later)).unwrap().unwrap();
    assert_eq!(read.status, AcmeStatus::Expired);
    assert_eq!(store.acme_authz(authz_id).unwrap().unwrap().status, AcmeStatus::Expired);
    let expired = transaction(store, |tx| steps::order(tx, account_id, pending.id, later)).unwrap().unwrap();
    assert_eq!(expired.status, AcmeStatus::Invalid);
    // Another account's read changes nothing.
    let stranger =
        transaction(store, |tx| steps::order(tx, account_id + 1, order.id, later)).unwrap().unwrap();
    assert_eq!(stranger.status, AcmeStatus::Ready);
}
