//! Properties: detection is total on arbitrary input; injection scripts embed any token as an
//! inert string literal.

use capmonster_page::{
    Detection, InjectError, Kind, MAX_TOKEN_BYTES, Source, detect_html, detect_snapshot,
    injection_script,
};
use proptest::prelude::*;

/// Fragments that steer arbitrary HTML towards the detectors' paths.
fn htmlish() -> impl Strategy<Value = String> {
    let frag = prop_oneof![
        Just("<div class=\"g-recaptcha\" data-sitekey=".to_owned()),
        Just("<script src=\"https://www.google.com/recaptcha/api.js?render=".to_owned()),
        Just(
            "<script src=\"https://www.google.com/recaptcha/enterprise.js?render=explicit\">"
                .to_owned()
        ),
        Just("<script>grecaptcha.render(".to_owned()),
        Just("grecaptcha.execute('k', {action: ".to_owned()),
        Just("turnstile.render('#a', {sitekey: '0x4".to_owned()),
        Just("hcaptcha.render(".to_owned()),
        Just("initGeetest({gt: \"".to_owned()),
        Just("initGeetest4({captchaId:".to_owned()),
        Just("_cf_chl_opt={chlPageData: '".to_owned()),
        Just("<iframe srcdoc=\"&lt;div class=&quot;h-captcha&quot;".to_owned()),
        Just("<iframe src=\"https://www.google.com/recaptcha/api2/anchor?k=".to_owned()),
        Just("<input name=\"fc-token\" value=\"pk=".to_owned()),
        Just("</script>".to_owned()),
        Just("<!--".to_owned()),
        Just("{".to_owned()),
        Just("'".to_owned()),
        Just("\"".to_owned()),
        Just("`${".to_owned()),
        Just("&#x".to_owned()),
        Just("%".to_owned()),
        "\\PC{0,12}",
    ];
    prop::collection::vec(frag, 0..40).prop_map(|v| v.concat())
}

fn recaptcha() -> Detection {
    let mut d = Detection::new(Kind::RecaptchaV2, "https://example.com/", Source::Html);
    d.sitekey = Some("6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI".into());
    d
}

/// The configuration literal at the end of an injection script, parsed back.
fn embedded_config(script: &str) -> serde_json::Value {
    let start = script.find("\n})(").expect("template end") + 4;
    let end = script
        .trim_end()
        .strip_suffix(')')
        .expect("closing paren")
        .len();
    serde_json::from_str(&script[start..end]).expect("the embedded configuration is JSON")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn detect_html_never_panics(html in htmlish()) {
        let dets = detect_html(&html, "https://example.com/");
        for d in &dets {
            // Every detection serialises, and an incomplete one never builds a task.
            let _ = d.to_json_line();
            if !d.is_complete() {
                prop_assert!(d.task(&Default::default()).is_err());
            }
        }
    }

    #[test]
    fn detect_html_never_panics_on_any_string(html in "\\PC{0,400}") {
        let _ = detect_html(&html, "https://example.com/");
    }

    #[test]
    fn detect_snapshot_never_panics(html in htmlish(), junk in "\\PC{0,40}") {
        let v = serde_json::json!({"frames": [
            {"path": [], "html": html, "recaptchaClients": [{"id": 0, "sitekey": junk}],
             "renders": [{"vendor": "turnstile", "params": {"sitekey": junk}}, {"vendor": junk}],
             "executes": [{"sitekey": junk}]},
            {"path": "x", "html": 3},
            junk,
        ]});
        let _ = detect_snapshot(&v, "https://example.com/");
    }

    #[test]
    fn any_token_is_embedded_inert(token in "(\\PC|[\"'`\\\\<>/&\u{2028}\u{2029}\n\r]|</script>|<!--|\\$\\{){1,200}") {
        let script = injection_script(&recaptcha(), &token).unwrap();
        let lower = script.to_ascii_lowercase();
        prop_assert!(!lower.contains("</script"));
        prop_assert!(!script.contains("<!--"));
        let separators = script.contains('\u{2028}') || script.contains('\u{2029}');
        prop_assert!(!separators, "a raw line or paragraph separator is in the script");
        let cfg = embedded_config(&script);
        prop_assert_eq!(cfg["token"].as_str(), Some(token.as_str()));
    }
}

#[test]
fn empty_and_overlong_tokens_are_refused() {
    assert_eq!(
        injection_script(&recaptcha(), ""),
        Err(InjectError::EmptyToken)
    );
    let long = "a".repeat(MAX_TOKEN_BYTES + 1);
    let err = injection_script(&recaptcha(), &long).unwrap_err();
    assert_eq!(
        err,
        InjectError::TokenTooLong {
            len: MAX_TOKEN_BYTES + 1,
            max: MAX_TOKEN_BYTES
        }
    );
    assert!(err.to_string().contains("65537 bytes"), "{err}");
    assert!(injection_script(&recaptcha(), &"a".repeat(MAX_TOKEN_BYTES)).is_ok());
}

#[test]
fn geetest_token_must_be_the_solution_object() {
    let mut d = Detection::new(Kind::Geetest, "https://example.com/", Source::Html);
    d.sitekey = Some("022397c99c9f646f6477822485f30404".into());
    d.geetest_version = Some(3);
    for bad in ["abc", "[1]", r#"{"challenge":"c","validate":"v"}"#] {
        assert!(
            matches!(
                injection_script(&d, bad),
                Err(InjectError::BadGeetestSolution(_))
            ),
            "{bad}"
        );
    }
    let s = injection_script(
        &d,
        r#"{"challenge":"c1","validate":"v1","seccode":"v1|jordan"}"#,
    )
    .unwrap();
    let cfg = embedded_config(&s);
    assert_eq!(cfg["solution"]["geetest_seccode"], "v1|jordan");
    assert_eq!(cfg["token"], serde_json::Value::Null);
}
