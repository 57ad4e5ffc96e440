//! The source image catalog (docs/lifecycle.md): the Azure images the emulated tenant's subscriptions hold. It decides how
//! uploads end, `getSourceImages` lists it, and `/_emulator/source-images` manages it.

pub mod model;
pub mod properties;
pub mod repository;
