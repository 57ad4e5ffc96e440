//! The HTTP layer: the application and its shared state ([`app`]), the protocol middleware every request crosses
//! ([`protocol`]), admission ([`security`]), and the handlers of the Graph routes ([`graph`]) and of the control
//! plane ([`control`]). Handlers parse, call the resource modules, and project; they hold no SQL.

pub mod app;
pub mod control;
pub mod graph;
pub mod protocol;
pub mod security;

pub use app::{app, AppState, Application, StartupError, MAX_CONNECTIONS_PER_WORKER};
