//! The emulator's clock. Every timestamp the emulator writes comes from here, so that lifecycle tests and the control
//! plane can move time instead of sleeping (docs/control-plane.md).

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, SecondsFormat, Utc};

/// How far the emulator's clock may run ahead of the wall clock: a hundred years (`POST /_emulator/clock` refuses
/// more, and a larger stored offset is cut to this at start).
pub const MAX_OFFSET_MS: i64 = 100 * 365 * 24 * 3600 * 1000;

/// Wall-clock time plus an adjustable offset.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// The emulator's current time. Never panics: an offset beyond chrono's range (which [`MAX_OFFSET_MS`] keeps
    /// out of the stored state) saturates at the latest or earliest time chrono knows.
    pub fn now(&self) -> DateTime<Utc> {
        let offset = self.offset_ms.load(Ordering::Relaxed);
        let now = Utc::now();
        Duration::try_milliseconds(offset)
            .and_then(|d| now.checked_add_signed(d))
            .unwrap_or(if offset > 0 {
                DateTime::<Utc>::MAX_UTC
            } else {
                DateTime::<Utc>::MIN_UTC
            })
    }

    /// Moves the clock forward (or back, with a negative value). Not stored: see `/_emulator/clock` for that.
    pub fn advance(&self, by: Duration) {
        let by = by.num_milliseconds();
        let _ = self
            .offset_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| {
                Some(o.saturating_add(by))
            });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_saturates_instead_of_panicking() {
        let clock = Clock::default();
        clock.set_offset_ms(i64::MAX);
        assert_eq!(clock.now(), DateTime::<Utc>::MAX_UTC);
        clock.set_offset_ms(i64::MIN);
        assert_eq!(clock.now(), DateTime::<Utc>::MIN_UTC);
        clock.set_offset_ms(MAX_OFFSET_MS);
        clock.advance(Duration::milliseconds(i64::MAX));
        assert_eq!(clock.offset_ms(), i64::MAX);
        let _ = format_timestamp(clock.now());
    }
}
