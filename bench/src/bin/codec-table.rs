//! Turns several passes of the criterion bench `codec` into the ratio table of BENCHMARKS.md.
//!
//! `codec-table PASS_DIR...`: each PASS_DIR is a copy of `target/criterion` after one
//! `cargo bench --bench codec` pass. For every case: the median time of core and bare
//! `serde_json` (criterion's median estimate), and their ratio; median [min–max] over passes.

use std::path::Path;
use std::process::ExitCode;

use capmonster_bench::median_spread;

const CASES: &[(&str, &str, &str)] = &[
    ("request", "createTask", "build createTask"),
    ("request", "getTaskResult", "build getTaskResult"),
    ("request", "getBalance", "build getBalance"),
    ("request", "report", "build reportIncorrectTokenCaptcha"),
    (
        "create-answer",
        "taskId",
        "interpret createTask answer (taskId)",
    ),
    ("response", "processing", "interpret processing"),
    ("response", "ready-small", "interpret ready, small solution"),
    (
        "response",
        "ready-large",
        "interpret ready, large solution (~23 KB)",
    ),
    ("response", "error", "interpret error"),
];

fn median_ns(dir: &Path, group: &str, id: &str) -> Option<f64> {
    let path = dir.join(group).join(id).join("new").join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn main() -> ExitCode {
    let dirs: Vec<String> = std::env::args().skip(1).collect();
    if dirs.is_empty() {
        eprintln!("usage: codec-table PASS_DIR...");
        return ExitCode::FAILURE;
    }
    println!("| case | core ns | bare serde_json ns | ratio core / serde_json | goal ≤ 1.25x |");
    println!("|---|---|---|---|---|");
    let mut all = true;
    for (group, case, label) in CASES {
        let (mut core, mut bare, mut ratio) = (vec![], vec![], vec![]);
        for d in &dirs {
            let d = Path::new(d);
            let c = median_ns(d, group, &format!("{case}_core"));
            let b = median_ns(d, group, &format!("{case}_serde_json"));
            if let (Some(c), Some(b)) = (c, b) {
                core.push(c);
                bare.push(b);
                ratio.push(c / b);
            }
        }
        if ratio.is_empty() {
            println!("| {label} | – | – | not measured | – |");
            continue;
        }
        let (cm, clo, chi) = median_spread(&mut core);
        let (bm, blo, bhi) = median_spread(&mut bare);
        let (rm, rlo, rhi) = median_spread(&mut ratio);
        let met = rm <= 1.25;
        all &= met;
        println!(
            "| {label} | {cm:.0} [{clo:.0}–{chi:.0}] | {bm:.0} [{blo:.0}–{bhi:.0}] | **{rm:.2}x** [{rlo:.2}–{rhi:.2}] | {} |",
            if met { "met" } else { "**not met**" }
        );
    }
    println!(
        "\nMedian [min–max] over {} passes of criterion's median estimate.",
        dirs.len()
    );
    if all {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}
