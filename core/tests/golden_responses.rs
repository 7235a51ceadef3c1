//! Golden response tests: every documented ready getTaskResult answer is turned into a
//! [`Solution`] and its documented values are read back through the typed accessors.
//!
//! Until the codec is used here, the `Solution` is built the way the codec does: the
//! `solution` field is kept raw, and the remaining top-level fields other than the envelope
//! (`errorId`, `errorCode`, `errorDescription`, `status`, `solution`, `taskId`) become the
//! [`Metadata`].

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use capmonster_core::solution::{GeeTestV3, GeeTestV4, Point};
use capmonster_core::{Metadata, Solution};
use serde_json::{Value, json};

const FIXTURES: &str = capmonster_testdata::FIXTURES_DIR;
const UA: &str = "userAgentPlaceholder";
const RV_TOKEN: &str = "3AHJ_VuvYIBNBW5yyv0zRYJ75VkOKvhKj9_xGBJKnQimF72rfoq3Iy-DyGHMwLAo6a3";
const CHROME_139: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/139.0.0.0 Safari/537.36";
const CF_CLEARANCE: &str = "1tarGvbY2_ZhQdYxpSBloao.FoOn9VtcJtmb_IQ_hCE-1761217338-1.2.1.1-vyVPoLYIGX0VCJomVuLjF7n0kdM0PXaPjpDsRcohxGr7hb2CE7WfcHpmQZ70goqEjdWxPsDhSVaKNTz9opxWguiNdWEEq_.SceWXIqfP7tnEb69f3bP0mixNqcWy_5P_9INpoAEqr1k7aYU0r45PT4gPr5pwHxedVySyLRdoBXIJasdTE52YOQ3NPdGWTwQ_3h2n_wYqqIvf0kCSAvimRrmsgZxomlyejwqPI6ZHi.w";
const TURNSTILE_TOKEN: &str = "0.iGX3xsyFCkbGePM3jP4P4khLo6TrLukt8ZzBvwuQOvbC...f61f3082";

fn solution_of(rel: &str) -> Solution {
    let path = Path::new(FIXTURES).join(rel);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let Value::Object(mut body) = serde_json::from_str(&text).unwrap() else {
        panic!("{rel}: not an object")
    };
    assert_eq!(body.get("status"), Some(&json!("ready")), "{rel}");
    assert_eq!(body.get("errorId"), Some(&json!(0)), "{rel}");
    let raw = body
        .remove("solution")
        .unwrap_or_else(|| panic!("{rel}: no solution"));
    for k in [
        "errorId",
        "errorCode",
        "errorDescription",
        "status",
        "taskId",
    ] {
        body.remove(k);
    }
    Solution::new(raw, Metadata::from_fields(body))
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Token-only solutions carry nothing else.
#[track_caller]
fn only_token(s: &Solution, token: &str) {
    assert_eq!(s.token(), Some(token));
    assert_eq!(s.g_recaptcha_response(), None);
    assert_eq!(s.text(), None);
    assert_eq!(s.user_agent(), None);
}

#[track_caller]
fn recaptcha(
    s: &Solution,
    token: &str,
    ua: Option<&str>,
    cookies: Option<BTreeMap<String, String>>,
) {
    assert_eq!(s.g_recaptcha_response(), Some(token));
    assert_eq!(s.user_agent(), ua);
    assert_eq!(s.cookies(), cookies);
    // One token accessor for every token family.
    assert_eq!(s.token(), Some(token));
    assert!(s.metadata().is_empty());
}

#[track_caller]
fn numeric(s: &Solution, answer: &[f64]) {
    assert_eq!(s.answer_type(), Some("NumericArray"));
    assert_eq!(s.answer_numbers().as_deref(), Some(answer));
    assert_eq!(s.answer_bools(), None);
    assert_eq!(s.answer_coordinates(), None);
    assert_eq!(s.answer_text(), None);
}

type Check = fn(&Solution);

/// Every ready-response fixture and what its typed accessors must give.
fn cases() -> Vec<(&'static str, Check)> {
    vec![
        (
            "getTaskResult-ready-AmazonTask-cookieSolution.response.json",
            |s| {
                assert_eq!(
                    s.aws_waf_token(),
                    Some(
                        "10115f5b-ebd8-45c7-851e-cfd4f6a82e3e:EAoAua1QezAhAAAA:dp7sp2rXIRcnJcmpWOC1vIu+yq/A3EbR6b6K7c67P49usNF1f1bt/Af5pNcZ7TKZlW+jIZ7QfNs8zjjqiu8C9XQq50Pmv2DxUlyFtfPZkGwk0d27Ocznk18/IOOa49Rydx+/XkGA7xoGLNaUelzNX34PlyXjoOtL0rzYBxMAQy0D1tn+Q5u97kJBjs5Mytqu9tXPIPCTSn4dfXv5llSkv9pxBEnnhwz6HEdmdJMdfur+YRW1MgCX7i3L2Y0/CNL8kd8CEhTMzwyoXekrzBM="
                    )
                );
                assert_eq!(s.user_agent(), Some(UA));
                assert_eq!(s.cookies().map(|c| c.len()), Some(1));
                assert_eq!(s.captcha_voucher(), None);
            },
        ),
        (
            "synthesized/getTaskResult-ready-AmazonTask-voucher.response.json",
            |s| {
                assert_eq!(s.captcha_voucher(), Some("eyJ0eXAiO...oQjTnJlBvAW4"));
                assert_eq!(s.existing_token(), Some("f8ab5749-f916-...5D8yAA39JtKVbw="));
                assert_eq!(s.aws_waf_token(), None);
            },
        ),
        ("getTaskResult-ready-BinanceTask.response.json", |s| {
            assert_eq!(
                s.token(),
                Some(
                    "captcha#09ba4905a79f44f2a99e44f234439644-ioVA7neog7eRHCDAsC0MixpZvt5kc99maS943qIsquNP9D77"
                )
            );
            assert_eq!(s.user_agent(), Some(UA));
        }),
        (
            "getTaskResult-ready-ComplexImageTask-recaptcha.response.json",
            |s| {
                let mut grid = vec![false; 9];
                grid[4] = true;
                assert_eq!(s.answer_bools(), Some(grid));
                assert_eq!(s.answer_type(), None);
                assert_eq!(s.answer_numbers(), None);
            },
        ),
        (
            "getTaskResult-ready-ComplexImageTask-recognition-baidu.response.json",
            |s| {
                numeric(s, &[297.0]);
                assert_eq!(s.metadata().cost(), Some(0.0005));
            },
        ),
        (
            "getTaskResult-ready-ComplexImageTask-recognition-betpunch_3x3_rotate.response.json",
            |s| {
                numeric(s, &[4.0, 4.0, 4.0, 4.0, 4.0, 3.0, 1.0, 2.0, 2.0]);
                assert!(s.metadata().is_empty());
            },
        ),
        (
            "getTaskResult-ready-ComplexImageTask-recognition-bills_audio.response.json",
            |s| {
                // `AnswerType: "Text"` with digits as a number array (the documentation's `bills_audio` example).
                assert_eq!(s.answer_type(), Some("Text"));
                assert_eq!(s.answer_numbers(), Some(vec![6.0, 8.0, 4.0, 1.0, 2.0, 3.0]));
                assert_eq!(s.answer_text(), None);
                assert_eq!(s.metadata().cost(), Some(0.0008));
            },
        ),
        (
            "getTaskResult-ready-ComplexImageTask-recognition-bls_3x3.response.json",
            |s| {
                assert_eq!(s.answer_type(), Some("Grid"));
                assert_eq!(
                    s.answer_bools(),
                    Some(vec![
                        true, true, false, false, true, false, false, true, true
                    ])
                );
            },
        ),
        (
            "getTaskResult-ready-ComplexImageTask-recognition-dli.response.json",
            |s| {
                assert_eq!(s.answer_type(), Some("Text"));
                assert_eq!(s.answer_text(), Some("1"));
                assert_eq!(s.answer_numbers(), None);
                assert_eq!(s.metadata().cost(), Some(0.0003));
            },
        ),
        (
            "getTaskResult-ready-ComplexImageTask-recognition-oocl_rotate_double_new.response.json",
            |s| {
                numeric(s, &[130.90909]);
            },
        ),
        (
            "getTaskResult-ready-ComplexImageTask-recognition-oocl_rotate_new.response.json",
            |s| {
                numeric(s, &[130.90909]);
            },
        ),
        (
            "getTaskResult-ready-ComplexImageTask-recognition-shein.response.json",
            |s| {
                assert_eq!(s.answer_type(), Some("Coordinate"));
                let points = s.answer_coordinates().unwrap();
                // serde_json's default float parser (without `float_roundtrip`) may be one ulp
                // off for 17-digit literals such as 127.99999783999999, so compare closely.
                let expected = [
                    (68.99999964, 201.954889),
                    (127.99999783999999, 281.54887104),
                    (181.00000776, 49.894734680000006),
                ];
                assert_eq!(points.len(), expected.len());
                for (p, (x, y)) in points.iter().zip(expected) {
                    assert!(
                        (p.x - x).abs() < 1e-9 && (p.y - y).abs() < 1e-9,
                        "{p:?} != ({x}, {y})"
                    );
                }
                assert_eq!(points[0].x, 68.99999964);
                assert_eq!(s.answer_bools(), None);
                assert_eq!(s.metadata().cost(), Some(0.0003));
            },
        ),
        (
            "getTaskResult-ready-CustomTask-Basilisk.response.json",
            |s| {
                assert_eq!(
                    s.data_str("captcha_response"),
                    Some("5620301f30daf284b829fba66fa9b3d0")
                );
                assert_eq!(s.user_agent(), Some(UA));
                assert_eq!(s.header("user-agent"), Some(UA));
            },
        ),
        ("getTaskResult-ready-CustomTask-Castle.response.json", |s| {
            let tokens: Vec<&str> = s
                .data_value("tokens")
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect();
            assert_eq!(tokens, ["Q05Ap...H7nYn", "cn9xW...aFl_4", "..."]);
            assert_eq!(s.castle_tokens(), Some(tokens));
            assert_eq!(
                s.domain_cookies("www.example.com"),
                Some(map(&[("__cuid", "6883480a9ab7442d9f97da7307d6ea9c")]))
            );
        }),
        (
            "getTaskResult-ready-CustomTask-DataDome.response.json",
            |s| {
                let cookies = s.domain_cookies("www.example.com").unwrap();
                assert_eq!(
                    cookies.get("datadome").map(String::as_str),
                    Some(
                        "P1w0VnjFcTFslfps0J4FaPpY_QPbPBW4MeYxj4LW~pztIfJiSSuBPr8oQTUHzdrfgv137FbOBd3kCUOOgny7LhIkhm5e1qdtzYM4s2e46U_qfERK4KiCy22MOSIDsDyh"
                    )
                );
                assert_eq!(s.domains().map(|d| d.len()), Some(1));
                // `localStorage` is documented only as null: absent.
                assert_eq!(s.domain_local_storage("www.example.com"), None);
                assert!(
                    s.domains().unwrap()["www.example.com"]
                        .as_object()
                        .unwrap()
                        .contains_key("localStorage")
                );
                // The documented nulls read as absent.
                assert_eq!(s.url(), None);
                assert_eq!(s.fingerprint(), None);
                assert_eq!(s.headers(), None);
                assert_eq!(s.data(), None);
                assert_eq!(s.user_agent(), None);
            },
        ),
        ("getTaskResult-ready-CustomTask-HUNT.response.json", |s| {
            assert_eq!(
                s.data_str("token"),
                Some("6IyDCCpDdSK...YGs1Wug/z/kLNSpjewI=")
            );
            assert_eq!(s.token(), s.data_str("token"));
        }),
        (
            "getTaskResult-ready-CustomTask-Imperva.response.json",
            |s| {
                let cookies = s.domain_cookies("https://example.com").unwrap();
                assert_eq!(
                    cookies.get("___utmvc").map(String::as_str),
                    Some(
                        "NMB+nRa4inxXNeXuhPl9w4opzdo...E4OTU2OGEwNzI2ODlkODc4MWIwNmU3MQ==; Max-Age=31536000; Domain=.site.com; Path=/; Secure; SameSite=Lax"
                    )
                );
                assert_eq!(s.domain_cookies("example.com"), None);
            },
        ),
        ("getTaskResult-ready-CustomTask-Temu.response.json", |s| {
            let cookies = s.domain_cookies("WWW.EXAMPLE.COM").unwrap();
            assert_eq!(cookies.len(), 10);
            assert_eq!(cookies["region"], "211");
            assert_eq!(cookies["currency"], "USD");
            assert_eq!(cookies["timezone"], "America/Buenos_Aires");
            assert_eq!(
                cookies["verifyAuthToken"],
                "8VhdGgRPTJaJ0t6msEcXlA598e207617867ac4b"
            );
        }),
        ("getTaskResult-ready-CustomTask-TenDI.response.json", |s| {
            assert_eq!(s.data_str("randstr"), Some("@EcL"));
            assert_eq!(s.data_str("ticket"), Some("tr03lHUhdnuW3neJZu.....7LrIbs*"));
            assert_eq!(s.user_agent(), Some(UA));
        }),
        (
            "getTaskResult-ready-CustomTask-alibaba.response.json",
            |s| {
                let tokens = s.data_str("tokens").unwrap();
                let inner: Value = serde_json::from_str(tokens).unwrap();
                assert_eq!(inner["sceneId"], "1ww7426c4");
                assert_eq!(inner["certifyId"], "kBjCxX2W2c");
                let typed = s.alibaba_tokens().unwrap();
                assert_eq!(typed.raw, tokens, "kept verbatim");
                assert_eq!(typed.scene_id.as_deref(), Some("1ww7426c4"));
                assert_eq!(typed.certify_id.as_deref(), Some("kBjCxX2W2c"));
                assert_eq!(
                    typed.device_token.as_deref(),
                    Some("U0dfV0VCIzM3...wOGJkMjY=")
                );
                assert_eq!(
                    typed.data.as_deref(),
                    Some("JRMnX3B...EUQdCpLkqSj7THYNf3dn")
                );
            },
        ),
        ("getTaskResult-ready-CustomTask-altcha.response.json", |s| {
            assert_eq!(s.data_str("token"), Some("eyJhbGdvcml...Ljc2MDEzM30=="));
            assert_eq!(s.data_value("number").and_then(Value::as_u64), Some(44619));
            assert_eq!(s.altcha_number(), Some(44619));
            assert_eq!(s.data_str("number"), None);
        }),
        (
            "getTaskResult-ready-CustomTask-friendly.response.json",
            |s| {
                assert_eq!(
                    s.data_str("token"),
                    Some(
                        "56a3727f1f9ae4f339c8e512913cd6f8.ac7W...MAKgAAAN+MAQArAAAAjxMBACwAAAB5QgAA.AgAB"
                    )
                );
                assert_eq!(s.token(), s.data_str("token"));
            },
        ),
        ("getTaskResult-ready-CustomTask-tspd.response.json", |s| {
            // PascalCase `Domains` / `Cookies` (the documentation's TSPD answer).
            let cookies = s.domain_cookies("example.com").unwrap();
            assert_eq!(
                cookies,
                map(&[
                    ("TS386a400d029", "08267...01a06e"),
                    ("TS386a400d078", "08267...bb3b0c"),
                    ("TSd2153684027", "08267...11944"),
                    ("TS00000000076", "08267...b70fc2"),
                    ("TSPD_101_DID", "08267...1d53f"),
                    ("TS386a400d075", "0402b...1000"),
                ])
            );
            assert!(s.domains().is_some());
        }),
        ("getTaskResult-ready-FunCaptchaTask.response.json", |s| {
            assert_eq!(
                s.token(),
                Some(
                    "337187b9f57678923.5060184402|r=us-west-2|lang=en|pk=EX72CCFB-26EX-40E5-91E6-85EX70BE98ED|at=40|ag=101|cdn_url=https%3A%2F%2Fclient-api.arkoselabs.com%2Fcdn%2Ffc|surl=https%3A%2F%2Fclient-api.arkoselabs.com|smurl=https%3A%2F%2Fclient-api.arkoselabs.com%2Fcdn%2Ffc%2Fassets%2Fstyle-manager"
                )
            );
            assert_eq!(s.user_agent(), Some(UA));
        }),
        ("getTaskResult-ready-GeeTestTask-galxe.response.json", |s| {
            assert_eq!(
                s.geetest_v4(),
                Some(GeeTestV4 {
                    captcha_id: None,
                    lot_number: "e0c84aab60867ad1316f8606d31ab58d2a54d8a4ca8e78b9339abd8ea62967cb"
                        .into(),
                    pass_token: "ce024389a0926e0d1081792c83e0c46f882084e45e95afa0e148fd03aed3ae10"
                        .into(),
                    gen_time: "1753158042".into(),
                    captcha_output: "7DlZW2dul...cbEA5uIbwg==".into(),
                })
            );
            assert_eq!(s.get("encryptedData"), Some(&json!("")));
            assert_eq!(s.geetest_v3(), None);
        }),
        ("getTaskResult-ready-GeeTestTask-v3.response.json", |s| {
            assert_eq!(
                s.geetest_v3(),
                Some(GeeTestV3 {
                    challenge: "0f759dd1ea6c4wc76cedc2991039ca4f23".into(),
                    validate: "6275e26419211d1f526e674d97110e15".into(),
                    seccode: "510cd9735583edcb158601067195a5eb|jordan".into(),
                })
            );
            assert_eq!(s.geetest_v4(), None);
        }),
        ("getTaskResult-ready-GeeTestTask-v4.response.json", |s| {
            assert_eq!(
                s.geetest_v4(),
                Some(GeeTestV4 {
                    captcha_id: Some("f5c2ad5a8a3cf37192d8b9c039950f79".into()),
                    lot_number: "bcb2c6ce2f8e4e9da74f2c1fa63bd713".into(),
                    pass_token: "edc7a17716535a5ae624ef4707cb6e7e478dc557608b068d202682c8297695cf"
                        .into(),
                    gen_time: "1683794919".into(),
                    captcha_output: "XwmTZEJCJEnRIJBlvtEAZ662T...[cut]...SQ3fX-MyoYOVDMDXWSRQig56"
                        .into(),
                })
            );
            assert_eq!(s.geetest_v3(), None);
        }),
        ("getTaskResult-ready-HCaptchaTask.response.json", |s| {
            assert_eq!(
                s.g_recaptcha_response(),
                Some(
                    "P1_eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.hKdwYXNza2V5xQb9JvlblBqjTdKpourvlRNpOZLvJb0yJRmsXVFVjyxFWlL1wdYBXaPyFtnxwy2ukbMgwWn62-cjSc98Iw2XIPYWg5MNDKS4_7tBIhjY0PienoKy1..."
                )
            );
            assert_eq!(
                s.resp_key(),
                Some(
                    "E0_eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJkYXRhIjoidjQ3RjlqZGFYTllFQXlZZFYyRTlaWlBVQUdLaFpPakpRNjBXRTljVW40VnY3NnhuN2V3R0wwVWd1MW1Wai90WEdoYmt5a2NqVGlGdWpsSlpmVjcza..."
                )
            );
            assert_eq!(s.user_agent(), Some(UA));
        }),
        ("getTaskResult-ready-ImageToTextTask.response.json", |s| {
            assert_eq!(s.text(), Some("answer"));
            assert_eq!(s.token(), None);
            assert!(s.metadata().is_empty());
        }),
        ("getTaskResult-ready-MTCaptchaTask.response.json", |s| {
            only_token(
                s,
                "v1(155506dc,c8c2e356,MTPublic-abCDEFJAB,70f03532a53...5FSDA**)",
            );
        }),
        ("getTaskResult-ready-ProsopoTask.response.json", |s| {
            only_token(
                s,
                "0x00016c68747470733a2f2f70726f6e6f6465332e70726f736f706f2e696fc0354550516f4d5a454463354c704e376774784d4d7a5950547a4136...",
            );
        }),
        (
            "getTaskResult-ready-RecaptchaV2EnterpriseTask.response.json",
            |s| recaptcha(s, RV_TOKEN, None, None),
        ),
        (
            "getTaskResult-ready-RecaptchaV2Task-userAgent-cookies.response.json",
            |s| {
                recaptcha(
                    s,
                    "0cAFcWeA5Y3...hF8UWA",
                    Some(CHROME_139),
                    Some(map(&[("nocookies", "true")])),
                );
            },
        ),
        ("getTaskResult-ready-RecaptchaV2Task.response.json", |s| {
            recaptcha(s, RV_TOKEN, None, None)
        }),
        (
            "getTaskResult-ready-RecaptchaV3EnterpriseTask-userAgent.response.json",
            |s| {
                recaptcha(
                    s,
                    RV_TOKEN,
                    Some(
                        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
                    ),
                    None,
                );
            },
        ),
        (
            "getTaskResult-ready-RecaptchaV3EnterpriseTask.response.json",
            |s| recaptcha(s, RV_TOKEN, None, None),
        ),
        (
            "getTaskResult-ready-RecaptchaV3TaskProxyless-userAgent-cookies.response.json",
            |s| {
                recaptcha(
                    s,
                    "0cAFcWeA5Y3...hF8UWA",
                    Some(CHROME_139),
                    Some(map(&[("nocookies", "true")])),
                );
            },
        ),
        (
            "getTaskResult-ready-RecaptchaV3TaskProxyless.response.json",
            |s| recaptcha(s, RV_TOKEN, None, None),
        ),
        (
            "getTaskResult-ready-TurnstileTask-cf_clearance.response.json",
            |s| {
                assert_eq!(s.cf_clearance(), Some(CF_CLEARANCE));
                assert_eq!(s.token(), Some(CF_CLEARANCE));
            },
        ),
        (
            "getTaskResult-ready-TurnstileTask-challenge-token.response.json",
            |s| {
                assert_eq!(s.token(), Some(TURNSTILE_TOKEN));
                assert_eq!(s.user_agent(), Some(UA));
            },
        ),
        (
            "getTaskResult-ready-TurnstileTask-wait_room.response.json",
            |s| {
                assert_eq!(s.cf_clearance(), Some(CF_CLEARANCE));
            },
        ),
        ("getTaskResult-ready-TurnstileTask.response.json", |s| {
            assert_eq!(s.token(), Some(TURNSTILE_TOKEN));
            assert_eq!(s.user_agent(), Some(UA));
            assert_eq!(s.cf_clearance(), None);
        }),
        ("getTaskResult-ready-YidunTask.response.json", |s| {
            only_token(s, "CN31_9AwsPmaYcJameP_09rA0vkVMQsPij...RXTlFJFc3");
        }),
        (
            "historical/getTaskResult-ready-ComplexImageTask-funcaptcha.response.json",
            |s| {
                assert_eq!(
                    s.answer_bools(),
                    Some(vec![false, false, false, false, true, false])
                );
            },
        ),
        (
            "historical/getTaskResult-ready-ComplexImageTask-hcaptcha-coordinate.response.json",
            |s| {
                assert_eq!(s.answer_type(), Some("Coordinate"));
                assert_eq!(
                    s.answer_coordinates(),
                    Some(vec![
                        Point {
                            x: 371.0,
                            y: 505.0000112
                        },
                        Point { x: 5.0, y: 101.2 }
                    ])
                );
            },
        ),
        (
            "historical/getTaskResult-ready-ComplexImageTask-hcaptcha-grid.response.json",
            |s| {
                assert_eq!(s.answer_type(), Some("Grid"));
                assert_eq!(s.answer_bools(), Some(vec![false, true]));
            },
        ),
        (
            "historical/getTaskResult-ready-YandexSmartCaptcha-token.response.json",
            |s| {
                only_token(s, "dD0xNjkzMjI1OT...mNjMTExMTM5ZmVkMDRlMg==");
            },
        ),
    ]
}

fn ready_fixture_files() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for dir in ["", "historical", "synthesized"] {
        let path = if dir.is_empty() {
            Path::new(FIXTURES).to_path_buf()
        } else {
            Path::new(FIXTURES).join(dir)
        };
        for entry in fs::read_dir(&path).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.starts_with("getTaskResult-ready-") && name.ends_with(".response.json") {
                out.insert(if dir.is_empty() {
                    name
                } else {
                    format!("{dir}/{name}")
                });
            }
        }
    }
    out
}

#[test]
fn documented_values_are_reachable_through_typed_accessors() {
    for (rel, check) in cases() {
        let s = solution_of(rel);
        check(&s);
    }
}

#[test]
fn every_ready_response_fixture_is_covered() {
    let files = ready_fixture_files();
    assert!(
        files.len() >= 45,
        "found only {} ready fixtures",
        files.len()
    );
    let covered: BTreeSet<String> = cases().into_iter().map(|(rel, _)| rel.to_owned()).collect();
    let missing: Vec<_> = files.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "ready fixtures without assertions: {missing:?}"
    );
    let stale: Vec<_> = covered.difference(&files).collect();
    assert!(
        stale.is_empty(),
        "cases for fixtures that do not exist: {stale:?}"
    );
}

#[test]
fn accessors_never_panic_on_odd_shapes() {
    let shapes = [
        json!(null),
        json!("a string solution"),
        json!(42),
        json!([1, 2, 3]),
        json!({}),
        json!({"answer": [true, 1]}),
        json!({"answer": [{"X": "1", "Y": 2}]}),
        json!({"answer": {"X": 1}}),
        json!({"metadata": "Grid", "answer": "x"}),
        json!({"domains": [], "Cookies": "a=b", "headers": "ua", "data": [1]}),
        json!({"domains": {"h": null}, "cookies": {"a": {"b": 1}, "n": 2, "t": true}}),
        json!({"domains": {"h": {"cookies": null}}}),
        json!({"gen_time": 5, "lot_number": 1, "pass_token": "p", "captcha_output": "o"}),
    ];
    for raw in shapes {
        let s = Solution::new(raw.clone(), Metadata::default());
        let _ = (
            s.text(),
            s.g_recaptcha_response(),
            s.token(),
            s.user_agent(),
            s.cookies(),
        );
        let _ = (
            s.resp_key(),
            s.cf_clearance(),
            s.geetest_v3(),
            s.geetest_v4(),
        );
        let _ = (s.aws_waf_token(), s.captcha_voucher(), s.existing_token());
        let _ = (
            s.answer_bools(),
            s.answer_numbers(),
            s.answer_coordinates(),
            s.answer_text(),
            s.answer_type(),
        );
        let _ = (
            s.data(),
            s.headers(),
            s.domains(),
            s.domain_cookies("h"),
            s.url(),
            s.fingerprint(),
        );
        let _ = (s.data_str("x"), s.header("User-Agent"));
    }
    // Mixed arrays are not a typed answer.
    let s = Solution::new(json!({"answer": [true, 1]}), Metadata::default());
    assert_eq!(s.answer_bools(), None);
    assert_eq!(s.answer_numbers(), None);
    // Scalars in cookie maps are rendered; objects are skipped.
    let s = Solution::new(
        json!({"cookies": {"a": {"b": 1}, "n": 2, "t": true}}),
        Metadata::default(),
    );
    assert_eq!(s.cookies(), Some(map(&[("n", "2"), ("t", "true")])));
    // A numeric gen_time is accepted as text.
    let s = Solution::new(
        json!({"gen_time": 1683794919, "lot_number": "l", "pass_token": "p", "captcha_output": "o"}),
        Metadata::default(),
    );
    assert_eq!(
        s.geetest_v4().map(|g| g.gen_time),
        Some("1683794919".to_owned())
    );
}

#[test]
fn aws_waf_token_also_read_top_level() {
    // The JS SDK (capmonstercloud-client-js) types the cookie as a top-level field.
    let s = Solution::new(
        json!({"aws-waf-token": "tok", "userAgent": "ua"}),
        Metadata::default(),
    );
    assert_eq!(s.aws_waf_token(), Some("tok"));
}

#[test]
fn cookies_and_domains_are_case_insensitive() {
    let s = Solution::new(
        json!({"Cookies": {"k": "v"}, "DOMAINS": {"Example.COM": {"COOKIES": {"a": "b"}}}}),
        Metadata::default(),
    );
    assert_eq!(s.cookies(), Some(map(&[("k", "v")])));
    assert_eq!(s.domain_cookies("example.com"), Some(map(&[("a", "b")])));
}

#[test]
fn typed_accessors_for_the_2026_08_shapes() {
    let sol = |v: Value| Solution::new(v, Metadata::default());
    // DataDome localStorage: null (documented) or an object of strings (SDK-NET's model).
    let s = sol(json!({"domains": {
        "www.example.com": {"cookies": {"datadome": "x"}, "localStorage": {"ddSession": "abc", "n": 5}},
        "other.example.com": {"cookies": {}, "localStorage": null},
        "third.example.com": {"cookies": {}},
    }}));
    assert_eq!(
        s.domain_local_storage("WWW.example.com"),
        Some(map(&[("ddSession", "abc"), ("n", "5")]))
    );
    assert_eq!(s.domain_local_storage("other.example.com"), None);
    assert_eq!(s.domain_local_storage("third.example.com"), None);
    assert_eq!(s.domain_local_storage("missing.example.com"), None);
    // Castle: every token must be a string.
    assert_eq!(
        sol(json!({"data": {"tokens": ["a", "b"]}})).castle_tokens(),
        Some(vec!["a", "b"])
    );
    assert_eq!(
        sol(json!({"data": {"tokens": ["a", 1]}})).castle_tokens(),
        None
    );
    assert_eq!(sol(json!({"data": {"tokens": "a"}})).castle_tokens(), None);
    assert_eq!(sol(json!({"data": {"token": "a"}})).castle_tokens(), None);
    // altcha: integer, or a string of digits.
    assert_eq!(
        sol(json!({"data": {"number": "123"}})).altcha_number(),
        Some(123)
    );
    assert_eq!(sol(json!({"data": {"number": -1}})).altcha_number(), None);
    assert_eq!(sol(json!({"data": {"number": 1.5}})).altcha_number(), None);
    assert_eq!(sol(json!({"data": {}})).altcha_number(), None);
    // Alibaba: a string that is not JSON is still returned verbatim; an object is accepted.
    let t = sol(json!({"data": {"tokens": "not json"}}))
        .alibaba_tokens()
        .unwrap();
    assert_eq!((t.raw.as_str(), t.scene_id), ("not json", None));
    let t = sol(json!({"data": {"tokens": {"sceneId": "s", "certifyId": "c"}}}))
        .alibaba_tokens()
        .unwrap();
    assert_eq!(t.scene_id.as_deref(), Some("s"));
    assert_eq!(
        serde_json::from_str::<Value>(&t.raw).unwrap()["certifyId"],
        "c"
    );
    assert_eq!(sol(json!({"data": {"tokens": 5}})).alibaba_tokens(), None);
    assert_eq!(sol(json!("text")).alibaba_tokens(), None);
}
