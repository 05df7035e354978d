//! 4. Policy evaluation alone: the criterion benchmark's estimates
//!    (`cargo bench -p elevated --bench policy`, run by scripts/bench just
//!    before), read from its output directory.

use std::path::Path;

fn median_ns(dir: &Path) -> Option<(f64, f64, f64)> {
    let text = std::fs::read_to_string(dir.join("new/estimates.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let m = &v["median"];
    Some((
        m["point_estimate"].as_f64()?,
        m["confidence_interval"]["lower_bound"].as_f64()?,
        m["confidence_interval"]["upper_bound"].as_f64()?,
    ))
}

pub fn report() {
    let target = elevated_tests::bin_dir().parent().unwrap().to_path_buf();
    let group = target.join("criterion/policy_decide");
    println!("## 4. Policy evaluation (criterion)\n");
    println!(
        "| policy shape | rules | median per decision | 95% interval | decisions/s |\n\
         |---|---:|---:|---:|---:|"
    );
    for shape in ["spread", "one_role", "one_role_named"] {
        for n in [10, 100, 1000] {
            let Some((m, lo, hi)) = median_ns(&group.join(shape).join(n.to_string())) else {
                panic!(
                    "no criterion result in {}: run `cargo bench -p elevated --bench policy` first",
                    group.display()
                );
            };
            println!(
                "| {shape} | {n} | {:.2} µs | {:.2}–{:.2} µs | {:.0} |",
                m / 1000.0,
                lo / 1000.0,
                hi / 1000.0,
                1e9 / m
            );
        }
    }
    println!(
        "\n(target ≥ 200,000 decisions/s at 1,000 rules; *one_role_named* is the \
         adversarial case the rule index cannot narrow: every rule names the \
         requester's group and misses only on its time window)\n"
    );
}
