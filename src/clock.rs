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
    let mut out = Vec::with_capacity(24);
    write_utc(&mut out, t, SecondsFormat::Millis);
    String::from_utf8(out).unwrap_or_else(|_| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// Appends `t` as RFC 3339 in UTC with a `Z` and 3 (`Millis`) or 6 (`Micros`) fraction digits, exactly as chrono's
/// `to_rfc3339_opts(format, true)` writes it. Written by hand for the years 0–9999: the journal and the access log
/// write one per request, and chrono's formatter took ~600 instructions of a GET by id.
pub fn write_utc(out: &mut Vec<u8>, t: DateTime<Utc>, format: SecondsFormat) {
    use chrono::{Datelike, Timelike};
    // The fields of the naive time: each accessor of a `DateTime` applies the (zero) offset again.
    let naive = t.naive_utc();
    let year = naive.year();
    let fraction = match format {
        SecondsFormat::Millis => Some((naive.nanosecond() / 1_000_000, 3)),
        SecondsFormat::Micros => Some((naive.nanosecond() / 1_000, 6)),
        _ => None,
    };
    // A leap second (nanoseconds past 10^9) and far years are left to chrono.
    let (Some((fraction, digits)), true, true) = (
        fraction,
        (0..=9999).contains(&year),
        naive.nanosecond() < 1_000_000_000,
    ) else {
        out.extend_from_slice(t.to_rfc3339_opts(format, true).as_bytes());
        return;
    };
    fn put(slot: &mut [u8], mut n: u32) {
        for b in slot.iter_mut().rev() {
            *b = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
    let mut text = *b"0000-00-00T00:00:00.000000Z";
    put(&mut text[0..4], year.unsigned_abs());
    put(&mut text[5..7], naive.month());
    put(&mut text[8..10], naive.day());
    put(&mut text[11..13], naive.hour());
    put(&mut text[14..16], naive.minute());
    put(&mut text[17..19], naive.second());
    put(&mut text[20..20 + digits], fraction);
    text[20 + digits] = b'Z';
    out.extend_from_slice(&text[..21 + digits]);
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

    #[test]
    fn written_times_equal_chronos() {
        use chrono::TimeZone;
        let times = [
            Utc.timestamp_opt(0, 0).unwrap(),
            Utc.timestamp_opt(1_764_713_224, 549_021_987).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
            Utc.timestamp_opt(1_483_228_799, 1_500_000_000).unwrap(),
            DateTime::<Utc>::MAX_UTC,
            DateTime::<Utc>::MIN_UTC,
        ];
        for t in times {
            for format in [
                SecondsFormat::Millis,
                SecondsFormat::Micros,
                SecondsFormat::Secs,
            ] {
                let mut out = Vec::new();
                write_utc(&mut out, t, format);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    t.to_rfc3339_opts(format, true),
                    "{t:?} {format:?}"
                );
            }
            assert_eq!(
                format_timestamp(t),
                t.to_rfc3339_opts(SecondsFormat::Millis, true)
            );
        }
    }
}
