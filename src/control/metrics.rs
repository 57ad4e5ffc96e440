//! The request metrics `GET /metrics` shows (rendered in `http/control/metrics.rs`): requests by route, method and
//! status, and a latency histogram.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Counters kept in memory since the process started.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, &'static str, u16), u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Metrics {
    /// Writes the request counters and the latency histogram in Prometheus' text format.
    pub fn write_requests(&self, out: &mut String) {
        let m = self;
        let _ = writeln!(
            out,
            "# HELP cloudpc_requests_total Requests answered, by route, method and status."
        );
        let _ = writeln!(out, "# TYPE cloudpc_requests_total counter");
        if let Ok(requests) = m.requests.lock() {
            for ((route, method, status), n) in requests.iter() {
                let _ = writeln!(out, "cloudpc_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}");
            }
        }
        let _ = writeln!(
            out,
            "# HELP cloudpc_request_duration_seconds Time from request to response."
        );
        let _ = writeln!(out, "# TYPE cloudpc_request_duration_seconds histogram");
        for (bound, bucket) in BUCKETS.iter().zip(&m.buckets) {
            let _ = writeln!(
                out,
                "cloudpc_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = m.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "cloudpc_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "cloudpc_request_duration_seconds_sum {}",
            m.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "cloudpc_request_duration_seconds_count {count}");
    }

    /// Counts one answered request.
    pub fn observe(&self, route: &'static str, method: &str, status: u16, took: Duration) {
        let method = match method {
            "GET" => "GET",
            "POST" => "POST",
            "PUT" => "PUT",
            "PATCH" => "PATCH",
            "DELETE" => "DELETE",
            "HEAD" => "HEAD",
            "OPTIONS" => "OPTIONS",
            _ => "OTHER",
        };
        if let Ok(mut requests) = self.requests.lock() {
            *requests.entry((route, method, status)).or_default() += 1;
        }
        let seconds = took.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }
}

/// The route a path belongs to, with ids replaced, for the `route` label.
pub fn route_of(segments: &[String]) -> &'static str {
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let s: Vec<&str> = lower.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["_emulator", ..] => "/_emulator",
        ["metrics"] => "/metrics",
        [_, "devicemanagement", "virtualendpoint", "deviceimages"] => "deviceImages",
        [_, "devicemanagement", "virtualendpoint", "deviceimages", "$count"] => {
            "deviceImages/$count"
        }
        [_, "devicemanagement", "virtualendpoint", "deviceimages", f]
            if f.starts_with("getsourceimages") =>
        {
            "deviceImages/getSourceImages"
        }
        [_, "devicemanagement", "virtualendpoint", "deviceimages", _] => "deviceImages/{id}",
        [_, "devicemanagement", "virtualendpoint", "deviceimages", _, "retryupload"] => {
            "deviceImages/{id}/retryUpload"
        }
        [_, "devicemanagement", "virtualendpoint", "deviceimages", _, "reupload"] => {
            "deviceImages/{id}/reupload"
        }
        [_, "$batch"] => "$batch",
        _ => "other",
    }
}
