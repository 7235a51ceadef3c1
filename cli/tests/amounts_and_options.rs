//! Issue 18 §8: `--max-spend` rounds the cap against the user and says what an amount is
//! (negative-looking values included); `--callback-listen` on every interface needs
//! `--callback-url`; a symbolic link given as `--ledger` is refused. The built binary
//! against the simulator on 127.0.0.1, bounded in time; nothing is sent when refused.

use capmonster_sim::{Sim, SimConfig};

mod support;
use support::*;

/// A reCAPTCHA v2 task: its default price is 0.0006 USD (600 millionths).
const RECAPTCHA_V2: &str = r#"{"type":"RecaptchaV2Task","websiteURL":"https://example.com/","websiteKey":"6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-"}"#;

fn creates(sim: &Sim) -> u64 {
    sim.stats().requests.get("createTask").copied().unwrap_or(0)
}

fn solve(sim: &Sim, args: &[&str]) -> Out {
    let mut c = capmonster(["--base-url", &sim.base_url(), "--client-key", KEY]);
    c.args(FAST).args(args).args(["solve", "-"]);
    run_command(c, Some(RECAPTCHA_V2), RUN_LIMIT)
}

#[test]
fn a_cap_just_below_the_price_refuses_the_task() {
    let sim = Sim::spawn(SimConfig::instant()).expect("sim");
    // 0.0005999 used to round to 600 millionths and let the 600 task through.
    let out = solve(&sim, &["--max-spend", "0.0005999"]);
    assert_eq!(out.code, 6, "{}", out.stderr);
    assert!(out.stderr.contains("spend limit"), "{}", out.stderr);
    assert_eq!(creates(&sim), 0);
    // The price itself is not rounded away: a cap of exactly 0.0006 lets it through.
    let out = solve(&sim, &["--max-spend", "0.0006"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(creates(&sim), 1);
}

#[test]
fn max_spend_says_what_an_amount_is() {
    let sim = Sim::spawn(SimConfig::instant()).expect("sim");
    for bad in ["-inf", "inf", "NaN", "-1", "abc", "-0.5"] {
        for args in [
            vec!["--max-spend".to_owned(), bad.to_owned()],
            vec![format!("--max-spend={bad}")],
        ] {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = solve(&sim, &args);
            assert_eq!(out.code, 2, "{bad}: {}", out.stderr);
            assert!(
                out.stderr.contains(
                    "--max-spend takes an amount in US dollars, a finite number ≥ 0 (e.g. 0.5)"
                ),
                "{bad}: {}",
                out.stderr
            );
        }
    }
    assert_eq!(creates(&sim), 0);
}

#[test]
fn callback_listen_on_every_interface_needs_a_callback_url() {
    let sim = Sim::spawn(SimConfig::instant()).expect("sim");
    for addr in ["0.0.0.0:0", "[::]:0"] {
        let out = solve(&sim, &["--callback-listen", addr]);
        assert_eq!(out.code, 2, "{addr}: {}", out.stderr);
        assert!(
            out.stderr.contains("--callback-url"),
            "{addr}: {}",
            out.stderr
        );
        assert!(out.stderr.contains("public URL"), "{addr}: {}", out.stderr);
    }
    assert_eq!(creates(&sim), 0);
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_as_ledger_is_refused_and_nothing_is_created_through_it() {
    let sim = Sim::spawn(SimConfig::instant()).expect("sim");
    let dir = temp_dir("ledger-link");
    let target = dir.join("target.db");
    let link = dir.join("link.db");
    let _ = std::fs::remove_file(&link);
    let _ = std::fs::remove_file(&target);
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let out = solve(&sim, &["--ledger", &link.display().to_string()]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("symbolic link"), "{}", out.stderr);
    assert!(out.stderr.contains("link.db"), "{}", out.stderr);
    assert!(!target.exists(), "created through the link");
    assert_eq!(creates(&sim), 0);
    let _ = std::fs::remove_dir_all(&dir);
}
