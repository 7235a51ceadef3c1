//! Solution generation: builds the solution JSON of an accepted task from its [`Shape`] and the
//! simulator's seeded generator. It cannot fail: everything it needs was checked and extracted
//! by validation.
//!
//! Random draws happen in the order the fields are written below (the same order as before
//! validation and generation were split), so a given seed still gives the same tokens.

use serde_json::{Value, json};

use super::{ComplexImage, Custom, GeeTest, Recognition, Shape, Turnstile};
use crate::rng::SplitMix64;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const HEX: &[u8] = b"0123456789abcdef";
const DIGITS: &[u8] = b"0123456789";

fn tok(rng: &mut SplitMix64, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize] as char)
        .collect()
}

/// The solution object for an accepted task of this shape; `now_unix` (seconds) goes into the
/// fields that carry a time (GeeTest `gen_time`, `cf_clearance`).
pub(crate) fn generate(shape: &Shape, rng: &mut SplitMix64, now_unix: u64) -> Value {
    match shape {
        Shape::ImageText { numeric } => {
            let text = if *numeric {
                tok(rng, DIGITS, 5)
            } else {
                tok(rng, b"abcdefghijklmnopqrstuvwxyz0123456789", 6)
            };
            json!({ "text": text })
        }
        Shape::Recaptcha => {
            json!({ "gRecaptchaResponse": format!("03AFcWeA{}", tok(rng, B64URL, 500)) })
        }
        Shape::HCaptcha { user_agent } => json!({
            "gRecaptchaResponse": format!("P1_{}", tok(rng, B64URL, 400)),
            "respKey": format!("E0_{}", tok(rng, B64URL, 200)),
            "userAgent": user_agent,
        }),
        Shape::FunCaptcha {
            public_key,
            user_agent,
        } => json!({
            "token": format!("{}.{}|r=us-west-2|lang=en|pk={public_key}|at=40|ag=101|cdn_url=https%3A%2F%2Fclient-api.arkoselabs.com%2Fcdn%2Ffc|surl=https%3A%2F%2Fclient-api.arkoselabs.com",
                tok(rng, HEX, 17), tok(rng, DIGITS, 10)),
            "userAgent": user_agent,
        }),
        Shape::GeeTest(g) => geetest(g, rng, now_unix),
        Shape::Turnstile(Turnstile::Token { user_agent }) => {
            json!({ "token": format!("0.{}", tok(rng, B64URL, 300)), "userAgent": user_agent })
        }
        Shape::Turnstile(Turnstile::CfClearance) => json!({
            "cf_clearance": format!("{}-{now_unix}-1.2.1.1-{}", tok(rng, B64URL, 43), tok(rng, B64URL, 200)),
        }),
        Shape::AmazonCookies { user_agent } => json!({
            "cookies": { "aws-waf-token": format!("{}:{}:{}", tok(rng, HEX, 36), tok(rng, B64URL, 16), tok(rng, B64URL, 200)) },
            "userAgent": user_agent,
        }),
        Shape::AmazonVoucher => {
            json!({ "captcha_voucher": tok(rng, B64URL, 200), "existing_token": tok(rng, B64URL, 80) })
        }
        Shape::Binance { user_agent } => json!({
            "token": format!("captcha#{}-{}", tok(rng, HEX, 32), tok(rng, ALNUM, 48)),
            "userAgent": user_agent,
        }),
        Shape::MTCaptcha => json!({ "token": format!(
            "v1({},{},MTPublic-{},{}**)",
            tok(rng, HEX, 8),
            tok(rng, HEX, 8),
            tok(rng, ALNUM, 9),
            tok(rng, HEX, 40)
        ) }),
        Shape::Prosopo => json!({ "token": format!("0x{}", tok(rng, HEX, 200)) }),
        Shape::Yidun => json!({ "token": format!("CN31_{}", tok(rng, B64URL, 120)) }),
        Shape::ComplexImage(c) => complex_image(c, rng),
        Shape::Custom(c) => custom(c, rng),
    }
}

fn geetest(g: &GeeTest, rng: &mut SplitMix64, now_unix: u64) -> Value {
    let gen_time = now_unix.to_string();
    match g {
        GeeTest::V4 { captcha_id } => json!({
            "captcha_id": captcha_id,
            "lot_number": tok(rng, HEX, 32),
            "pass_token": tok(rng, HEX, 64),
            "gen_time": gen_time,
            "captcha_output": tok(rng, B64URL, 120),
        }),
        GeeTest::Galxe => json!({
            "lot_number": tok(rng, HEX, 64),
            "captcha_output": tok(rng, B64URL, 120),
            "pass_token": tok(rng, HEX, 64),
            "gen_time": gen_time,
            "encryptedData": "",
        }),
        GeeTest::V3 { challenge } => json!({
            "challenge": format!("{challenge}{}", tok(rng, HEX, 2)),
            "validate": tok(rng, HEX, 32),
            "seccode": format!("{}|jordan", tok(rng, HEX, 32)),
        }),
    }
}

fn complex_image(c: &ComplexImage, rng: &mut SplitMix64) -> Value {
    let angle = |rng: &mut SplitMix64| (rng.below(36_000_000) as f64) / 100_000.0;
    match c {
        ComplexImage::Grid { cells } => {
            let answer: Vec<bool> = (0..*cells).map(|_| rng.below(3) == 0).collect();
            json!({ "answer": answer })
        }
        ComplexImage::Recognition(r) => match r {
            Recognition::Bls3x3 => {
                let a: Vec<bool> = (0..9).map(|_| rng.below(2) == 0).collect();
                json!({ "answer": a, "metadata": { "AnswerType": "Grid" } })
            }
            Recognition::Betpunch3x3Rotate => {
                let a: Vec<u64> = (0..9).map(|_| 1 + rng.below(4)).collect();
                json!({ "answer": a, "metadata": { "AnswerType": "NumericArray" } })
            }
            Recognition::Shein => {
                let a: Vec<Value> = (0..3)
                    .map(|_| json!({ "X": angle(rng) / 2.0, "Y": angle(rng) / 1.5 }))
                    .collect();
                json!({ "answer": a, "metadata": { "AnswerType": "Coordinate" } })
            }
            Recognition::BillsAudio => {
                let a: Vec<u64> = (0..6).map(|_| rng.below(10)).collect();
                json!({ "answer": a, "metadata": { "AnswerType": "Text" } })
            }
            Recognition::Dli => {
                json!({ "answer": rng.below(10).to_string(), "metadata": { "AnswerType": "Text" } })
            }
            Recognition::Angle => {
                json!({ "answer": [angle(rng)], "metadata": { "AnswerType": "NumericArray" } })
            }
        },
    }
}

fn custom(c: &Custom, rng: &mut SplitMix64) -> Value {
    match c {
        Custom::Basilisk { user_agent } => json!({
            "data": { "captcha_response": tok(rng, HEX, 32) },
            "headers": { "User-Agent": user_agent },
        }),
        Custom::TenDi { user_agent } => json!({
            "data": { "randstr": format!("@{}", tok(rng, ALNUM, 3)), "ticket": format!("tr03{}*", tok(rng, B64URL, 120)) },
            "headers": { "User-Agent": user_agent },
        }),
        Custom::DataDome { host } => json!({
            "domains": { host: { "cookies": { "datadome": tok(rng, B64URL, 128) }, "localStorage": null } },
            "url": null, "fingerprint": null, "headers": null, "data": null,
        }),
        Custom::Imperva { host, origin } => {
            let cookie = format!(
                "{}==; Max-Age=31536000; Domain=.{host}; Path=/; Secure; SameSite=Lax",
                tok(rng, B64URL, 120)
            );
            json!({ "domains": { origin: { "cookies": { "___utmvc": cookie } } } })
        }
        Custom::Altcha => {
            json!({ "data": { "token": tok(rng, B64URL, 160), "number": rng.below(100_000) } })
        }
        Custom::Castle { host, count } => {
            let tokens: Vec<String> = (0..*count).map(|_| tok(rng, B64URL, 120)).collect();
            json!({ "data": { "tokens": tokens }, "domains": { host: { "cookies": { "__cuid": tok(rng, HEX, 32) } } } })
        }
        Custom::Tspd { host } => json!({ "Domains": { host: { "Cookies": {
            "TS386a400d029": tok(rng, HEX, 120),
            "TSPD_101_DID": tok(rng, HEX, 120),
        } } } }),
        Custom::Hunt => json!({ "data": { "token": tok(rng, B64URL, 160) } }),
        Custom::AlibabaCookies { host } => json!({ "domains": { host: { "cookies": {
            "x5sec": tok(rng, B64URL, 120),
            "cna": tok(rng, B64URL, 24),
        } } } }),
        Custom::AlibabaTokens { scene_id } => {
            // `data.tokens` is a JSON-encoded string, as documented.
            let tokens = json!({
                "sceneId": scene_id,
                "certifyId": tok(rng, ALNUM, 10),
                "deviceToken": tok(rng, B64URL, 60),
                "data": tok(rng, B64URL, 120),
            });
            json!({ "data": { "tokens": tokens.to_string() } })
        }
        Custom::Friendly { v1 } => {
            let token = if *v1 {
                // V1 shape: <hex32>.<base64>.AgAB
                format!("{}.{}.AgAB", tok(rng, HEX, 32), tok(rng, B64URL, 80))
            } else {
                // V2 shape: AQQA.<base64>
                format!("AQQA.{}", tok(rng, B64URL, 120))
            };
            json!({ "data": { "token": token } })
        }
        Custom::Temu { host } => json!({ "domains": { host: { "cookies": {
            "api_uid": tok(rng, B64URL, 22),
            "verifyAuthToken": tok(rng, B64URL, 40),
            "_nano_fp": tok(rng, B64URL, 40),
        } } } }),
    }
}
