//! Black-box tests of the emulator: one binary (one link) with shared helpers. Each test starts the app on port 0
//! with its own temporary database, speaks HTTP to it, and opens the SQLite file to check what was stored.

mod batch;
mod compose;
mod control;
mod create;
mod durability;
mod helpers;
mod identity;
mod isolation;
mod lifecycle;
mod metadata;
mod policies;
mod process;
mod protocol;
mod query;
mod read_delete;
mod reliability;
mod replay;
mod security;
mod state;
mod structure;
mod ui;
mod validation;
