//! Domains: which names an account may order for, registering one, showing its control
//! (DCV) and the operator vouching for one.

use time::OffsetDateTime;

use super::{Actor, AuditEvent, Lifecycle, LifecycleError, Transaction, audit};
use crate::{
    Domain, Id, Scope, Store,
    dcv::{DcvMethod, DcvToken},
    names,
    policy::{self, NameRefusal},
    refusal::{Object, Refusal},
};

/// A domain to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDomain {
    /// Tenant.
    pub account_id: Id,
    /// Container.
    pub container_id: Id,
    /// Organization.
    pub organization_id: Option<Id>,
    /// Name (normalised).
    pub name: String,
    /// How control is to be shown.
    pub dcv_method: DcvMethod,
    /// The random value to show, for methods that use one.
    pub dcv_token: Option<DcvToken>,
    /// When it was registered.
    pub at: OffsetDateTime,
    /// When control was shown (the operator vouching), or `None`: pending.
    pub validated_at: Option<OffsetDateTime>,
}

/// Domain-control policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainPolicy {
    /// Every name must be covered by a domain the account validated.
    Validated,
    /// Every name is accepted (test setups and demos).
    TrustAll,
}

/// Why a DCV check did not show control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcvFailure {
    /// The method checks no random value (e-mail: certkeep sends none).
    NoCheck,
    /// The random value expired before the check.
    TokenExpired,
    /// No DNS TXT record holds the random value (details: what was found).
    TxtNotFound(String),
    /// No DNS CNAME points at the random value.
    CnameNotFound(String),
    /// The file does not hold the random value, or could not be fetched.
    FileNotFound(String),
}

impl Lifecycle<'_> {
    /// Under [`DomainPolicy::Validated`], every name must be covered by a domain the account
    /// validated within the reuse period in force.
    pub(super) fn check_domains(
        &self,
        tx: &mut dyn Transaction,
        scope: &Scope,
        cn: &str,
        dns: &[String],
    ) -> Result<(), LifecycleError> {
        if self.domains != DomainPolicy::Validated {
            return Ok(());
        }
        let since = crate::dcv::reuse_since(self.now);
        for name in std::iter::once(cn).chain(dns.iter().map(String::as_str)) {
            let mut covered = false;
            for candidate in names::with_parents(name) {
                // A wildcard, or a parent domain, needs a validation that covers subdomains.
                if tx.domain_validated(scope.account_id, candidate, since, candidate != name)? {
                    covered = true;
                    break;
                }
            }
            if !covered {
                return Err(Refusal::DomainNotValidated(name.to_owned()).into());
            }
        }
        Ok(())
    }

    /// Registers a domain for the account, pending until its control is shown with
    /// `dcv_method` (administrators only; nobody but the operator vouches for a domain).
    pub fn add_domain(
        &self,
        scope: &Scope,
        actor: &Actor,
        name: &str,
        container_id: Id,
        organization_id: Option<Id>,
        dcv_method: DcvMethod,
    ) -> Result<Domain, LifecycleError> {
        let result = self.try_add_domain(scope, actor, name, container_id, organization_id, dcv_method);
        self.recorded(scope, actor, "domain.create", format!("domain:{name}"), result)
    }

    fn try_add_domain(
        &self,
        scope: &Scope,
        actor: &Actor,
        name: &str,
        container_id: Id,
        organization_id: Option<Id>,
        dcv_method: DcvMethod,
    ) -> Result<Domain, LifecycleError> {
        if !actor.may_skip_approval {
            return Err(Refusal::AdministratorsOnly("register domains").into());
        }
        if dcv_method == DcvMethod::Operator {
            return Err(Refusal::OperatorOnlyDcv.into());
        }
        let name = domain_name(name, self.issuance.test_names)?;
        if !scope.allows_container(container_id) {
            return Err(LifecycleError::NotFound(Object::Container));
        }
        self.store.transact(|tx| {
            if let Some(org) = organization_id {
                tx.organization(scope, org)?.ok_or(LifecycleError::NotFound(Object::Organization))?;
            }
            let domain = NewDomain {
                account_id: scope.account_id,
                container_id,
                organization_id,
                name: name.clone(),
                dcv_method,
                dcv_token: dcv_method.uses_token().then(|| DcvToken::generate(self.now)),
                at: self.now,
                validated_at: None,
            };
            let id = tx
                .insert_domain(&domain)?
                .ok_or_else(|| LifecycleError::from(Refusal::DuplicateDomain(name.clone())))?;
            tx.insert_audit(&audit(
                scope,
                actor,
                self.now,
                "domain.create",
                format!("domain:{id}"),
                format!("{name} (pending validation)"),
            ))?;
            tx.domain(scope.account_id, id)?.ok_or(LifecycleError::NotFound(Object::Domain))
        })
    }

    /// A domain of the scope inside a transaction, or not found.
    fn visible_domain(
        tx: &mut dyn Transaction,
        scope: &Scope,
        domain_id: Id,
    ) -> Result<Domain, LifecycleError> {
        tx.domain(scope.account_id, domain_id)?
            .filter(|d| scope.allows_container(d.container_id))
            .ok_or(LifecycleError::NotFound(Object::Domain))
    }

    /// Sets a domain's DCV method (`Some`) or draws a new random value for the one it has
    /// (`None`). A new method gets a new random value; the same method changes nothing
    /// (false). A validation already recorded keeps counting.
    pub fn change_dcv(
        &self,
        scope: &Scope,
        actor: &Actor,
        domain_id: Id,
        method: Option<DcvMethod>,
    ) -> Result<(Domain, bool), LifecycleError> {
        let result = self.try_change_dcv(scope, actor, domain_id, method);
        self.recorded(scope, actor, "domain.dcv", format!("domain:{domain_id}"), result)
    }

    fn try_change_dcv(
        &self,
        scope: &Scope,
        actor: &Actor,
        domain_id: Id,
        method: Option<DcvMethod>,
    ) -> Result<(Domain, bool), LifecycleError> {
        if !actor.may_skip_approval {
            return Err(Refusal::AdministratorsOnly("change a domain's validation").into());
        }
        if method == Some(DcvMethod::Operator) {
            return Err(Refusal::OperatorOnlyDcv.into());
        }
        self.store.transact(|tx| {
            let d = Self::visible_domain(tx, scope, domain_id)?;
            // `None`: a new random value for the method the domain has.
            let (method, changed) = match method {
                Some(m) => (m, m != d.dcv_method),
                None if d.dcv_method.uses_token() => (d.dcv_method, true),
                None => {
                    return Err(Refusal::DcvMethodHasNoToken.into());
                }
            };
            if changed {
                let token = method.uses_token().then(|| DcvToken::generate(self.now));
                tx.set_domain_dcv(d.id, method, token.as_ref())?;
                tx.insert_audit(&audit(
                    scope,
                    actor,
                    self.now,
                    "domain.dcv",
                    format!("domain:{}", d.id),
                    format!("{} (new random value)", d.name),
                ))?;
            }
            Ok((tx.domain(scope.account_id, d.id)?.ok_or(LifecycleError::NotFound(Object::Domain))?, changed))
        })
    }

    /// Records the outcome of checking `checked` (the random value the front door looked
    /// for, `None` when the domain has none) on a domain: validated now, or refused with the
    /// failure (audited either way).
    pub fn record_dcv_check(
        &self,
        scope: &Scope,
        actor: &Actor,
        domain_id: Id,
        checked: Option<&DcvToken>,
        outcome: Result<(), DcvFailure>,
    ) -> Result<Domain, LifecycleError> {
        let result = self.try_record_dcv_check(scope, actor, domain_id, checked, outcome);
        self.recorded(scope, actor, "domain.validate", format!("domain:{domain_id}"), result)
    }

    fn try_record_dcv_check(
        &self,
        scope: &Scope,
        actor: &Actor,
        domain_id: Id,
        checked: Option<&DcvToken>,
        outcome: Result<(), DcvFailure>,
    ) -> Result<Domain, LifecycleError> {
        if !actor.may_skip_approval {
            return Err(Refusal::AdministratorsOnly("validate domains").into());
        }
        self.store.transact(|tx| {
            let d = Self::visible_domain(tx, scope, domain_id)?;
            if d.dcv_token.as_ref() != checked {
                return Err(Refusal::DcvTokenChanged.into());
            }
            if let Err(failure) = &outcome {
                return Err(Refusal::Dcv { name: d.name, failure: failure.clone() }.into());
            }
            tx.set_domain_validated(d.id, d.dcv_method, self.now)?;
            tx.insert_audit(&audit(
                scope,
                actor,
                self.now,
                "domain.validate",
                format!("domain:{}", d.id),
                format!("{} (control shown)", d.name),
            ))?;
            tx.domain(scope.account_id, d.id)?.ok_or(LifecycleError::NotFound(Object::Domain))
        })
    }

    /// Deletes a domain of the account (administrators only, as registering). Names it covered
    /// need validating again before new certificates use them; issued certificates stay.
    pub fn remove_domain(&self, scope: &Scope, actor: &Actor, domain_id: Id) -> Result<(), LifecycleError> {
        if !actor.may_skip_approval {
            return Err(Refusal::AdministratorsOnly("delete domains").into());
        }
        self.store.transaction(&mut |tx| {
            if !tx.delete_domain(scope.account_id, domain_id)? {
                return Err(LifecycleError::NotFound(Object::Domain));
            }
            tx.insert_audit(&audit(
                scope,
                actor,
                self.now,
                "domain.delete",
                format!("domain:{domain_id}"),
                String::new(),
            ))
            .map_err(Into::into)
        })
    }
}

/// A domain name as registered: normalised, no wildcard, no public suffix (`co.uk`) and no
/// address, which nobody (tenant or operator) vouches for.
fn domain_name(name: &str, test_names: policy::TestNames) -> Result<String, LifecycleError> {
    let name = names::normalize(name).ok().filter(|n| !names::is_wildcard(n)).ok_or_else(|| {
        LifecycleError::from(Refusal::InvalidDomainName { name: name.to_owned(), refusal: None })
    })?;
    if let Err(refusal @ (NameRefusal::PublicSuffix(_) | NameRefusal::IpAddress(_))) =
        policy::check_public_name(&name, test_names)
    {
        return Err(Refusal::InvalidDomainName { name, refusal: Some(refusal) }.into());
    }
    Ok(name)
}

/// The operator vouches for `name` in account `account_id` (a private deployment's domain,
/// `certkeep domain vouch`): the domain is created in the account's root container (or its
/// pending or expired validation renewed) as validated now by [`DcvMethod::Operator`], and
/// the audit log says so (no user or key: the operator, from `source`).
pub fn vouch_domain(
    store: &dyn Store,
    now: OffsetDateTime,
    test_names: policy::TestNames,
    account_id: Id,
    name: &str,
    source: &str,
) -> Result<Domain, LifecycleError> {
    let scope = Scope { account_id, containers: None };
    let container_id = store
        .list_containers(&scope)?
        .into_iter()
        .find(|c| c.parent_id.is_none())
        .map(|c| c.container.id)
        .ok_or(LifecycleError::NotFound(Object::Account))?;
    let result = domain_name(name, test_names).and_then(|name| {
        store.transact(|tx| {
            let id = match tx.domain_named(account_id, &name)? {
                Some(d) => {
                    tx.set_domain_dcv(d.id, DcvMethod::Operator, None)?;
                    tx.set_domain_validated(d.id, DcvMethod::Operator, now)?;
                    d.id
                }
                None => {
                    let domain = NewDomain {
                        account_id,
                        container_id,
                        organization_id: None,
                        name: name.clone(),
                        dcv_method: DcvMethod::Operator,
                        dcv_token: None,
                        at: now,
                        validated_at: Some(now),
                    };
                    tx.insert_domain(&domain)?
                        .ok_or_else(|| LifecycleError::from(Refusal::DuplicateDomain(name.clone())))?
                }
            };
            tx.insert_audit(&AuditEvent {
                account_id: Some(account_id),
                user_id: None,
                api_key_id: None,
                action: "domain.vouch".into(),
                object: format!("domain:{id}"),
                detail: format!("{name} (vouched for by the operator)"),
                source: source.into(),
                at: now,
                refused: false,
            })?;
            tx.domain(account_id, id)?.ok_or(LifecycleError::NotFound(Object::Domain))
        })
    });
    if let Some(e) = result.as_ref().err().filter(|e| e.is_refusal()) {
        let _ = store.record_audit(&AuditEvent {
            account_id: Some(account_id),
            user_id: None,
            api_key_id: None,
            action: "domain.vouch".into(),
            object: format!("domain:{name}"),
            detail: e.to_string(),
            source: source.into(),
            at: now,
            refused: true,
        });
    }
    result
}
