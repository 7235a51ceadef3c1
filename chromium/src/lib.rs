//! # capmonster-chromium
//!
//! Solves the captchas of a live web page in Chromium, over the Chrome DevTools Protocol
//! ([chromiumoxide](https://docs.rs/chromiumoxide)): [`solve_page`] finds every widget with
//! [capmonster-page](https://docs.rs/capmonster-page), solves them concurrently through a
//! capmonster client (so its ledger, account guard, spend cap and polling rules apply),
//! hands each token to its widget (response fields, the page's callback, reCAPTCHA v3's
//! `execute` promise), and says what it did per captcha. The page stays open.
//!
//! ```no_run
//! use capmonster_chromium::{Chromium, LaunchOptions, SolveOptions, solve_page};
//! use std::time::Duration;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = capmonster::Client::from_env()?; // or a capmonster_core::Client, or any Solver
//! let chromium = Chromium::launch(&LaunchOptions::default()).await?;
//! let page = chromium.open("https://example.com/login", Duration::from_secs(30)).await?;
//! for r in solve_page(&page, &client, &SolveOptions::default()).await? {
//!     println!("{}", r.to_json());
//! }
//! // ... go on with `page` (submit the form) ...
//! chromium.close().await?;
//! # Ok(()) }
//! ```
//!
//! ## The browser
//!
//! Chromium comes from the system (Debian: `apt-get install chromium`); nothing here
//! downloads one. [`find_chromium`] takes a path, or `$CAPMONSTER_CHROMIUM`, or looks for
//! `chromium`, `chromium-browser`, `google-chrome-stable`, `google-chrome`, `chrome` on `PATH`.
//! [`Chromium::launch`] starts it headless with a temporary profile. Its sandbox is turned
//! off (`--no-sandbox`) only when running as root (containers, CI), where Chromium does not
//! start with it; [`LaunchOptions::sandbox`] overrides.
//!
//! No browser process is left behind: [`Chromium::close`] asks the browser to quit, then
//! kills it and every process it started (found through `/proc`, each checked by pid and
//! start time); dropping a [`Chromium`] that was not closed (an error path, a panic
//! unwinding) kills them at once. A program that wants the same on Ctrl-C turns SIGINT into
//! `close` (the `capmonster` CLI does); a process killed with SIGKILL cannot clean up.
//!
//! ## What is solved, what is not
//!
//! The hook script is installed in every document before the page's own scripts
//! ([`Chromium::new_page`]), then the page is looked at until its widgets settle
//! ([`SolveOptions::wait`]). A widget whose parameters the page does not reveal is reported
//! with the parameter and the reason, and not solved. A widget whose token could not be
//! handed to the page — it sits in a cross-origin frame, the callback it names is not a
//! function on the page, a GeeTest captcha object was never handed to the page — is found out
//! before its task is created, and not solved: nothing is paid for it. Frames of another
//! origin on the same site (another port or subdomain) are read in their own context, so that
//! their widgets are reported (as not injectable); a cross-site frame runs in another
//! process and is not read.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod browser;
mod error;
mod solve;

pub use browser::{BrowserProcess, CHROMIUM_ENV, Chromium, LaunchOptions, find_chromium};
pub use error::{CaptchaError, Error};
pub use solve::{
    CaptchaReport, PROVIDER, SolveOptions, Solver, detect_once, detect_page, inject,
    screenshot_png, solve_page,
};

/// The chromiumoxide types this crate's API uses.
pub use chromiumoxide::{Browser, Page};

/// The README's Rust snippet, compiled as a doctest so that it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
