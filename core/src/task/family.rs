//! [`TaskFamily`] (named at the crate root) and the one table of what the crate knows about
//! each family: [`FamilyFacts`].
//!
//! Every place that depends on the family (recognising a task `type`, validating it, the
//! official poll schedule, the documented solve times, the callback fallback, the calibration
//! prior, the report endpoint, the default price, the name in a record, which solution field
//! holds the answer) reads [`TaskFamily::facts`]; no other code matches on the family with a
//! default arm. Adding a task type is: a variant (before `Unknown`), its entry in [`TABLE`]
//! (the compiler refuses a table whose length or order does not follow the enum), a builder,
//! fixtures and tests. See `docs/ADD_A_TASK_TYPE.md`.

use std::time::Duration;

use crate::endpoint::ReportKind;
use crate::error::Error;
use crate::vocab::MicroUsd;

use super::validate::{Checker, Images};

/// A polling schedule: first delay, interval, overall timeout (official SDK notation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Delay between createTask succeeding and the first getTaskResult.
    pub first_delay: Duration,
    /// First delay when the task has `nocache` set, where the SDKs define one.
    pub nocache_first_delay: Option<Duration>,
    /// Interval between polls.
    pub interval: Duration,
    /// Overall time before giving up.
    pub timeout: Duration,
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub(crate) const fn sched(first: u64, nocache: Option<u64>, every: u64, total_s: u64) -> Schedule {
    Schedule {
        first_delay: ms(first),
        nocache_first_delay: match nocache {
            Some(n) => Some(ms(n)),
            None => None,
        },
        interval: ms(every),
        timeout: Duration::from_secs(total_s),
    }
}

/// The family a task belongs to: it decides the default polling schedule and which typed
/// solution accessors make sense.
///
/// Every family, the task `type` (and `class`) it stands for, and its default price estimate
/// for the spend cap ([`PriceTable`](crate::ledger::PriceTable), in US dollars per task; see
/// there why these are estimates):
///
/// | family | task | default price (USD) |
/// |---|---|---|
/// | `ImageToText` | `ImageToTextTask` | 0.0003 |
/// | `ComplexImage` | `ComplexImageTask` | 0.0008 |
/// | `RecaptchaV2` | `RecaptchaV2Task` | 0.0006 |
/// | `RecaptchaV2Enterprise` | `RecaptchaV2EnterpriseTask` | 0.0010 |
/// | `RecaptchaV3` | `RecaptchaV3Task` | 0.0009 |
/// | `RecaptchaV3Enterprise` | `RecaptchaV3EnterpriseTask` | 0.0010 |
/// | `FunCaptcha` | `FunCaptchaTask` | 0.0010 |
/// | `HCaptcha` | `HCaptchaTask` | 0.0010 |
/// | `GeeTest` | `GeeTestTask` | 0.0012 |
/// | `Turnstile` | `TurnstileTask` | 0.0013 |
/// | `Amazon` | `AmazonTask` | 0.0020 |
/// | `Binance` | `BinanceTask` | 0.0012 |
/// | `MtCaptcha` | `MTCaptchaTask` | 0.0010 |
/// | `Prosopo` | `ProsopoTask` | 0.0010 |
/// | `Yidun` | `YidunTask` | 0.0010 |
/// | `YandexSmartCaptcha` | `YandexSmartCaptchaTask` | 0.0010 |
/// | `DataDome` | `CustomTask` / `DataDome` | 0.0020 |
/// | `Imperva` | `CustomTask` / `Imperva` | 0.0020 |
/// | `TenDi` | `CustomTask` / `TenDI` | 0.0010 |
/// | `Basilisk` | `CustomTask` / `Basilisk` | 0.0010 |
/// | `Altcha` | `CustomTask` / `altcha` | 0.0010 |
/// | `Castle` | `CustomTask` / `Castle` | 0.0020 per token |
/// | `Tspd` | `CustomTask` / `tspd` | 0.0020 |
/// | `Hunt` | `CustomTask` / `HUNT` | 0.0020 |
/// | `Alibaba` | `CustomTask` / `alibaba` | 0.0020 |
/// | `Temu` | `CustomTask` / `Temu` | 0.0020 |
/// | `Friendly` | `CustomTask` / `friendly` | 0.0010 |
/// | `CustomOther` | `CustomTask` / another class | 0.0030 |
/// | `Unknown` | another type | 0.0030 |
///
/// (`Proxyless` spellings and aliases such as `NoCaptchaTask` belong to the same family.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum TaskFamily {
    /// `ImageToTextTask`.
    ImageToText,
    /// `ComplexImageTask` (any class).
    ComplexImage,
    /// `RecaptchaV2Task` and its aliases.
    RecaptchaV2,
    /// `RecaptchaV2EnterpriseTask`.
    RecaptchaV2Enterprise,
    /// `RecaptchaV3TaskProxyless`.
    RecaptchaV3,
    /// `RecaptchaV3EnterpriseTask`.
    RecaptchaV3Enterprise,
    /// `FunCaptchaTask`.
    FunCaptcha,
    /// `HCaptchaTask`.
    HCaptcha,
    /// `GeeTestTask` (v3 and v4).
    GeeTest,
    /// `TurnstileTask` (widget, Cloudflare challenge, waiting room).
    Turnstile,
    /// `AmazonTask`.
    Amazon,
    /// `BinanceTask`.
    Binance,
    /// `MTCaptchaTask`.
    MtCaptcha,
    /// `ProsopoTask`.
    Prosopo,
    /// `YidunTask`.
    Yidun,
    /// `YandexSmartCaptchaTaskProxyless` (historical).
    YandexSmartCaptcha,
    /// `CustomTask` class `DataDome`.
    DataDome,
    /// `CustomTask` class `Imperva`.
    Imperva,
    /// `CustomTask` class `TenDI`.
    TenDi,
    /// `CustomTask` class `Basilisk`.
    Basilisk,
    /// `CustomTask` class `altcha`.
    Altcha,
    /// `CustomTask` class `Castle`.
    Castle,
    /// `CustomTask` class `tspd`.
    Tspd,
    /// `CustomTask` class `HUNT`.
    Hunt,
    /// `CustomTask` class `alibaba`.
    Alibaba,
    /// `CustomTask` class `Temu`.
    Temu,
    /// `CustomTask` class `friendly`.
    Friendly,
    /// A `CustomTask` with a class this crate does not know.
    CustomOther,
    /// A task type this crate does not know.
    // Keep it last: the family table is indexed by the variant's position.
    Unknown,
}

impl TaskFamily {
    /// The family of a task `type` (with an optional `class`), aliases and `Proxyless`
    /// spellings included. Class names match case-insensitively.
    pub fn of(type_name: &str, class: Option<&str>) -> Self {
        let base = type_name
            .strip_suffix("Proxyless")
            .or_else(|| type_name.strip_suffix("ProxyLess"))
            .unwrap_or(type_name);
        if base == CUSTOM_TASK {
            let class = class.unwrap_or_default();
            return TABLE
                .iter()
                .find(|f| f.class.is_some_and(|c| c.eq_ignore_ascii_case(class)))
                .map_or(Self::CustomOther, |f| f.family);
        }
        TABLE
            .iter()
            .find(|f| f.class.is_none() && f.types.contains(&base))
            .map_or(Self::Unknown, |f| f.family)
    }

    /// Whether the family is solved by image recognition (ImageToText, ComplexImageTask):
    /// such tasks are reported with `reportIncorrectImageCaptcha`, the others with
    /// `reportIncorrectTokenCaptcha`.
    pub fn is_image(self) -> bool {
        self.facts().report == Some(ReportKind::Image)
    }

    /// Everything the crate knows about this family.
    pub(crate) const fn facts(self) -> &'static FamilyFacts {
        &TABLE[self as usize]
    }
}

/// Refuses a task `type` this crate does not know ([`TaskFamily::Unknown`]), naming the
/// nearest known type when it is a near miss (a typo). `CustomTask` is known whatever its
/// class.
pub(crate) fn refuse_unknown_type(type_name: &str) -> Result<(), Error> {
    if TaskFamily::of(type_name, None) != TaskFamily::Unknown {
        return Ok(());
    }
    let lower = type_name.to_ascii_lowercase();
    let nearest = TABLE
        .iter()
        .flat_map(|f| f.types.iter())
        .flat_map(|t| [(*t).to_owned(), format!("{t}Proxyless")])
        .map(|t| (edit_distance(&lower, &t.to_ascii_lowercase()), t))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, _)| *d <= (type_name.len() / 4).max(2));
    let hint = match nearest {
        Some((_, t)) => format!("did you mean {t}? "),
        None => String::new(),
    };
    Err(Error::invalid_input(format!(
        "unknown task type {type_name:?}: {hint}Nothing was sent. To send a type this crate \
         does not know on purpose, build it with Task::from_json_unchecked (CLI: \
         --allow-unknown-type)"
    )))
}

/// The Levenshtein distance between two ASCII strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

/// The `type` of every CustomTask.
const CUSTOM_TASK: &str = "CustomTask";

/// What the crate knows about one task family: one entry of [`TABLE`].
#[derive(Debug)]
pub(crate) struct FamilyFacts {
    /// The family this entry describes (its position in [`TABLE`]).
    pub(crate) family: TaskFamily,
    /// The stable name in records (and in the ledgers' rows): never change one.
    pub(crate) name: &'static str,
    /// The `type` names, without the `Proxyless` suffix (which [`TaskFamily::of`] strips);
    /// the first is the documented one, the others are aliases.
    pub(crate) types: &'static [&'static str],
    /// The CustomTask `class` (compared case-insensitively), as the docs spell it.
    pub(crate) class: Option<&'static str>,
    /// The family's own required-field checks, run after the generic ones (`websiteURL`
    /// scheme, proxy group). See [`super::validate`].
    pub(crate) validate: fn(&Checker<'_>) -> Result<(), Error>,
    /// Which images the task uploads (checked against the configured size limit when sent).
    pub(crate) images: Images,
    /// Where the answer is in the solution: [`Solution::token`](crate::Solution::token) reads
    /// the token families' places from here.
    pub(crate) answer: Answer,
    /// The official SDKs' poll schedule.
    pub(crate) schedule: Schedule,
    /// How long a solve takes: documented on the task page, or assumed.
    pub(crate) solve: SolveTime,
    /// The report endpoint for a wrong answer; `None` when the family is unknown.
    pub(crate) report: Option<ReportKind>,
    /// The default price estimate for the spend cap.
    pub(crate) price: MicroUsd,
    /// Whether the price is per token (`metadata.count`, at most this many) instead of per task.
    pub(crate) priced_per_count: Option<u64>,
}

impl FamilyFacts {
    /// Whether this is a `CustomTask` family (a known class or [`TaskFamily::CustomOther`]).
    pub(crate) fn is_custom(&self) -> bool {
        self.types == [CUSTOM_TASK]
    }
}

/// Where a family's answer is in its solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The first of these top-level string fields that is present.
    Field(&'static [&'static str]),
    /// A top-level field that is not a string (ComplexImageTask `answer`, an array).
    Value(&'static str),
    /// A string (or, for Castle, an array of strings) under `data`.
    Data(&'static str),
    /// An entry of the `cookies` map.
    Cookie(&'static str),
    /// Cookies per host, under `domains` (or `Domains`).
    DomainCookies,
    /// Several fields, read together by a typed accessor (GeeTest v3 / v4).
    Fields(&'static [&'static str]),
    /// Not known: the raw solution.
    Raw,
}

/// A family's solve time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SolveTime {
    /// The range the task page documents (`lo`, `hi`).
    Documented(Duration, Duration),
    /// No documented range: the one assumed ([`IMAGE_SOLVE`] or [`FAQ_SOLVE`]).
    Assumed(Duration, Duration),
}

impl SolveTime {
    /// The documented range, if any.
    pub(crate) const fn documented(self) -> Option<(Duration, Duration)> {
        match self {
            Self::Documented(lo, hi) => Some((lo, hi)),
            Self::Assumed(..) => None,
        }
    }

    /// The documented range, else the assumed one.
    pub(crate) const fn range(self) -> (Duration, Duration) {
        match self {
            Self::Documented(lo, hi) | Self::Assumed(lo, hi) => (lo, hi),
        }
    }
}

const fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

const fn documented(lo: u64, hi: u64) -> SolveTime {
    SolveTime::Documented(s(lo), s(hi))
}

/// Image tasks: "300 ms to 6 s" (ImageToText page; not used as a poll range, the official
/// interval is 0.2 s).
const IMAGE_SOLVE: SolveTime = SolveTime::Assumed(Duration::from_millis(300), s(6));
/// Every family whose page gives no range: the FAQ's "1 to 30 seconds".
const FAQ_SOLVE: SolveTime = SolveTime::Assumed(s(1), s(30));

/// The official SDKs' schedules (.NET 3.4.0 / Python 4.3.1 where they agree, .NET otherwise:
/// their `GetResultTimeouts` files); [`SDK_DEFAULT`] for unknown types.
const IMAGE_SCHEDULE: Schedule = sched(350, None, 200, 10);
const TOKEN_3S: Schedule = sched(1000, Some(10_000), 3000, 180);
const TOKEN_1S: Schedule = sched(1000, Some(10_000), 1000, 80);
const CUSTOM_3S: Schedule = sched(1000, None, 3000, 180);
/// The .NET SDK's default.
const SDK_DEFAULT: Schedule = sched(1000, Some(10_000), 1000, 80);

const fn usd(micro: u64) -> MicroUsd {
    MicroUsd(micro)
}

/// A token family whose only required field (besides `websiteURL`) is `websiteKey`.
fn site_key(c: &Checker<'_>) -> Result<(), Error> {
    c.website_url(true)?;
    c.req_str("websiteKey", false)?;
    Ok(())
}

/// Every family's facts, in the enum's declaration order (checked when compiling).
pub(crate) const TABLE: [FamilyFacts; TaskFamily::Unknown as usize + 1] = [
    FamilyFacts {
        family: TaskFamily::ImageToText,
        name: "ImageToText",
        types: &["ImageToTextTask"],
        class: None,
        validate: |c| c.image_to_text(),
        images: Images::Body,
        answer: Answer::Field(&["text"]),
        schedule: IMAGE_SCHEDULE,
        solve: IMAGE_SOLVE,
        report: Some(ReportKind::Image),
        price: usd(300),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::ComplexImage,
        name: "ComplexImage",
        types: &["ComplexImageTask"],
        class: None,
        validate: |c| c.complex_image(),
        images: Images::Complex,
        answer: Answer::Value("answer"),
        schedule: IMAGE_SCHEDULE,
        solve: IMAGE_SOLVE,
        report: Some(ReportKind::Image),
        price: usd(800),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::RecaptchaV2,
        name: "RecaptchaV2",
        types: &["RecaptchaV2Task", "NoCaptchaTask"],
        class: None,
        validate: site_key,
        images: Images::None,
        answer: Answer::Field(&["gRecaptchaResponse"]),
        schedule: TOKEN_3S,
        solve: FAQ_SOLVE,
        report: Some(ReportKind::Token),
        price: usd(600),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::RecaptchaV2Enterprise,
        name: "RecaptchaV2Enterprise",
        types: &["RecaptchaV2EnterpriseTask"],
        class: None,
        validate: site_key,
        images: Images::None,
        answer: Answer::Field(&["gRecaptchaResponse"]),
        schedule: TOKEN_3S,
        solve: documented(10, 80),
        report: Some(ReportKind::Token),
        price: usd(1_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::RecaptchaV3,
        name: "RecaptchaV3",
        types: &["RecaptchaV3Task"],
        class: None,
        validate: |c| {
            site_key(c)?;
            c.min_score()
        },
        images: Images::None,
        answer: Answer::Field(&["gRecaptchaResponse"]),
        schedule: TOKEN_3S,
        solve: documented(10, 30),
        report: Some(ReportKind::Token),
        price: usd(900),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::RecaptchaV3Enterprise,
        name: "RecaptchaV3Enterprise",
        types: &["RecaptchaV3EnterpriseTask"],
        class: None,
        validate: |c| {
            site_key(c)?;
            c.min_score()
        },
        images: Images::None,
        answer: Answer::Field(&["gRecaptchaResponse"]),
        schedule: TOKEN_3S,
        solve: documented(10, 30),
        report: Some(ReportKind::Token),
        price: usd(1_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::FunCaptcha,
        name: "FunCaptcha",
        types: &["FunCaptchaTask"],
        class: None,
        validate: |c| {
            c.website_url(true)?;
            c.req_str("websitePublicKey", false)?;
            Ok(())
        },
        images: Images::None,
        answer: Answer::Field(&["token"]),
        schedule: TOKEN_1S,
        solve: documented(10, 30),
        report: Some(ReportKind::Token),
        price: usd(1_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::HCaptcha,
        name: "HCaptcha",
        types: &["HCaptchaTask"],
        class: None,
        validate: site_key,
        images: Images::None,
        answer: Answer::Field(&["gRecaptchaResponse"]),
        schedule: TOKEN_3S,
        solve: documented(10, 80),
        report: Some(ReportKind::Token),
        price: usd(1_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::GeeTest,
        name: "GeeTest",
        types: &["GeeTestTask"],
        class: None,
        validate: |c| c.geetest(),
        images: Images::None,
        answer: Answer::Fields(&[
            "challenge",
            "validate",
            "seccode",
            "lot_number",
            "pass_token",
        ]),
        schedule: sched(1000, None, 1000, 80),
        solve: documented(10, 30),
        report: Some(ReportKind::Token),
        price: usd(1_200),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::Turnstile,
        name: "Turnstile",
        types: &["TurnstileTask"],
        class: None,
        validate: |c| c.turnstile(),
        images: Images::None,
        answer: Answer::Field(&["token", "cf_clearance"]),
        schedule: TOKEN_1S,
        solve: documented(5, 20),
        report: Some(ReportKind::Token),
        price: usd(1_300),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::Amazon,
        name: "Amazon",
        types: &["AmazonTask"],
        class: None,
        validate: |c| c.amazon(),
        images: Images::None,
        answer: Answer::Cookie("aws-waf-token"),
        schedule: TOKEN_3S,
        solve: FAQ_SOLVE,
        report: Some(ReportKind::Token),
        price: usd(2_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::Binance,
        name: "Binance",
        types: &["BinanceTask"],
        class: None,
        validate: |c| {
            site_key(c)?;
            c.req_str("validateId", false)?;
            Ok(())
        },
        images: Images::None,
        answer: Answer::Field(&["token"]),
        schedule: sched(1000, None, 1000, 20),
        solve: FAQ_SOLVE,
        report: Some(ReportKind::Token),
        price: usd(1_200),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::MtCaptcha,
        name: "MtCaptcha",
        types: &["MTCaptchaTask"],
        class: None,
        validate: site_key,
        images: Images::None,
        answer: Answer::Field(&["token"]),
        schedule: TOKEN_3S,
        solve: FAQ_SOLVE,
        report: Some(ReportKind::Token),
        price: usd(1_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::Prosopo,
        name: "Prosopo",
        types: &["ProsopoTask"],
        class: None,
        validate: |c| {
            site_key(c)?;
            c.opt_nonempty_str("userAgent")
        },
        images: Images::None,
        answer: Answer::Field(&["token"]),
        schedule: TOKEN_3S,
        solve: FAQ_SOLVE,
        report: Some(ReportKind::Token),
        price: usd(1_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::Yidun,
        name: "Yidun",
        types: &["YidunTask"],
        class: None,
        validate: site_key,
        images: Images::None,
        answer: Answer::Field(&["token"]),
        schedule: TOKEN_3S,
        solve: FAQ_SOLVE,
        report: Some(ReportKind::Token),
        price: usd(1_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::YandexSmartCaptcha,
        name: "YandexSmartCaptcha",
        types: &["YandexSmartCaptchaTask"],
        class: None,
        validate: site_key,
        images: Images::None,
        answer: Answer::Field(&["token"]),
        schedule: SDK_DEFAULT,
        solve: FAQ_SOLVE,
        report: Some(ReportKind::Token),
        price: usd(1_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::DataDome,
        name: "DataDome",
        types: &[CUSTOM_TASK],
        class: Some("DataDome"),
        validate: |c| c.datadome(),
        images: Images::None,
        answer: Answer::DomainCookies,
        schedule: CUSTOM_3S,
        solve: FAQ_SOLVE,
        report: Some(ReportKind::Token),
        price: usd(2_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::Imperva,
        name: "Imperva",
        types: &[CUSTOM_TASK],
        class: Some("Imperva"),
        validate: |c| c.imperva(),
        images: Images::None,
        answer: Answer::DomainCookies,
        schedule: sched(1000, None, 1000, 15),
        solve: FAQ_SOLVE,
        report: Some(ReportKind::Token),
        price: usd(2_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::TenDi,
        name: "TenDi",
        types: &[CUSTOM_TASK],
        class: Some("TenDI"),
        validate: |c| {
            site_key(c)?;
            if let Some(meta) = c.opt_metadata()? {
                c.opt_meta_nonempty_str(meta, "captchaUrl")?;
                c.opt_meta_nonempty_str(meta, "aidEncrypted")?;
            }
            Ok(())
        },
        images: Images::None,
        answer: Answer::Data("ticket"),
        schedule: TOKEN_3S,
        solve: FAQ_SOLVE,
        report: Some(ReportKind::Token),
        price: usd(1_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::Basilisk,
        name: "Basilisk",
        types: &[CUSTOM_TASK],
        class: Some("Basilisk"),
        validate: site_key,
        images: Images::None,
        answer: Answer::Data("captcha_response"),
        schedule: sched(1000, Some(10_000), 3000, 100),
        solve: FAQ_SOLVE,
        report: Some(ReportKind::Token),
        price: usd(1_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::Altcha,
        name: "Altcha",
        types: &[CUSTOM_TASK],
        class: Some("altcha"),
        validate: |c| c.altcha(),
        images: Images::None,
        answer: Answer::Data("token"),
        schedule: sched(1000, None, 1000, 50),
        solve: FAQ_SOLVE,
        report: Some(ReportKind::Token),
        price: usd(1_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::Castle,
        name: "Castle",
        types: &[CUSTOM_TASK],
        class: Some("Castle"),
        validate: |c| c.castle(),
        images: Images::None,
        answer: Answer::Data("tokens"),
        schedule: sched(1000, None, 1000, 60),
        solve: FAQ_SOLVE,
        report: Some(ReportKind::Token),
        price: usd(2_000),
        // Billed per returned token (`count`, at most 49).
        priced_per_count: Some(49),
    },
    FamilyFacts {
        family: TaskFamily::Tspd,
        name: "Tspd",
        types: &[CUSTOM_TASK],
        class: Some("tspd"),
        validate: |c| c.tspd(),
        images: Images::None,
        answer: Answer::DomainCookies,
        schedule: sched(1000, None, 1000, 60),
        solve: FAQ_SOLVE,
        report: Some(ReportKind::Token),
        price: usd(2_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::Hunt,
        name: "Hunt",
        types: &[CUSTOM_TASK],
        class: Some("HUNT"),
        validate: |c| c.hunt(),
        images: Images::None,
        answer: Answer::Data("token"),
        schedule: CUSTOM_3S,
        solve: FAQ_SOLVE,
        report: Some(ReportKind::Token),
        price: usd(2_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::Alibaba,
        name: "Alibaba",
        types: &[CUSTOM_TASK],
        class: Some("alibaba"),
        validate: |c| c.alibaba(),
        images: Images::None,
        answer: Answer::Data("tokens"),
        schedule: sched(1000, None, 3000, 120),
        solve: FAQ_SOLVE,
        report: Some(ReportKind::Token),
        price: usd(2_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::Temu,
        name: "Temu",
        types: &[CUSTOM_TASK],
        class: Some("Temu"),
        validate: |c| {
            c.website_url(true)?;
            let meta = c.metadata()?;
            c.req_meta_str(meta, "cookie", false)?;
            Ok(())
        },
        images: Images::None,
        answer: Answer::DomainCookies,
        schedule: TOKEN_3S,
        solve: FAQ_SOLVE,
        report: Some(ReportKind::Token),
        price: usd(2_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::Friendly,
        name: "Friendly",
        types: &[CUSTOM_TASK],
        class: Some("friendly"),
        validate: |c| {
            site_key(c)?;
            let meta = c.metadata()?;
            c.req_meta_url(meta, "apiGetLib")?;
            Ok(())
        },
        images: Images::None,
        answer: Answer::Data("token"),
        schedule: CUSTOM_3S,
        solve: FAQ_SOLVE,
        report: Some(ReportKind::Token),
        price: usd(1_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::CustomOther,
        name: "CustomOther",
        types: &[CUSTOM_TASK],
        class: None,
        validate: |c| c.custom_other(),
        images: Images::None,
        answer: Answer::Raw,
        schedule: SDK_DEFAULT,
        solve: FAQ_SOLVE,
        report: Some(ReportKind::Token),
        price: usd(3_000),
        priced_per_count: None,
    },
    FamilyFacts {
        family: TaskFamily::Unknown,
        name: "Unknown",
        types: &[],
        class: None,
        validate: |_| Ok(()),
        images: Images::None,
        answer: Answer::Raw,
        schedule: SDK_DEFAULT,
        solve: FAQ_SOLVE,
        report: None,
        price: usd(3_000),
        priced_per_count: None,
    },
];

// Each entry sits at its family's position: `facts()` indexes by the variant.
const _: () = {
    let mut i = 0;
    while i < TABLE.len() {
        assert!(
            TABLE[i].family as usize == i,
            "TABLE is not in TaskFamily's order"
        );
        i += 1;
    }
};

/// Every task family, in declaration order.
pub(crate) const ALL_FAMILIES: [TaskFamily; TABLE.len()] = {
    let mut all = [TaskFamily::Unknown; TABLE.len()];
    let mut i = 0;
    while i < TABLE.len() {
        all[i] = TABLE[i].family;
        i += 1;
    }
    all
};

impl TaskFamily {
    /// The family whose record name ([`FamilyFacts::name`]) is `name`.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        TABLE.iter().find(|f| f.name == name).map(|f| f.family)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_one_entry_whose_names_round_trip() {
        let mut names: Vec<_> = TABLE.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLE.len(), "record names are distinct");
        for f in ALL_FAMILIES {
            let facts = f.facts();
            assert_eq!(facts.family, f);
            assert_eq!(TaskFamily::from_name(facts.name), Some(f));
            // The documented type (and class) is recognised as this family, with and
            // without the Proxyless suffix, whatever the class's case.
            if let Some(ty) = facts.types.first() {
                let class = facts.class;
                assert_eq!(TaskFamily::of(ty, class), f, "{ty} {class:?}");
                let proxyless = format!("{ty}Proxyless");
                assert_eq!(TaskFamily::of(&proxyless, class), f);
                let upper = class.map(str::to_ascii_uppercase);
                assert_eq!(TaskFamily::of(ty, upper.as_deref()), f);
                for alias in facts.types {
                    assert_eq!(TaskFamily::of(alias, class), f, "{alias}");
                }
            }
        }
        assert_eq!(TaskFamily::of("NoSuchTask", None), TaskFamily::Unknown);
        assert_eq!(
            TaskFamily::of(CUSTOM_TASK, Some("nosuch")),
            TaskFamily::CustomOther
        );
        assert_eq!(TaskFamily::of(CUSTOM_TASK, None), TaskFamily::CustomOther);
    }

    #[test]
    fn only_known_families_have_a_report_endpoint_and_images_report_as_images() {
        for f in ALL_FAMILIES {
            let facts = f.facts();
            assert_eq!(facts.report.is_none(), f == TaskFamily::Unknown, "{f:?}");
            assert_eq!(
                facts.report == Some(ReportKind::Image),
                facts.images != Images::None,
                "{f:?}"
            );
            let (lo, hi) = facts.solve.range();
            assert!(lo < hi && facts.price.0 > 0, "{f:?}");
        }
    }

    #[test]
    fn the_documented_table_of_families_matches_the_facts() {
        let source = include_str!("family.rs");
        let rows: Vec<&str> = source
            .lines()
            .filter_map(|l| l.strip_prefix("/// | `"))
            .collect();
        assert_eq!(rows.len(), TABLE.len(), "one doc row per family");
        for (row, facts) in rows.iter().zip(&TABLE) {
            let cells: Vec<&str> = row.split(" | ").collect();
            assert_eq!(cells[0].trim_end_matches('`'), facts.name, "{row}");
            let task = match (facts.types.first(), facts.class) {
                (Some(ty), Some(class)) => format!("`{ty}` / `{class}`"),
                (Some(ty), None) if facts.is_custom() => format!("`{ty}` / another class"),
                (Some(ty), None) => format!("`{ty}`"),
                (None, _) => "another type".to_owned(),
            };
            assert_eq!(cells[1], task, "{row}");
            let price = format!("{:.4}", facts.price.0 as f64 / 1e6);
            let per = if facts.priced_per_count.is_some() {
                " per token"
            } else {
                ""
            };
            assert_eq!(cells[2], format!("{price}{per} |"), "{row}");
        }
    }

    /// The parts of a fixture name `getTaskResult-ready-TYPE[-CLASS][-variant].response.json`.
    fn fixture_family(name: &str) -> Option<TaskFamily> {
        let rest = name
            .strip_prefix("getTaskResult-ready-")?
            .strip_suffix(".response.json")?;
        let mut parts = rest.split('-');
        let ty = parts.next()?;
        let class = (ty == CUSTOM_TASK).then(|| parts.next()).flatten();
        Some(TaskFamily::of(ty, class))
    }

    /// Whether the recorded answer location finds a value in a documented solution.
    fn finds_answer(answer: Answer, solution: &serde_json::Value) -> bool {
        let obj = solution.as_object().expect("solution object");
        let nonempty_str = |v: Option<&serde_json::Value>| {
            v.and_then(serde_json::Value::as_str)
                .is_some_and(|s| !s.is_empty())
        };
        match answer {
            Answer::Field(keys) => keys.iter().any(|k| nonempty_str(obj.get(*k))),
            Answer::Value(key) => obj.get(key).is_some_and(|v| !v.is_null()),
            Answer::Data(key) => match obj.get("data").and_then(|d| d.get(key)) {
                Some(serde_json::Value::Array(a)) => !a.is_empty(),
                v => nonempty_str(v),
            },
            Answer::Cookie(key) => nonempty_str(obj.get("cookies").and_then(|d| d.get(key))),
            Answer::DomainCookies => obj
                .get("domains")
                .or_else(|| obj.get("Domains"))
                .and_then(serde_json::Value::as_object)
                .is_some_and(|d| !d.is_empty()),
            Answer::Fields(keys) => keys.iter().filter(|k| nonempty_str(obj.get(**k))).count() >= 2,
            Answer::Raw => false,
        }
    }

    #[test]
    fn each_documented_solution_has_its_answer_where_the_table_says() {
        let dir = capmonster_testdata::FIXTURES_DIR;
        let mut seen = Vec::new();
        for entry in std::fs::read_dir(dir).expect("fixtures") {
            let name = entry
                .expect("entry")
                .file_name()
                .into_string()
                .expect("utf-8");
            let Some(family) = fixture_family(&name) else {
                continue;
            };
            assert_ne!(family, TaskFamily::Unknown, "{name}");
            assert_ne!(family, TaskFamily::CustomOther, "{name}");
            let text = std::fs::read_to_string(format!("{dir}/{name}")).expect("read");
            let body: serde_json::Value = serde_json::from_str(&text).expect("json");
            assert!(
                finds_answer(family.facts().answer, &body["solution"]),
                "{name}: no answer at {:?}",
                family.facts().answer
            );
            // `Solution::token` finds every token family's single token, and none of an image
            // family's answer.
            let solution =
                crate::Solution::new(body["solution"].clone(), crate::Metadata::default());
            let single_token = matches!(
                family.facts().answer,
                Answer::Field(_) | Answer::Data(_) | Answer::Cookie(_)
            );
            if family.is_image() {
                assert_eq!(solution.token(), None, "{name}");
            } else if single_token && family != TaskFamily::Castle {
                assert!(solution.token().is_some(), "{name}: token() is None");
            }
            seen.push(family);
        }
        // Every documented family has a ready answer among the fixtures, except the
        // historical Yandex one.
        for f in ALL_FAMILIES {
            if !matches!(
                f,
                TaskFamily::YandexSmartCaptcha | TaskFamily::CustomOther | TaskFamily::Unknown
            ) {
                assert!(
                    seen.contains(&f),
                    "no getTaskResult-ready fixture for {f:?}"
                );
            }
        }
    }
}
