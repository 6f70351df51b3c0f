//! A small Prometheus registry: counters, gauges and histograms with optional labels,
//! rendered in the text exposition format (version 0.0.4) on `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A registry of metric families. Cloning gives another handle to the same registry.
#[derive(Clone, Default, Debug)]
pub struct Metrics {
    families: Arc<Mutex<BTreeMap<String, Family>>>,
}

#[derive(Debug)]
struct Family {
    help: String,
    kind: &'static str,
    /// Rendered label set (`{a="b"}` or empty) → value.
    series: BTreeMap<String, Series>,
}

#[derive(Debug, Clone)]
enum Series {
    Counter(Counter),
    Gauge(Gauge),
    Histogram(Histogram),
}

/// A monotonically increasing count.
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.add(1);
    }
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    /// The current count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Clone, Default)]
pub struct Gauge(Arc<AtomicI64>);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// Subtracts one.
    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
    /// The current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A distribution of observations (e.g. seconds) over fixed buckets.
#[derive(Debug, Clone)]
pub struct Histogram(Arc<Mutex<HistogramState>>);

#[derive(Debug)]
struct HistogramState {
    bounds: Vec<f64>,
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, v: f64) {
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for (i, b) in s.bounds.clone().iter().enumerate() {
            if v <= *b {
                s.counts[i] += 1;
            }
        }
        s.sum += v;
        s.count += 1;
    }
}

/// Default buckets for durations in seconds.
pub const SECONDS_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0];

fn render_labels(labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")))
        .collect();
    format!("{{{}}}", inner.join(","))
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn series(
        &self,
        name: &str,
        help: &str,
        kind: &'static str,
        labels: &[(&str, &str)],
        make: impl FnOnce() -> Series,
    ) -> Series {
        let mut families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let family = families.entry(name.to_owned()).or_insert_with(|| Family {
            help: help.to_owned(),
            kind,
            series: BTreeMap::new(),
        });
        family.series.entry(render_labels(labels)).or_insert_with(make).clone()
    }

    /// The counter `name` (with `labels`), registered on first use.
    pub fn counter(&self, name: &str, help: &str, labels: &[(&str, &str)]) -> Counter {
        match self.series(name, help, "counter", labels, || Series::Counter(Counter::default())) {
            Series::Counter(c) => c,
            _ => Counter::default(), // a name reused with another type: a detached metric
        }
    }

    /// The gauge `name` (with `labels`), registered on first use.
    pub fn gauge(&self, name: &str, help: &str, labels: &[(&str, &str)]) -> Gauge {
        match self.series(name, help, "gauge", labels, || Series::Gauge(Gauge::default())) {
            Series::Gauge(g) => g,
            _ => Gauge::default(),
        }
    }

    /// The histogram `name` with bucket upper bounds `bounds` (ascending).
    pub fn histogram(&self, name: &str, help: &str, labels: &[(&str, &str)], bounds: &[f64]) -> Histogram {
        let make = || {
            Series::Histogram(Histogram(Arc::new(Mutex::new(HistogramState {
                bounds: bounds.to_vec(),
                counts: vec![0; bounds.len()],
                sum: 0.0,
                count: 0,
            }))))
        };
        match self.series(name, help, "histogram", labels, make) {
            Series::Histogram(h) => h,
            _ => match make() {
                Series::Histogram(h) => h,
                _ => unreachable!("make builds a histogram"),
            },
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        for (name, f) in families.iter() {
            let _ = writeln!(out, "# HELP {name} {}", f.help.replace('\\', "\\\\").replace('\n', "\\n"));
            let _ = writeln!(out, "# TYPE {name} {}", f.kind);
            for (labels, s) in &f.series {
                match s {
                    Series::Counter(c) => {
                        let _ = writeln!(out, "{name}{labels} {}", c.get());
                    }
                    Series::Gauge(g) => {
                        let _ = writeln!(out, "{name}{labels} {}", g.get());
                    }
                    Series::Histogram(h) => {
                        let h = h.0.lock().unwrap_or_else(|p| p.into_inner());
                        let with = |extra: &str| {
                            if labels.is_empty() {
                                format!("{{{extra}}}")
                            } else {
                                format!("{},{extra}}}", &labels[..labels.len() - 1])
                            }
                        };
                        for (b, c) in h.bounds.iter().zip(&h.counts) {
                            let _ = writeln!(out, "{name}_bucket{} {c}", with(&format!("le=\"{b}\"")));
                        }
                        let _ = writeln!(out, "{name}_bucket{} {}", with("le=\"+Inf\""), h.count);
                        let _ = writeln!(out, "{name}_sum{labels} {}", h.sum);
                        let _ = writeln!(out, "{name}_count{labels} {}", h.count);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_text_format() {
        let m = Metrics::new();
        m.counter("tsn_messages_total", "Messages handled.", &[("outcome", "ok")]).add(3);
        m.counter("tsn_messages_total", "Messages handled.", &[("outcome", "failed")]).inc();
        m.gauge("tsn_in_flight", "Requests in flight.", &[]).set(2);
        let h = m.histogram("tsn_solve_seconds", "Solve time.", &[], &[0.1, 1.0]);
        h.observe(0.05);
        h.observe(0.5);
        let text = m.render();
        assert!(text.contains("# TYPE tsn_messages_total counter\n"), "{text}");
        assert!(text.contains("tsn_messages_total{outcome=\"ok\"} 3\n"), "{text}");
        assert!(text.contains("tsn_messages_total{outcome=\"failed\"} 1\n"), "{text}");
        assert!(text.contains("tsn_in_flight 2\n"), "{text}");
        assert!(text.contains("tsn_solve_seconds_bucket{le=\"0.1\"} 1\n"), "{text}");
        assert!(text.contains("tsn_solve_seconds_bucket{le=\"1\"} 2\n"), "{text}");
        assert!(text.contains("tsn_solve_seconds_bucket{le=\"+Inf\"} 2\n"), "{text}");
        assert!(text.contains("tsn_solve_seconds_count 2\n"), "{text}");
        // The same series is shared.
        assert_eq!(m.counter("tsn_messages_total", "", &[("outcome", "ok")]).get(), 3);
    }

    #[test]
    fn labelled_histograms_and_escaping() {
        let m = Metrics::new();
        m.histogram("h", "x", &[("a", "q\"b")], &[1.0]).observe(2.0);
        let text = m.render();
        assert!(text.contains("h_bucket{a=\"q\\\"b\",le=\"1\"} 0\n"), "{text}");
        assert!(text.contains("h_count{a=\"q\\\"b\"} 1\n"), "{text}");
    }
}
