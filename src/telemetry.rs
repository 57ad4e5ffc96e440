//! Logs go to standard error (standard output carries only the `listening on` line).
//!
//! Lines are gathered in memory and written by a thread of their own at most [`FLUSH_EVERY`] after they were made,
//! many in one `write`. A write to standard error per request, under its lock, cost about a quarter of the
//! throughput of GET by id on one core (bench/README.md). [`flush`] writes what is left before the process exits; a
//! `kill -9` can lose the last few milliseconds of log lines, never anything stored.
//!
//! Hand-written on purpose: `tracing-appender`'s non-blocking writer does the same job (a thread, a bounded lossy
//! queue, a guard that flushes at exit), but it sends every line through a channel that wakes its thread, and on
//! one core that cost 5.7% of GET by id in an interleaved A/B (bench/README.md, "Libraries"). This one wakes its
//! thread every 50 ms or at 64 KiB.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use tracing_subscriber::EnvFilter;

/// How long a log line may wait in memory.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// A buffer this large is written at once, without waiting.
const FLUSH_AT: usize = 64 * 1024;
/// Past this, while standard error does not keep up (a pipe nobody reads), new lines are dropped and counted rather
/// than held without bound.
const HOLD_AT_MOST: usize = 4 * 1024 * 1024;

/// The lines not yet written.
#[derive(Default)]
struct Pending {
    lines: Mutex<Lines>,
    full: Condvar,
}

#[derive(Default)]
struct Lines {
    bytes: Vec<u8>,
    dropped: u64,
}

static PENDING: OnceLock<Arc<Pending>> = OnceLock::new();
/// The pending lines when they are written without colours: [`access`] writes its lines there itself.
static PLAIN: OnceLock<Arc<Pending>> = OnceLock::new();

impl Pending {
    /// Adds a line (or drops and counts it past [`HOLD_AT_MOST`]) and wakes the writer at [`FLUSH_AT`].
    fn push(&self, buf: &[u8]) {
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.bytes.len() + buf.len() > HOLD_AT_MOST {
            lines.dropped += 1;
        } else {
            lines.bytes.extend_from_slice(buf);
        }
        if lines.bytes.len() >= FLUSH_AT {
            self.full.notify_one();
        }
    }
}

/// What the subscriber writes each formatted line to.
struct LineWriter(Arc<Pending>);

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the global subscriber; `RUST_LOG` overrides the default `info` level.
pub fn init() {
    let pending = PENDING.get_or_init(Arc::default).clone();
    let writer = pending.clone();
    let spawned = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || loop {
            {
                let guard = pending.lines.lock().unwrap_or_else(|e| e.into_inner());
                let _ = pending
                    .full
                    .wait_timeout(guard, FLUSH_EVERY)
                    .unwrap_or_else(|e| e.into_inner());
            }
            write_out(&pending);
        });
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi);
    if spawned.is_ok() && !ansi {
        let _ = PLAIN.set(writer.clone());
    }
    // Without the writer thread, lines go straight to standard error as before.
    let _ = match spawned {
        Ok(_) => builder
            .with_writer(move || LineWriter(writer.clone()))
            .try_init(),
        Err(_) => builder.with_writer(std::io::stderr).try_init(),
    };
}

/// The target the access line is filtered by (`RUST_LOG`), as when `tracing::info!` wrote it there.
const ACCESS_TARGET: &str = "cloudpc_emulator::http::protocol";

/// Logs one answered request at `info`: `… INFO request request_id=… method=… target=… status=… micros=…`.
/// Without colours the line is written here, byte for byte as tracing's formatter writes the same event: that
/// formatter cost ~9,000 instructions a request (a tenth of a GET by id; bench/README.md).
pub fn access(request_id: &str, method: &str, target: &str, status: u16, micros: u64) {
    if !tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO) {
        return;
    }
    let Some(pending) = PLAIN.get() else {
        traced_access((request_id, method, target, status, micros));
        return;
    };
    pending.push(&access_line(
        chrono::Utc::now(),
        (request_id, method, target, status, micros),
    ));
}

/// The access line through tracing's formatter (with colours, or before [`init`]).
fn traced_access((request_id, method, target, status, micros): (&str, &str, &str, u16, u64)) {
    tracing::info!(
        target: ACCESS_TARGET,
        request_id = %request_id,
        method = %method,
        target = %target,
        status,
        micros,
        "request"
    );
}

fn access_line(
    now: chrono::DateTime<chrono::Utc>,
    (request_id, method, target, status, micros): (&str, &str, &str, u16, u64),
) -> Vec<u8> {
    let mut line = Vec::with_capacity(128 + target.len());
    crate::clock::write_utc(&mut line, now, chrono::SecondsFormat::Micros);
    for (text, value) in [
        ("  INFO request request_id=", request_id),
        (" method=", method),
        (" target=", target),
    ] {
        line.extend_from_slice(text.as_bytes());
        line.extend_from_slice(value.as_bytes());
    }
    // The numbers without `write!` (~800 instructions a line).
    line.extend_from_slice(b" status=");
    write_unsigned(&mut line, u64::from(status));
    line.extend_from_slice(b" micros=");
    write_unsigned(&mut line, micros);
    line.push(b'\n');
    line
}

/// Appends `n` in decimal, as `write!` puts it, without the formatting machinery (~400 instructions a call): every
/// access line and journal entry has two or three numbers.
pub fn write_decimal(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    write_unsigned(out, n.unsigned_abs());
}

/// [`write_decimal`] for a `u64`.
pub fn write_unsigned(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = n;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// Writes every line still in memory; the binary calls it before it exits.
pub fn flush() {
    if let Some(pending) = PENDING.get() {
        write_out(pending);
    }
}

/// Takes the lines and writes them under standard error's lock, so that two writers keep the lines in order.
fn write_out(pending: &Pending) {
    let mut stderr = std::io::stderr().lock();
    let lines = std::mem::take(&mut *pending.lines.lock().unwrap_or_else(|e| e.into_inner()));
    if !lines.bytes.is_empty() {
        let _ = stderr.write_all(&lines.bytes);
    }
    if lines.dropped > 0 {
        let _ = writeln!(
            stderr,
            "cloudpc-emulator: {} log lines dropped: standard error did not keep up",
            lines.dropped
        );
    }
    let _ = stderr.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_what_write_puts() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            204,
            65_535,
            -1,
            -10,
            1_234_567_890,
            i64::MAX,
            i64::MIN,
        ] {
            let mut out = Vec::new();
            write_decimal(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
        for n in [0, 7, 10, 1_000_000, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            write_unsigned(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
    }

    #[test]
    fn lines_wait_in_memory_up_to_a_bound_then_are_counted_as_dropped() {
        let pending = Arc::new(Pending::default());
        let mut writer = LineWriter(pending.clone());
        let line = vec![b'x'; 1024];
        for _ in 0..(HOLD_AT_MOST / 1024 + 10) {
            writer.write_all(&line).unwrap();
        }
        let lines = pending.lines.lock().unwrap();
        assert_eq!(lines.bytes.len(), HOLD_AT_MOST);
        assert_eq!(lines.dropped, 10);
    }

    /// The hand-written access line is the line tracing's formatter writes for the same event.
    #[test]
    fn the_access_line_is_tracings_line() {
        let pending = Arc::new(Pending::default());
        let writer = pending.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_target(false)
            .with_ansi(false)
            .with_writer(move || LineWriter(writer.clone()))
            .finish();
        let fields = (
            "8021df84-fca9-4cd2-baf7-15d38ae0f13d",
            "GET",
            "/v1.0/deviceManagement/virtualEndpoint/deviceImages?$top=1&x=\"é\"",
            200,
            513,
        );
        let before = chrono::Utc::now();
        tracing::subscriber::with_default(subscriber, || traced_access(fields));
        let traced = String::from_utf8(pending.lines.lock().unwrap().bytes.clone()).unwrap();
        let (time, rest) = traced.split_once(' ').unwrap();
        let time = chrono::DateTime::parse_from_rfc3339(time).unwrap().to_utc();
        assert!(time >= before - chrono::Duration::seconds(1), "{traced}");
        let ours = String::from_utf8(access_line(time, fields)).unwrap();
        assert_eq!(ours, traced);
        assert!(rest.starts_with(" INFO request request_id="), "{traced}");
    }
}
