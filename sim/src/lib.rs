//! An offline CapMonster Cloud simulator: a local HTTP/1.1 server (hyper 1 on its own tokio
//! runtime) that speaks the CapMonster Cloud JSON protocol, enforces its documented rules and
//! injects faults on demand. Written from the API reference independently of
//! `capmonster-core`: requests are read as raw `serde_json::Value`s.
//!
//! ```no_run
//! use capmonster_sim::{DEFAULT_TEST_KEY, Sim, SimConfig};
//! let sim = Sim::spawn(SimConfig::instant()).unwrap();
//! // point a client at sim.base_url() with clientKey DEFAULT_TEST_KEY ...
//! println!("{} {}", sim.base_url(), DEFAULT_TEST_KEY);
//! let stats = sim.stats();
//! assert_eq!(stats.tasks_over_poll_limit, 0);
//! ```
//!
//! # Endpoints
//!
//! `POST` (any Content-Type) `/createTask`, `/getTaskResult`, `/getBalance`,
//! `/reportIncorrectImageCaptcha`, `/reportIncorrectTokenCaptcha` (aliases
//! `/reportIncorrectRecaptcha`, `/reportIncorrectHcaptcha`); `GET /api/useragent/actual`
//! (plain-text Windows Chrome UA, [`DEFAULT_USER_AGENT`]); `GET /_sim/stats` ([`Stats`] as
//! JSON); `GET /_sim/tasks` (every [`CreatedTask`]); `POST /_sim/trip`
//! (`{"code":"ERROR_KEY_DOES_NOT_EXIST","count":1}`: answer the next `count` requests, or all
//! of them, with that account-level error, and count every request after it, see
//! [`Sim::trip`]) and `POST /_sim/untrip`. Routing uses the **last path segment**, so a base URL with a prefix
//! (`http://127.0.0.1:P/prefix/createTask`) works. Other paths: HTTP 404 with
//! `ERROR_NO_SUCH_METHOD`. JSON field names are matched case-insensitively (`clientKey` /
//! `ClientKey`, `websiteURL` / `websiteUrl`, `class` / `Class`, ...), `null` counts as absent,
//! and a `__suffix` on the key (`KEY__nocache`) is ignored for account lookup.
//!
//! # Accounts and the default-key rule
//!
//! With **no configured accounts** ([`SimConfig::with_account`] never called) the simulator
//! accepts **any key of exactly 32 hexadecimal characters** (such as [`DEFAULT_TEST_KEY`]),
//! each starting with a balance of 1000.0 USD, and rejects every other key with
//! `ERROR_KEY_DOES_NOT_EXIST`. Once any account is configured, only configured keys work.
//! Creating a task reserves its price (image tasks 0.0003, reCAPTCHA Enterprise 0.001,
//! every other token 0.0006); tasks that end in an error are refunded. A balance below the
//! task's price gives `ERROR_ZERO_BALANCE` (HTTP 200).
//!
//! # Validation error codes (choices)
//!
//! createTask first validates the task (the checks below; they draw no random numbers) and
//! only then, for an accepted task, generates its solution, which can no longer fail; the
//! checks live in the crate's `src/tasks/validate.rs`, the solutions in
//! `src/tasks/solution.rs`. Within a type the checks run in a fixed order and the first
//! failure decides the code. Malformed JSON or a missing or non-object `task` →
//! `ERROR_TASK_ABSENT`. Of the task's checks, the 2026-08 documentation's come first: a `proxyLogin`
//! or `proxyPassword` containing `%` → `ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER`; reCAPTCHA
//! v3 `minScore` not a number in 0.1–0.9 or ImageToText `recognizingThreshold` not an integer
//! in 0–100 → `ERROR_INVALID_TASK`, whose `errorDescription` starts with the field's name.
//! Then: a task without `type` → `ERROR_NO_SUCH_METHOD`; unknown `type`, CustomTask/ComplexImageTask `class` or
//! `cloudflareTaskType` → `ERROR_TASK_NOT_SUPPORTED`; missing or non-`http(s)://`
//! `websiteURL` → `ERROR_RECAPTCHA_INVALID_DOMAIN`; missing/empty site key (`websiteKey`,
//! `websitePublicKey`, GeeTest `gt`) → `ERROR_RECAPTCHA_INVALID_SITEKEY` (empty allowed where
//! the docs allow "any string": AmazonTask, altcha, cf_clearance/wait_room); incomplete
//! proxy (`proxyType` not http/https/socks4/socks5, no address, port not 1..65535) or a
//! missing proxy where the type requires one (DataDome, Imperva, tspd, HUNT,
//! cf_clearance, wait_room) → `ERROR_PROXY_MISSING`; any other missing required field
//! (per the documentation's parameter tables) → `ERROR_TASK_ABSENT`. ImageToTextTask `body`: decoded size
//! (computed from the base64 text length and padding; text that is not base64 counts by its
//! length; a `data:...;base64,` prefix is skipped) above [`SimConfig::max_image_bytes`]
//! (default 50 KiB, the documented limit; raise it with [`SimConfig::with_max_image_bytes`]
//! or `--max-image-bytes`, as `capmonster --sim --max-image-bytes N` does to match the
//! client's own limit) → `ERROR_TOO_BIG_CAPTCHA_FILESIZE`, below 100 bytes or missing →
//! `ERROR_ZERO_CAPTCHA_FILESIZE`. ComplexImageTask images: same upper limit; only empty
//! strings count as too small. Legacy names (`NoCaptchaTask`, `NoCaptchaTaskProxyless`,
//! any `...Proxyless`) are accepted, case-insensitively. CustomTask classes: `Basilisk`,
//! `TenDI`, `DataDome`, `Imperva`, `altcha`, `Castle`, `tspd`, `HUNT`, `alibaba` (standard
//! `sceneId` + `prefix`, or punish mode with `punishUrl` alone; `cookieRequired: true`
//! answers `domains.<host>.cookies`), `Temu` and `friendly` (Friendly Captcha: `websiteKey`
//! and an http(s) `metadata.apiGetLib` required; answer `{"data":{"token":"…"}}`).
//!
//! # Solving and rules
//!
//! Each task gets a solve time drawn uniformly (seeded splitmix64) from its range:
//! ImageToText/ComplexImage 0.3–6 s, reCAPTCHA v2 1–10 s (the docs' "100 ms" is not
//! credible), v2 Enterprise and hCaptcha 10–80 s, v3/v3 Enterprise, GeeTest and FunCaptcha
//! 10–30 s, everything else (Turnstile, Amazon, CustomTask, ...) 5–20 s; override with
//! [`SimConfig::with_solve_time`] or use [`SimConfig::instant`]. Until then getTaskResult
//! answers `{"errorId":0,"errorCode":null,"errorDescription":null,"status":"processing"}`;
//! afterwards `status:"ready"` with a `solution` in the documented shape of the type plus
//! `cost` (number), `ip` (creator's IP string), `createTime`/`endTime` (Unix seconds) and
//! `solveCount` (1). [`SimConfig::with_unsolvable_rate`] makes tasks end in
//! `ERROR_CAPTCHA_UNSOLVABLE` instead.
//!
//! * **Poll limit**: getTaskResult number 121 (and later) for one task gets
//!   `ERROR_TOO_MUCH_REQUESTS`, counts a lock event and locks the key for
//!   [`SimConfig::lock_duration`] (10 min); while locked, every request with the key gets
//!   `ERROR_IP_BLOCKED`. Polls answered by an injected fault still count.
//! * **Min poll interval** (off by default): closer polls get `ERROR_TOO_MUCH_REQUESTS`.
//! * **Retention**: a task disappears [`SimConfig::retention`] (300 s) after it became
//!   ready; then, like unknown ids or another key's tasks, `ERROR_NO_SUCH_CAPCHA_ID`.
//! * **callbackUrl**: when a task finishes, its getTaskResult-shaped body is POSTed to the
//!   URL **only if** it is `http://` on a loopback host (127.0.0.0/8, `localhost`,
//!   `[::1]`); other URLs are never contacted and are counted in
//!   [`Stats::callbacks_refused`]. [`SimConfig::with_callback_fault`] drops, delays,
//!   duplicates, reorders or forges them ([`CallbackFault`], by rate or n-th callback).
//! * **reportIncorrect\***: `{"errorId":0,"status":"success"}` for a live task of the same
//!   key, `ERROR_NO_SUCH_CAPCHA_ID` otherwise.
//!
//! # Dialects
//!
//! [`SimConfig::with_dialect`] (`--dialect NAME`) makes the simulator speak Anti-Captcha,
//! 2Captcha/RuCaptcha or CapSolver instead of CapMonster Cloud (the default, unchanged): their
//! task type names, task ids (2Captcha's above 32 bits, CapSolver's UUIDs), error codes and
//! `errorId` numbering (CapSolver: HTTP 400/401), statuses (CapSolver's `idle`/`failed` and
//! synchronous ImageToText), `cost` strings, report endpoints, key rule (CapSolver: `CAP-` +
//! 32 hex, [`CAPSOLVER_TEST_KEY`]), retention and 2Captcha's form-encoded callbacks. A dialect
//! is a table of data ([`Dialect`]); everything else above (rules, faults, trips, stats)
//! works in each one. The dialect is per server; run one simulator per service to test
//! failover.
//!
//! # Fault injection
//!
//! See [`Fault`] for what each fault does on the wire and [`FaultRule`] for triggers
//! (rate, seeded; or the n-th request to an endpoint). Faults are counted in
//! [`Stats::faults`].
#![forbid(unsafe_code)]

mod cli;
mod clock;
mod config;
mod dialect;
mod rng;
mod server;
mod state;
mod tasks;

pub use cli::{DEFAULT_ADDR, SimArgs, run_foreground};
pub use config::{
    CallbackFault, CallbackRule, Endpoint, Fault, FaultRule, REORDER_WINDOW, SimConfig, SolveTime,
    Trigger,
};
pub use dialect::{CAPSOLVER_TEST_KEY, Dialect, UNNUMBERED_ERROR_ID};
pub use server::Sim;
pub use state::{CreatedTask, Stats};

/// A 32-hex-character key accepted by the default configuration (no accounts configured).
pub const DEFAULT_TEST_KEY: &str = "0123456789abcdef0123456789abcdef";

/// The Windows Chrome user agent served by `GET /api/useragent/actual` and used in solutions
/// when the task carries no `userAgent`.
pub const DEFAULT_USER_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/139.0.0.0 Safari/537.36";
