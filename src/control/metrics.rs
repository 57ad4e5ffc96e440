//! The request metrics `GET /metrics` shows (rendered in `http/control/metrics.rs`): requests by route, method and
//! status, and a latency histogram.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::graph::path::Segments;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// The labels of `cloudpc_requests_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

/// The label of `cloudpc_device_images`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

/// The emulator's metrics since the process started, in the Prometheus client's registry. Requests are counted as
/// they are answered; the gauges read from the database are set just before each rendering.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Histogram,
    images: Family<StatusLabel, Gauge>,
    journal_rows: Gauge,
    journal_dropped: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let duration = Histogram::new(BUCKETS);
        let images = Family::<StatusLabel, Gauge>::default();
        let (journal_rows, journal_dropped) = (Gauge::default(), Counter::default());
        let mut registry = Registry::default();
        registry.register(
            "cloudpc_requests",
            "Requests answered, by route, method and status",
            requests.clone(),
        );
        registry.register(
            "cloudpc_request_duration_seconds",
            "Time from request to response",
            duration.clone(),
        );
        registry.register(
            "cloudpc_device_images",
            "Device images, by status (all tenants)",
            images.clone(),
        );
        registry.register(
            "cloudpc_journal_rows",
            "Requests the journal holds",
            journal_rows.clone(),
        );
        registry.register(
            "cloudpc_journal_dropped",
            "Journal entries lost to a full queue",
            journal_dropped.clone(),
        );
        Self {
            registry,
            requests,
            duration,
            images,
            journal_rows,
            journal_dropped,
        }
    }
}

impl Metrics {
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
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
        self.duration.observe(took.as_secs_f64());
    }

    /// Renders every metric in the text format, after setting what was read from the database: the images of each
    /// status, the journal's rows, and how many journal entries were dropped so far.
    pub fn render(
        &self,
        images: &[(&'static str, i64)],
        journal_rows: i64,
        dropped: u64,
    ) -> String {
        for (status, n) in images {
            self.images.get_or_create(&StatusLabel { status }).set(*n);
        }
        self.journal_rows.set(journal_rows);
        self.journal_dropped
            .inc_by(dropped.saturating_sub(self.journal_dropped.get()));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The route a path belongs to, with ids replaced, for the `route` label.
pub fn route_of(segments: &Segments) -> &'static str {
    // Every request passes here: the normalized path is lower-cased once and its segments matched as slices of it
    // (a lower-case copy of each cost two vectors and an allocation per segment).
    const LONGEST: usize = 6;
    if segments.len() > LONGEST {
        // Only the control plane's routes are longer (`["_emulator", ..]` below): the first segment decides.
        let control = segments
            .first()
            .is_some_and(|s| s.eq_ignore_ascii_case("_emulator"));
        return if control { "/_emulator" } else { "other" };
    }
    // ASCII lower-casing keeps every byte where it was, so the spans hold in the copy.
    let lower = segments.normalized().to_ascii_lowercase();
    let mut parts = [""; LONGEST];
    for (part, span) in parts.iter_mut().zip(segments.spans()) {
        *part = &lower[span];
    }
    route_of_lower(&parts[..segments.len()])
}

/// [`route_of`] for lower-case segments.
fn route_of_lower(segments: &[&str]) -> &'static str {
    match segments {
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
        [_, "devicemanagement", "virtualendpoint", "provisioningpolicies"] => {
            "provisioningPolicies"
        }
        [_, "devicemanagement", "virtualendpoint", "provisioningpolicies", "$count"] => {
            "provisioningPolicies/$count"
        }
        [_, "devicemanagement", "virtualendpoint", "provisioningpolicies", _] => {
            "provisioningPolicies/{id}"
        }
        [_, "devicemanagement", "virtualendpoint", "provisioningpolicies", _, "assign"] => {
            "provisioningPolicies/{id}/assign"
        }
        [_, "devicemanagement", "virtualendpoint", "provisioningpolicies", _, "assignments"] => {
            "provisioningPolicies/{id}/assignments"
        }
        [_, "devicemanagement", "virtualendpoint", "galleryimages"] => "galleryImages",
        [_, "devicemanagement", "virtualendpoint", "galleryimages", "$count"] => {
            "galleryImages/$count"
        }
        [_, "devicemanagement", "virtualendpoint", "galleryimages", _] => "galleryImages/{id}",
        [_, "$batch"] => "$batch",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::route_of;
    use crate::graph::path::Segments;

    fn route(path: &str) -> &'static str {
        route_of(&Segments::parse(path))
    }

    #[test]
    fn routes_are_matched_without_case_with_ids_replaced() {
        let images = "/v1.0/deviceManagement/virtualEndpoint/deviceImages";
        assert_eq!(route(images), "deviceImages");
        assert_eq!(
            route("/BETA/DEVICEMANAGEMENT/virtualendpoint/DeviceImages"),
            "deviceImages"
        );
        assert_eq!(route(&format!("{images}/Ab-1")), "deviceImages/{id}");
        assert_eq!(
            route(&format!("{images}/a%2Fb")),
            "deviceImages/{id}",
            "a decoded / stays in its segment"
        );
        assert_eq!(
            route(&format!("{images}/x/RETRYUPLOAD")),
            "deviceImages/{id}/retryUpload"
        );
        assert_eq!(
            route(&format!("{images}/x/retryUpload/more")),
            "other",
            "longer than any route"
        );
        assert_eq!(route("/v1.0/$batch"), "$batch");
        assert_eq!(route("/_Emulator/requests"), "/_emulator");
        assert_eq!(
            route("/_emulator/a/b/c/d/e/f"),
            "/_emulator",
            "the control plane at any depth"
        );
        assert_eq!(route("/"), "other");
        assert_eq!(
            route("/v1.0/deviceManagement/virtualEndpoint/galleryImages/%C3%A9"),
            "galleryImages/{id}"
        );
    }
}
