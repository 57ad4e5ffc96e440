//! Provisioning policies (docs/policies.md): which image Cloud PCs are built from (a device image of the tenant or a
//! gallery image) and which groups get them. Graph's rules that tie them to images (a used image cannot be deleted,
//! an assigned policy cannot be deleted, a custom policy needs a ready image) are checked inside the transaction of
//! the write they guard, so no interleaving of requests can break them.

pub mod complex;
pub mod domain;
pub mod properties;
pub mod query;
pub mod repository;

/// The collection's path under a version's base URL.
pub const COLLECTION_PATH: &str = "deviceManagement/virtualEndpoint/provisioningPolicies";
