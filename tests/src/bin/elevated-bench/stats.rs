//! Percentiles and the report's table rows.

use std::time::Duration;

/// Median, p99 and extremes of a set of samples.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub n: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

/// Nearest-rank percentile of sorted samples.
fn rank(sorted: &[Duration], pct: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((pct / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[idx.clamp(1, sorted.len()) - 1]
}

pub fn summary(samples: &[Duration]) -> Summary {
    let mut s = samples.to_vec();
    s.sort();
    Summary {
        n: s.len(),
        p50: rank(&s, 50.0),
        p99: rank(&s, 99.0),
        max: s.last().copied().unwrap_or_default(),
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub fn ratio(a: Duration, b: Duration) -> String {
    if b.is_zero() {
        return "n/a".into();
    }
    format!("{:.3}", a.as_secs_f64() / b.as_secs_f64())
}

/// A markdown table row of a sample set: name | n | p50 | p99 | max.
pub fn row(name: &str, s: &Summary) -> String {
    format!(
        "| {name} | {} | {} | {} | {} |",
        s.n,
        ms(s.p50),
        ms(s.p99),
        ms(s.max)
    )
}

pub const HEADER: &str = "| what | n | p50 | p99 | max |\n|---|---:|---:|---:|---:|";
