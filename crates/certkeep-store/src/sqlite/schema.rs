//! Schema migrations, applied in order on open and tracked in `PRAGMA user_version`.

use rusqlite::Connection;

/// Each entry moves the schema one version forward. Never edit a released entry: append.
pub const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE containers (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    parent_id INTEGER REFERENCES containers(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    is_active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX containers_parent ON containers(account_id, parent_id);

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    container_id INTEGER NOT NULL REFERENCES containers(id),
    name TEXT NOT NULL,
    assumed_name TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT '',
    zip TEXT NOT NULL DEFAULT '',
    country TEXT NOT NULL DEFAULT '',
    telephone TEXT NOT NULL DEFAULT '',
    contact_first_name TEXT NOT NULL DEFAULT '',
    contact_last_name TEXT NOT NULL DEFAULT '',
    contact_email TEXT NOT NULL DEFAULT '',
    contact_job_title TEXT NOT NULL DEFAULT '',
    contact_telephone TEXT NOT NULL DEFAULT '',
    contact_telephone_extension TEXT NOT NULL DEFAULT ''
);
CREATE INDEX organizations_account ON organizations(account_id, container_id);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    container_id INTEGER NOT NULL REFERENCES containers(id),
    username TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL,
    job_title TEXT NOT NULL DEFAULT '',
    telephone TEXT NOT NULL DEFAULT '',
    access_role INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX users_account ON users(account_id, container_id);

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    key_hash BLOB NOT NULL UNIQUE,
    role INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE custom_fields (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    label TEXT NOT NULL
);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    container_id INTEGER NOT NULL REFERENCES containers(id),
    organization_id INTEGER REFERENCES organizations(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    product_name_id TEXT NOT NULL,
    status TEXT NOT NULL,
    common_name TEXT NOT NULL,
    dns_names TEXT NOT NULL,
    email TEXT NOT NULL,
    signature_hash TEXT NOT NULL,
    validity_kind TEXT NOT NULL,
    validity_value INTEGER NOT NULL,
    date_created INTEGER NOT NULL,
    renewed_order_id INTEGER REFERENCES orders(id),
    is_renewed INTEGER NOT NULL DEFAULT 0,
    disable_renewal_notifications INTEGER NOT NULL DEFAULT 0,
    auto_renew INTEGER NOT NULL DEFAULT 0,
    auto_reissue INTEGER NOT NULL DEFAULT 0,
    disable_issuance_email INTEGER NOT NULL DEFAULT 0,
    disable_ct INTEGER NOT NULL DEFAULT 0,
    payment_method TEXT NOT NULL,
    origin TEXT NOT NULL,
    api_key_name TEXT,
    api_key_type TEXT,
    alternative_order_id TEXT,
    organization_units TEXT NOT NULL DEFAULT '',
    purchased_dns_names INTEGER NOT NULL DEFAULT 0,
    public_id TEXT NOT NULL,
    -- the current certificate, copied here so that every filter and sort has an index
    certificate_id INTEGER,
    serial_number TEXT,
    thumbprint TEXT,
    valid_from INTEGER,
    valid_till INTEGER
);
CREATE INDEX orders_account ON orders(account_id);
CREATE INDEX orders_status ON orders(account_id, status);
CREATE INDEX orders_container ON orders(account_id, container_id);
CREATE INDEX orders_organization ON orders(account_id, organization_id);
CREATE INDEX orders_product ON orders(account_id, product_name_id);
CREATE INDEX orders_valid_till ON orders(account_id, valid_till);
CREATE INDEX orders_user ON orders(account_id, user_id);
CREATE INDEX orders_common_name ON orders(account_id, common_name);
CREATE INDEX orders_email ON orders(account_id, email);
CREATE INDEX orders_date_created ON orders(account_id, date_created);
CREATE INDEX orders_is_renewed ON orders(account_id, is_renewed);
CREATE INDEX orders_renewal_notifications ON orders(account_id, disable_renewal_notifications);
CREATE INDEX orders_origin ON orders(account_id, origin);
CREATE INDEX orders_renewed_order ON orders(renewed_order_id) WHERE renewed_order_id IS NOT NULL;
CREATE INDEX orders_serial ON orders(serial_number) WHERE serial_number IS NOT NULL;
CREATE INDEX orders_thumbprint ON orders(thumbprint) WHERE thumbprint IS NOT NULL;

-- every name of an order (common name and additional names), for filters[domain_name]
CREATE TABLE order_names (
    name TEXT NOT NULL,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    PRIMARY KEY (name, order_id)
) WITHOUT ROWID;

CREATE TABLE order_custom_fields (
    order_id INTEGER NOT NULL REFERENCES orders(id),
    metadata_id INTEGER NOT NULL REFERENCES custom_fields(id),
    value TEXT NOT NULL,
    PRIMARY KEY (order_id, metadata_id)
) WITHOUT ROWID;
CREATE INDEX order_custom_fields_metadata ON order_custom_fields(metadata_id, order_id);

CREATE TABLE certificates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    common_name TEXT NOT NULL,
    dns_names TEXT NOT NULL,
    csr TEXT NOT NULL,
    server_platform_id INTEGER NOT NULL,
    signature_hash TEXT NOT NULL,
    key_size INTEGER NOT NULL,
    date_created INTEGER NOT NULL,
    serial_number TEXT UNIQUE,
    thumbprint TEXT,
    valid_from INTEGER,
    valid_till INTEGER,
    date_issued INTEGER,
    der BLOB,
    archived INTEGER NOT NULL DEFAULT 0,
    user_id INTEGER NOT NULL REFERENCES users(id)
);
CREATE INDEX certificates_order ON certificates(order_id, kind);

CREATE TABLE requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    date INTEGER NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    comments TEXT,
    user_id INTEGER NOT NULL REFERENCES users(id)
);
CREATE INDEX requests_order ON requests(order_id);

-- contains-search on common name and e-mail (filters[search]=%25...)
CREATE VIRTUAL TABLE orders_search USING fts5(
    common_name, email, content='orders', content_rowid='id', tokenize='trigram'
);
CREATE TRIGGER orders_search_insert AFTER INSERT ON orders BEGIN
    INSERT INTO orders_search(rowid, common_name, email) VALUES (new.id, new.common_name, new.email);
END;
CREATE TRIGGER orders_search_update AFTER UPDATE OF common_name, email ON orders BEGIN
    INSERT INTO orders_search(orders_search, rowid, common_name, email)
        VALUES ('delete', old.id, old.common_name, old.email);
    INSERT INTO orders_search(rowid, common_name, email) VALUES (new.id, new.common_name, new.email);
END;
CREATE TRIGGER orders_search_delete AFTER DELETE ON orders BEGIN
    INSERT INTO orders_search(orders_search, rowid, common_name, email)
        VALUES ('delete', old.id, old.common_name, old.email);
END;

-- order and certificate ids start apart so that they are not mistaken for each other
INSERT INTO sqlite_sequence(name, seq) VALUES ('orders', 100000), ('certificates', 500000), ('requests', 1000);
"#,
    r#"
-- the lifecycle: revocation, request decisions, status history, domains, audit
ALTER TABLE certificates ADD COLUMN revoked_at INTEGER;
ALTER TABLE certificates ADD COLUMN revocation_reason TEXT;
CREATE INDEX certificates_revoked ON certificates(revoked_at) WHERE revoked_at IS NOT NULL;
ALTER TABLE requests ADD COLUMN certificate_id INTEGER REFERENCES certificates(id);
ALTER TABLE requests ADD COLUMN revocation_reason TEXT;
ALTER TABLE requests ADD COLUMN processor_id INTEGER REFERENCES users(id);
ALTER TABLE requests ADD COLUMN processor_comment TEXT;
CREATE INDEX requests_account_status ON requests(account_id, status);
ALTER TABLE orders ADD COLUMN status_updated_at INTEGER;
CREATE INDEX orders_status_updated ON orders(account_id, status_updated_at) WHERE status_updated_at IS NOT NULL;

CREATE TABLE domains (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    container_id INTEGER NOT NULL REFERENCES containers(id),
    organization_id INTEGER REFERENCES organizations(id),
    name TEXT NOT NULL,
    dcv_method TEXT NOT NULL,
    date_created INTEGER NOT NULL,
    validated_at INTEGER,
    UNIQUE (account_id, name)
);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    user_id INTEGER,
    api_key_id INTEGER,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    detail TEXT NOT NULL,
    source TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX audit_events_account ON audit_events(account_id, id);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
"#,
    r#"
-- partner subscriptions: subaccounts, partner keys, ACME contracts and their EAB credentials
ALTER TABLE accounts ADD COLUMN parent_account_id INTEGER REFERENCES accounts(id);
CREATE INDEX accounts_parent ON accounts(parent_account_id) WHERE parent_account_id IS NOT NULL;

CREATE TABLE partner_keys (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    key_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE acme_contracts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    container_id INTEGER NOT NULL REFERENCES containers(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    product_name_id TEXT NOT NULL,
    sans TEXT NOT NULL,
    organization_id INTEGER REFERENCES organizations(id),
    auto_renew INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    valid_till INTEGER NOT NULL,
    date_canceled INTEGER
);
CREATE INDEX acme_contracts_account ON acme_contracts(account_id);
INSERT INTO sqlite_sequence(name, seq) VALUES ('acme_contracts', 12000);

CREATE TABLE eab_credentials (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contract_id INTEGER NOT NULL REFERENCES acme_contracts(id),
    kid TEXT NOT NULL UNIQUE,
    hmac_key BLOB NOT NULL,
    active INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX eab_credentials_contract ON eab_credentials(contract_id);
INSERT INTO sqlite_sequence(name, seq) VALUES ('eab_credentials', 4700);

ALTER TABLE orders ADD COLUMN acme_contract_id INTEGER REFERENCES acme_contracts(id);
CREATE INDEX orders_acme_contract ON orders(acme_contract_id) WHERE acme_contract_id IS NOT NULL;
"#,
    r#"
-- NCP access key / secret key pairs; the secret is sealed (AES-256-GCM) under the server key
CREATE TABLE ncp_keys (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    access_key TEXT NOT NULL UNIQUE,
    sealed_secret BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
"#,
    r#"
-- ACME (RFC 8555): nonces, accounts, orders, authorizations, challenges
CREATE TABLE acme_nonces (
    nonce TEXT PRIMARY KEY,
    expires INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX acme_nonces_expires ON acme_nonces(expires);

CREATE TABLE acme_accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    thumbprint TEXT NOT NULL UNIQUE,
    jwk TEXT NOT NULL,
    contract_id INTEGER NOT NULL REFERENCES acme_contracts(id),
    eab_id INTEGER NOT NULL REFERENCES eab_credentials(id),
    status TEXT NOT NULL,
    contacts TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE acme_orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES acme_accounts(id),
    status TEXT NOT NULL,
    expires INTEGER NOT NULL,
    identifiers TEXT NOT NULL,
    error TEXT,
    inventory_order_id INTEGER REFERENCES orders(id),
    certificate_id INTEGER REFERENCES certificates(id),
    certificate_serial TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX acme_orders_account ON acme_orders(account_id);
CREATE UNIQUE INDEX acme_orders_serial ON acme_orders(certificate_serial) WHERE certificate_serial IS NOT NULL;

CREATE TABLE acme_authzs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES acme_orders(id),
    account_id INTEGER NOT NULL REFERENCES acme_accounts(id),
    identifier TEXT NOT NULL,
    wildcard INTEGER NOT NULL,
    status TEXT NOT NULL,
    expires INTEGER NOT NULL
);
CREATE INDEX acme_authzs_order ON acme_authzs(order_id);

CREATE TABLE acme_challenges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    authz_id INTEGER NOT NULL REFERENCES acme_authzs(id),
    kind TEXT NOT NULL,
    token TEXT NOT NULL,
    status TEXT NOT NULL,
    validated INTEGER,
    error TEXT
);
CREATE INDEX acme_challenges_authz ON acme_challenges(authz_id);
"#,
    r#"
-- page.total without counting a million rows: orders per account, container and stored
-- status, kept by triggers. The order list sums these when it filters on nothing else.
CREATE TABLE order_counts (
    account_id INTEGER NOT NULL,
    container_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (account_id, container_id, status)
) WITHOUT ROWID;
INSERT INTO order_counts (account_id, container_id, status, n)
    SELECT account_id, container_id, status, count(*) FROM orders GROUP BY 1, 2, 3;
CREATE TRIGGER order_counts_insert AFTER INSERT ON orders BEGIN
    INSERT INTO order_counts (account_id, container_id, status, n)
        VALUES (new.account_id, new.container_id, new.status, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER order_counts_update AFTER UPDATE OF account_id, container_id, status ON orders BEGIN
    UPDATE order_counts SET n = n - 1
        WHERE account_id = old.account_id AND container_id = old.container_id AND status = old.status;
    INSERT INTO order_counts (account_id, container_id, status, n)
        VALUES (new.account_id, new.container_id, new.status, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER order_counts_delete AFTER DELETE ON orders BEGIN
    UPDATE order_counts SET n = n - 1
        WHERE account_id = old.account_id AND container_id = old.container_id AND status = old.status;
END;
"#,
    r#"
-- ACME authorization reuse: an order lists its authorizations through this table, so a valid
-- authorization of the same account and name can serve later orders (like Boulder).
CREATE TABLE acme_order_authzs (
    order_id INTEGER NOT NULL REFERENCES acme_orders(id),
    authz_id INTEGER NOT NULL REFERENCES acme_authzs(id),
    PRIMARY KEY (order_id, authz_id)
) WITHOUT ROWID;
INSERT INTO acme_order_authzs (order_id, authz_id) SELECT order_id, id FROM acme_authzs;
CREATE INDEX acme_authzs_reuse ON acme_authzs(account_id, identifier, wildcard, status, expires);
"#,
    r#"
-- NCP Certificate Manager: what it keeps per certificate that the inventory does not (name,
-- renewal setting, registered private key sealed under the server key, imported certificates),
-- and its ACME accounts (one ACME contract each)
CREATE TABLE ncp_certificates (
    certificate_id INTEGER PRIMARY KEY REFERENCES certificates(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    name TEXT,
    renewal INTEGER NOT NULL DEFAULT 0,
    sealed_private_key BLOB,
    external INTEGER NOT NULL DEFAULT 0,
    chain_pem TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ncp_certificates_account ON ncp_certificates(account_id);

CREATE TABLE ncp_acme_accounts (
    contract_id INTEGER PRIMARY KEY REFERENCES acme_contracts(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    alias TEXT NOT NULL,
    validation_mode TEXT NOT NULL,
    validity_days INTEGER NOT NULL
);
CREATE INDEX ncp_acme_accounts_account ON ncp_acme_accounts(account_id);
"#,
    r#"
-- request counters for rate limits shared by every process on the database
CREATE TABLE rate_counters (
    caller TEXT NOT NULL,
    window_ms INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (caller, window_ms, window_start)
) WITHOUT ROWID;
"#,
    r#"
-- EAB HMAC keys are sealed (AES-256-GCM under the server key) like NCP secrets. Rows written
-- before hold the key in clear (sealed = 0) until the server seals them at its next start
-- (Store::seal_clear_eab_keys: SQL cannot, the key lives outside the database).
ALTER TABLE eab_credentials ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
"#,
    r#"
-- the audit log also records refused writes: those whose credential named no account have no
-- account (SQLite cannot relax NOT NULL in place: the table is rebuilt, ids and triggers kept)
CREATE TABLE audit_events_v2 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER REFERENCES accounts(id),
    user_id INTEGER,
    api_key_id INTEGER,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    detail TEXT NOT NULL,
    source TEXT NOT NULL,
    at INTEGER NOT NULL,
    refused INTEGER NOT NULL DEFAULT 0
);
INSERT INTO audit_events_v2 (id, account_id, user_id, api_key_id, action, object, detail, source, at)
    SELECT id, account_id, user_id, api_key_id, action, object, detail, source, at FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_v2 RENAME TO audit_events;
CREATE INDEX audit_events_account ON audit_events(account_id, id);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
"#,
    r#"
-- PostgreSQL's migration here ends its order indexes with the id; SQLite's already end with the rowid
SELECT 1;
"#,
    r#"
-- When a challenge's validation started: one left processing longer than a validation can take
-- was cut off by a crash, and is resumed.
ALTER TABLE acme_challenges ADD COLUMN processing_since INTEGER;
CREATE INDEX acme_challenges_processing ON acme_challenges(id) WHERE status = 'processing';
-- An order's names are replaced whenever its current certificate changes: by order, not a scan
-- of every name (PostgreSQL's schema has had this index from the start).
CREATE INDEX order_names_order ON order_names(order_id);
"#,
    r#"
-- A serial is unique per issuer: certkeep's own over all, an imported certificate's per account
-- and issuer (imported_issuer: SHA-256 of its issuer Name), so that no tenant's import depends
-- on another's. SQLite cannot drop a column's UNIQUE in place: the table is rebuilt, its ids,
-- sequence and the references to it kept.
CREATE TABLE certificates_v2 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    common_name TEXT NOT NULL,
    dns_names TEXT NOT NULL,
    csr TEXT NOT NULL,
    server_platform_id INTEGER NOT NULL,
    signature_hash TEXT NOT NULL,
    key_size INTEGER NOT NULL,
    date_created INTEGER NOT NULL,
    serial_number TEXT,
    thumbprint TEXT,
    valid_from INTEGER,
    valid_till INTEGER,
    date_issued INTEGER,
    der BLOB,
    archived INTEGER NOT NULL DEFAULT 0,
    user_id INTEGER NOT NULL REFERENCES users(id),
    revoked_at INTEGER,
    revocation_reason TEXT,
    imported_issuer TEXT
);
INSERT INTO certificates_v2 (id, order_id, account_id, kind, status, common_name, dns_names, csr, server_platform_id,
    signature_hash, key_size, date_created, serial_number, thumbprint, valid_from, valid_till,
    date_issued, der, archived, user_id, revoked_at, revocation_reason)
    SELECT id, order_id, account_id, kind, status, common_name, dns_names, csr, server_platform_id,
    signature_hash, key_size, date_created, serial_number, thumbprint, valid_from, valid_till,
    date_issued, der, archived, user_id, revoked_at, revocation_reason FROM certificates;
DELETE FROM sqlite_sequence WHERE name = 'certificates_v2';
INSERT INTO sqlite_sequence (name, seq) SELECT 'certificates_v2', seq FROM sqlite_sequence WHERE name = 'certificates';
DROP TABLE certificates;
ALTER TABLE certificates_v2 RENAME TO certificates;
CREATE INDEX certificates_order ON certificates(order_id, kind);
CREATE INDEX certificates_revoked ON certificates(revoked_at) WHERE revoked_at IS NOT NULL;
CREATE UNIQUE INDEX certificates_serial ON certificates(serial_number, coalesce(imported_issuer, ''),
    (CASE WHEN imported_issuer IS NULL THEN 0 ELSE account_id END));
"#,
    r#"
-- Whether a certificate was asked to assert id-kp-clientAuth besides serverAuth (CertCentral's
-- certificate.profile_option), so that an approval signs what was requested.
ALTER TABLE certificates ADD COLUMN client_auth INTEGER NOT NULL DEFAULT 0;
-- EV subjects name the organization's registration (EV Guidelines 7.1.4.2.3-7.1.4.2.5).
ALTER TABLE organizations ADD COLUMN registration_number TEXT NOT NULL DEFAULT '';
ALTER TABLE organizations ADD COLUMN business_category TEXT NOT NULL DEFAULT '';
ALTER TABLE organizations ADD COLUMN jurisdiction_country TEXT NOT NULL DEFAULT '';
"#,
    r#"
-- Domain control validation: a registered domain is pending until its random value (valid 30
-- days) is found where its DCV method says; validated_at then records when.
ALTER TABLE domains ADD COLUMN dcv_token TEXT;
ALTER TABLE domains ADD COLUMN dcv_token_expires INTEGER;
"#,
    r#"
-- The operator console: a user's password (argon2id PHC string) and the role the console
-- grants (an API key role code: 102 looks and never acts); sessions by the SHA-256 of their
-- cookie token, each with its CSRF token, shared by every replica.
CREATE TABLE console_logins (
    user_id INTEGER PRIMARY KEY REFERENCES users(id),
    password_hash TEXT NOT NULL,
    role INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE console_sessions (
    token_hash BLOB PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES console_logins(user_id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions(expires_at);
"#,
    r#"
-- Webhooks (one per account) and their outbox: each event is a row written in the transaction
-- of the change it reports, leased for delivery (lease_until_ms, wall-clock milliseconds) and
-- kept until delivered.
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL UNIQUE REFERENCES accounts(id),
    endpoint TEXT NOT NULL,
    sealed_secret BLOB NOT NULL,
    events TEXT NOT NULL,
    instant_issue_notification INTEGER NOT NULL DEFAULT 0,
    send_certificate_chain INTEGER NOT NULL DEFAULT 0,
    send_instant_issued_certificate_chain INTEGER NOT NULL DEFAULT 0,
    notification_frequency TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    verified INTEGER NOT NULL DEFAULT 0,
    challenge_token TEXT,
    challenge_expires INTEGER,
    date_created INTEGER NOT NULL
);
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id INTEGER NOT NULL REFERENCES webhooks(id),
    event TEXT NOT NULL,
    order_id INTEGER NOT NULL,
    certificate_id INTEGER,
    send_chain INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL DEFAULT 0,
    lease_until_ms INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    delivered_at INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_ms) WHERE delivered_at IS NULL;
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(webhook_id);
"#,
    // Expiry notices: one per certificate, window and channel, ever (the key is what makes a
    // replica's second insert do nothing); `certificate_expiring` events carry their window.
    r#"
CREATE TABLE expiry_notices (
    certificate_id INTEGER NOT NULL REFERENCES certificates(id),
    window_days INTEGER NOT NULL,
    channel TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (certificate_id, window_days, channel)
);
ALTER TABLE webhook_deliveries ADD COLUMN notice_days INTEGER;
"#,
    // E-mail notices: the notice record's `email` rows are the outbox, leased for sending
    // (lease_until_ms, wall-clock milliseconds) and kept until sent.
    r#"
ALTER TABLE expiry_notices ADD COLUMN recipient TEXT;
ALTER TABLE expiry_notices ADD COLUMN next_attempt_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE expiry_notices ADD COLUMN lease_until_ms INTEGER;
ALTER TABLE expiry_notices ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE expiry_notices ADD COLUMN last_error TEXT;
ALTER TABLE expiry_notices ADD COLUMN sent_at INTEGER;
CREATE INDEX expiry_notices_email_due ON expiry_notices(next_attempt_ms)
    WHERE channel = 'email' AND sent_at IS NULL;
"#,
];

/// Brings the database to the newest schema version. Each step runs in an exclusive
/// transaction that re-reads the version, so processes starting together migrate once.
/// Foreign keys are off meanwhile (a rebuilt table is dropped while others reference it, as
/// SQLite's ALTER TABLE procedure has it) and checked before each step commits.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "foreign_keys", false)?;
    let migrated = steps(conn);
    conn.pragma_update(None, "foreign_keys", true)?;
    migrated
}

fn steps(conn: &mut Connection) -> rusqlite::Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let Some(sql) = usize::try_from(version).ok().and_then(|v| MIGRATIONS.get(v)) else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        if tx.prepare("PRAGMA foreign_key_check")?.exists([])? {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                Some(format!("schema step {version} leaves rows whose references are broken")),
            ));
        }
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
}
