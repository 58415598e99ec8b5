//! Who acts for an account when a front door authenticates the account, not a user (Partner
//! subaccount keys, NCP access keys).

use certkeep_core::{AccessRole, Id, Scope, Store, StoreResult};

/// The account's root container and its first administrator: where orders placed for the
/// account go and who places them. `None` when the account has either missing.
pub fn root_and_admin(store: &dyn Store, account_id: Id) -> StoreResult<Option<(Id, Id)>> {
    let scope = Scope { account_id, containers: None };
    let root = store.list_containers(&scope)?.into_iter().find(|c| c.parent_id.is_none());
    let admin = store.list_users(&scope)?.into_iter().find(|u| u.access_role == AccessRole::Administrator);
    Ok(root.zip(admin).map(|(c, u)| (c.container.id, u.user.id)))
}
