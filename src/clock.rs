//! The emulator's clock. Every timestamp the emulator writes comes from here, so that lifecycle tests and the control
//! plane can move time instead of sleeping (CONTRACT §9).

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, SecondsFormat, Utc};

/// Wall-clock time plus an adjustable offset.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// The emulator's current time.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves the clock forward (or back, with a negative value). Not stored: see `/_emulator/clock` for that.
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }

    /// How far the clock is ahead of the wall clock.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// Sets the offset (as stored in `emulator_state`).
    pub fn set_offset_ms(&self, offset_ms: i64) {
        self.offset_ms.store(offset_ms, Ordering::Relaxed);
    }
}

/// RFC 3339 in UTC with `Z` and millisecond precision: the form stored in the database and emitted on the wire.
/// A fixed width makes text order equal time order in SQL.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}
