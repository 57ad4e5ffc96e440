//! The emulator's own state, which the real service has not: fault rules and how they fire, the request journal, the
//! request metrics, and the stored clock offset ([`store`]). Their routes under `/_emulator` are in
//! [`crate::http::control`].

pub mod faults;
pub mod journal;
pub mod metrics;
pub mod state;
pub mod store;
