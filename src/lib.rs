//! cloudpc-emulator: a local emulator of Microsoft Graph's Cloud PC device image API.
//!
//! The behaviour it promises is in `docs/` (start with `README.md`), what it copies from the real service in
//! `docs/fidelity.md`, and how the code is laid out in `docs/ARCHITECTURE.md`. Modules:
//!
//! - [`config`]: flags and environment variables (docs/running.md).
//! - [`startup`]: builds the HTTP server and the database and registers every route.
//! - [`error`]: the one API error type and Graph's error envelope.
//! - [`graph`]: the protocol: paths, headers, context URLs, enum projection per API version, auth.
//! - [`device_images`]: domain types, repository and handlers of the device image resource.
//! - [`control`]: the `/_emulator` control plane.
//! - [`db`]: the SQLite file, pragmas, migrations and pools.
//! - [`security`]: the Host allow-list, cross-site refusal, CORS and the admin gate.
//! - [`identity`], [`source_images`], [`clock`], [`files`], [`tls`], [`telemetry`], [`healthcheck`]: see
//!   `docs/ARCHITECTURE.md`.

pub mod clock;
pub mod config;
pub mod control;
pub mod db;
pub mod device_images;
pub mod error;
pub mod files;
pub mod graph;
pub mod healthcheck;
pub mod identity;
pub mod security;
pub mod source_images;
pub mod startup;
pub mod telemetry;
pub mod tls;
