//! The device image resource (`/deviceManagement/virtualEndpoint/deviceImages`): domain values, the stored model,
//! the versioned wire view, the repository and the handlers.

pub mod domain;
pub mod lifecycle;
pub mod model;
pub mod properties;
pub mod query;
pub mod repository;
pub mod view;
pub mod writer;

/// The tenant every image belongs to until tenancy is built (issue 6).
pub const DEFAULT_TENANT: &str = "00000000-0000-0000-0000-000000000001";

/// The collection's path below the version root.
pub const COLLECTION_PATH: &str = "deviceManagement/virtualEndpoint/deviceImages";
