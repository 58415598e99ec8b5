//! Creating and opening a certkeep instance: its data directory, CA and database.

use std::{
    fs,
    io::Write,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    sync::Arc,
};

use certkeep_ca::{CertificateAuthority, KeyAlgorithm, RootUrls};
use certkeep_core::{
    AccessRole, ApiKeyRole, Contact, Id, NewApiKey, NewUser, Store,
    credentials::{generate_api_key, hash_api_key},
    ncp::{NewNcpKey, generate_ncp_key_pair},
    seal::{SealedSecret, SealingKey},
};
use time::OffsetDateTime;

/// Where an instance keeps its files.
pub struct Layout {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The database URL (`sqlite://...` or `postgres://...`).
    pub database_url: String,
}

impl Layout {
    /// The CA directory.
    pub fn ca_dir(&self) -> PathBuf {
        self.data_dir.join("ca")
    }

    /// Whether `init` has run here.
    pub fn is_initialized(&self) -> bool {
        CertificateAuthority::exists(&self.ca_dir())
    }
}

/// An administrator created by [`init`].
pub struct Admin {
    /// The tenant.
    pub account_id: Id,
    /// The account's root container.
    pub root_container_id: Id,
    /// The administrator.
    pub user_id: Id,
    /// The administrator's CertCentral API key, in clear (shown once).
    pub api_key: String,
}

/// What `init` takes.
pub struct InitOptions<'a> {
    /// CA key algorithm.
    pub key_algorithm: KeyAlgorithm,
    /// Passphrase encrypting the CA key files.
    pub ca_passphrase: Option<Vec<u8>>,
    /// Name in the CA subjects.
    pub ca_name: &'a str,
    /// Country (two letters) of the CA subjects.
    pub ca_country: &'a str,
    /// CA certificates are valid from this instant.
    pub ca_not_before: OffsetDateTime,
    /// Where the root's CRL and certificate are served, when already known (the demo).
    pub root_urls: Option<RootUrls>,
    /// Name of the first account.
    pub account_name: &'a str,
    /// E-mail of its administrator.
    pub admin_email: &'a str,
    /// Creation time of the records.
    pub now: OffsetDateTime,
}

fn create_private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// Creates the CA, the database and the first account with an administrator and an API key.
pub fn init(
    layout: &Layout,
    o: &InitOptions,
) -> Result<(Arc<dyn Store>, CertificateAuthority, Admin), String> {
    if layout.is_initialized() {
        return Err(format!("{} is already initialized", layout.data_dir.display()));
    }
    create_private_dir(&layout.data_dir)?;
    let passphrase = o.ca_passphrase.as_deref();
    let ca = CertificateAuthority::create_protected(
        &layout.ca_dir(),
        o.key_algorithm,
        (o.ca_name, o.ca_country),
        o.ca_not_before,
        passphrase,
        o.root_urls.as_ref(),
    )
    .map_err(|e| format!("cannot create the CA: {e}"))?;
    let store = open_store(layout)?;
    let admin = create_account(&*store, o.account_name, o.admin_email, o.now)?;
    Ok((store, ca, admin))
}

/// Creates an account with an administrator user and an API key.
pub fn create_account(
    store: &dyn Store,
    name: &str,
    admin_email: &str,
    now: OffsetDateTime,
) -> Result<Admin, String> {
    let err = |e: certkeep_core::StoreError| e.to_string();
    let (account_id, root_container_id) = store.create_account(name, now).map_err(err)?;
    let user_id = store
        .create_user(
            &NewUser {
                account_id,
                container_id: root_container_id,
                username: admin_email.to_owned(),
                contact: Contact {
                    first_name: "Admin".into(),
                    last_name: name.into(),
                    email: admin_email.into(),
                    ..Contact::default()
                },
                access_role: AccessRole::Administrator,
            },
            now,
        )
        .map_err(err)?;
    let api_key = create_api_key(store, user_id, "admin", ApiKeyRole::Inherit, now)?;
    Ok(Admin { account_id, root_container_id, user_id, api_key })
}

/// Creates an API key for a user and returns it in clear.
pub fn create_api_key(
    store: &dyn Store,
    user_id: Id,
    name: &str,
    role: ApiKeyRole,
    now: OffsetDateTime,
) -> Result<String, String> {
    let key = generate_api_key();
    store
        .create_api_key(&NewApiKey { user_id, name: name.into(), role, key_hash: hash_api_key(&key) }, now)
        .map_err(|e| e.to_string())?;
    Ok(key)
}

/// Opens (and migrates) the database.
pub fn open_store(layout: &Layout) -> Result<Arc<dyn Store>, String> {
    certkeep_store::open(&layout.database_url).map_err(|e| format!("cannot open the database: {e}"))
}

/// Loads the CA, decrypting its key files with `passphrase` when they are protected, after
/// giving its intermediate the TLS profile naming the root's `urls` (once per CA made by an
/// earlier version, or when the URLs move; logged).
pub fn load_ca(
    layout: &Layout,
    passphrase: Option<&[u8]>,
    urls: &RootUrls,
    now: OffsetDateTime,
) -> Result<CertificateAuthority, String> {
    let dir = layout.ca_dir();
    let renewed = CertificateAuthority::refresh_intermediate(&dir, passphrase, urls, now)
        .map_err(|e| format!("cannot update the intermediate certificate: {e}"))?;
    if renewed {
        tracing::warn!(
            crl = %urls.crl,
            "the intermediate was certified again with the TLS issuing-CA profile (the old certificate is kept beside it)"
        );
    }
    CertificateAuthority::load_protected(&dir, passphrase).map_err(|e| format!("cannot load the CA: {e}"))
}

/// Writes a file readable by its owner only.
pub fn write_private(path: &Path, contents: &str) -> Result<(), String> {
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(contents.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The server key that seals secrets at rest, created in the data directory on first use.
pub fn sealing_key(layout: &Layout) -> Result<SealingKey, String> {
    let path = layout.data_dir.join("sealing.key");
    SealingKey::load_or_create(&path)
        .map_err(|e| format!("cannot load the sealing key {}: {e}", path.display()))
}

/// Replaces the data directory's `sealing.key` with a new key: every sealed value is re-sealed
/// under it in one transaction, then the new key file (0600, written to `sealing.key.next`
/// first) is renamed over the old one. A run interrupted between the two finishes on the next
/// run, which takes up the `.next` key: values open under either key and end under that one.
/// Returns how many values it re-sealed.
pub fn rotate_sealing_key(store: &dyn Store, layout: &Layout) -> Result<u64, String> {
    let path = layout.data_dir.join("sealing.key");
    let next_path = layout.data_dir.join("sealing.key.next");
    let current = SealingKey::load(&path)
        .map_err(|e| format!("cannot load the sealing key {}: {e}", path.display()))?;
    let (next, resumed) = match SealingKey::load(&next_path) {
        Ok(key) => (key, true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SealingKey::create_new(&next_path)
                .map_err(|e| format!("cannot write the new sealing key {}: {e}", next_path.display()))?;
            (key, false)
        }
        Err(e) => return Err(format!("cannot load the new sealing key {}: {e}", next_path.display())),
    };
    let reseal = |secret: SealedSecret<'_>| {
        let context = secret.context();
        let plain =
            current.open(secret.sealed(), &context).or_else(|| next.open(secret.sealed(), &context))?;
        Some(next.seal(&plain, &context))
    };
    let resealed = match store.reseal_secrets(&reseal) {
        Ok(n) => n,
        Err(e) => {
            if !resumed {
                let _ = fs::remove_file(&next_path);
            }
            return Err(format!("nothing changed: {e}"));
        }
    };
    fs::rename(&next_path, &path).and_then(|()| certkeep_core::seal::sync_directory(&path)).map_err(|e| {
        format!(
            "the database is sealed under {} but it could not replace {}: {e}; run the command again",
            next_path.display(),
            path.display()
        )
    })?;
    Ok(resealed)
}

/// Seals the secrets an older version stored in clear (EAB HMAC keys).
pub fn seal_clear_secrets(store: &dyn Store, sealing_key: &SealingKey) -> Result<(), String> {
    let seal = |kid: &str, key: &[u8]| certkeep_core::partner::seal_hmac_key(sealing_key, kid, key);
    let sealed = store.seal_clear_eab_keys(&seal).map_err(|e| e.to_string())?;
    if sealed > 0 {
        tracing::info!(sealed, "sealed EAB HMAC keys stored in clear");
    }
    Ok(())
}

/// Creates an NCP access key / secret key pair for an account; returns both in clear.
pub fn create_ncp_key(
    store: &dyn Store,
    sealing_key: &SealingKey,
    account_id: Id,
    now: OffsetDateTime,
) -> Result<(String, String), String> {
    let (access_key, secret_key) = generate_ncp_key_pair();
    let sealed_secret = sealing_key.seal(secret_key.as_bytes(), access_key.as_bytes());
    store
        .create_ncp_key(&NewNcpKey { account_id, access_key: access_key.clone(), sealed_secret }, now)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("there is no account {account_id}"))?;
    Ok((access_key, secret_key))
}

/// Gives user `user_id` a console sign-in with `password` (argon2id-hashed) and `role`,
/// replacing an earlier one and ending its sessions.
pub fn set_console_password(
    store: &dyn Store,
    user_id: Id,
    password: &str,
    role: ApiKeyRole,
    now: OffsetDateTime,
) -> Result<(), String> {
    use certkeep_server::console::password;
    password::check_strength(password)?;
    let login = certkeep_core::ConsoleLogin { user_id, password_hash: password::hash(password)?, role };
    if !store.set_console_login(&login, now).map_err(|e| e.to_string())? {
        return Err(format!("there is no user {user_id}"));
    }
    Ok(())
}
