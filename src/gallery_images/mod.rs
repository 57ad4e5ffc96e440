//! Microsoft's gallery images (docs/policies.md): the catalog a provisioning policy of `imageType: gallery` chooses
//! from. Read-only to Graph clients (`…/virtualEndpoint/galleryImages`), the same for every tenant, seeded by
//! migration V9 and managed through `/_emulator/gallery-images`.

pub mod model;
pub mod properties;
pub mod repository;

/// The collection's path under a version's base URL.
pub const COLLECTION_PATH: &str = "deviceManagement/virtualEndpoint/galleryImages";
