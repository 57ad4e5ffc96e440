//! cloudpc-emulator: a local emulator of Microsoft Graph's Cloud PC device image API.
//!
//! The behaviour it promises is in `docs/` (start with `README.md`), what it copies from the real service in
//! `docs/fidelity.md`, and how the code is laid out in `docs/ARCHITECTURE.md`. The modules form four layers; a module
//! imports only from its own layer or lower ones (`tests/api/structure.rs` checks it):
//!
//! - HTTP: [`http`] (the application, the protocol middleware, the Graph and control-plane handlers) and
//!   [`properties`] (the checks shared by the fuzzers and the property tests).
//! - Resources: [`device_images`], [`source_images`], [`identity`] and [`control`] (the emulator's own state: fault
//!   rules, the journal, the metrics).
//! - Protocol kit: [`graph`] (bodies, values, enums, paths, OData) and [`error`] (the one error type and Graph's
//!   envelope).
//! - Infrastructure: [`db`], [`config`], [`clock`], [`telemetry`], [`tls`], [`files`], [`healthcheck`], [`client`]
//!   (the subcommands' HTTP client), [`replay`].

pub mod client;
pub mod clock;
pub mod config;
pub mod control;
pub mod db;
pub mod device_images;
pub mod error;
pub mod files;
pub mod gallery_images;
pub mod graph;
pub mod healthcheck;
pub mod http;
pub mod identity;
#[doc(hidden)]
pub mod properties;
pub mod provisioning_policies;
pub mod replay;
pub mod source_images;
pub mod telemetry;
pub mod tls;
