//! Golden request tests: every documented createTask example (the `task` object of each
//! request fixture, and the bare task objects) is reproduced through the typed builders and
//! compared as JSON values (so key order does not matter).
//!
//! Spelling normalization: a few documentation examples use a non-canonical field spelling
//! (`"Class"` in the Castle task objects, `"websiteUrl"` in the tspd task object, the
//! ComplexImageTask recaptcha example and the historical hCaptcha-click example). The builders
//! always emit the canonical documented names (`class`, `websiteURL`), which the service binds
//! case-insensitively (the documentation itself spells them both ways), so before comparing, the fixture's top-level keys
//! `Class` and `websiteUrl` are renamed to `class` and `websiteURL` (see [`normalize`]). The
//! raw, un-normalized objects are still checked to pass validation as they are.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use capmonster_core::task::*;
use capmonster_core::{Error, ErrorKind, Task, TaskFamily};
use serde_json::{Value, json};

const FIXTURES: &str = capmonster_testdata::FIXTURES_DIR;
const UA: &str = "userAgentPlaceholder";
const RV2_URL: &str = "https://lessons.zennolab.com/captchas/recaptcha/v2_simple.php?level=high";
const RV2_KEY: &str = "6Lcg7CMUAAAAANphynKgn9YAgA4tQ2KI_iqRyTwd";
const AMZ_CHALLENGE: &str = "https://41bcdd4fb3cb.610cd090.us-east-1.token.awswaf.com/41bcdd4fb3cb/0d21de737ccb/cd77baa6c832/challenge.js";
const AMZ_CAPTCHA: &str = "https://41bcdd4fb3cb.610cd090.us-east-1.captcha.awswaf.com/41bcdd4fb3cb/0d21de737ccb/cd77baa6c832/captcha.js";
const AMZ_JSAPI: &str = "https://234324vgvc23.yejk.captcha-sdk.awswaf.com/234324vgvc23/jsapi.js";
const FUN_DATA: &str = "{\"blob\":\"nj9UbL+yio7goOlTQ/b64t.ayrrBnP6kPgzlKYCP/kv491lKS...Wot/7gjpyIxs7VYb0+QuRcfQ/t6bzh5pXDkOFSskA/V/ITSVZSAlglIplLcdreZ4PE8skfMU6k1Q\"}";
const ALTCHA_CHALLENGE: &str = "3dd28253be6cc0c54d95f7f98c517e68744597cc6e66109619d1ac975c39181c";
const ALTCHA_SALT: &str = "46d5b1c8871e5152d902ee3f?edk=1493462145de1ce33a52fb569b27a364&codeChallenge=464Cjs7PbiJJhJZ_ReJ-y9UGGDndcpsnP6vS8x1nEJyTkhjQkJyL2jcnYEuMKcrG&expires=1761048664";
const ALTCHA_SIGNATURE: &str = "4b1cf0e0be0f4e5247e50b0f9a449830f1fbca44c32ff94bc080146815f31a18";
const DATADOME_CAPTCHA_URL: &str = "https://geo.captcha-delivery.com/interstitial/?initialCid=AHrlqAAAAAMA9UvsL58YLqIAXNLFPg%3D%3D&hash=C0705ACD75EBF650A07FF8291D3528&cid=7sfa5xUfDrR4bQTp1c2mhtiD7jj9TXExcQypjdNAxKVFyIi1S9tE0~_mqLa2EFpOuzxKcZloPllsNHjNnqzD9HmBA4hEv7SsEyPYEidCBvjZEaDyfRyzefFfolv0lAHM&referer=https%3A%2F%2Fwww.example.com.au%2F&s=6522&b=978936&dm=cm";
const IMPERVA_COOKIES: &str = "incap_ses_1166_2930313=br7iX33ZNCtf3HlpEXcuEDzz72cAAAAA0suDnBGrq/iA0J4oERYzjQ==; visid_incap_2930313=P3hgPVm9S8Oond1L0sXhZqfK72cAAAAAQUIPAAAAAABoMSY9xZ34RvRseJRiY6s+;";
const TEMU_URL: &str = "https://www.example.com/bgn_verification.html?verifyCode=7PRQIzDznoFE67ecZYtRTw394f6185143a4af80&from=https%3A%2F%2Fwww.example.com%2F&refer_page_name=home&refer_page_id=10005_1743074140645_cwb6un82rq&refer_page_sn=10005&_x_sessn_id=xmp1zuyv7y";
const TEMU_COOKIE: &str = "region=141; language=en; currency=EUR; api_uid=CnBpI2fwFW2BogBITHVYAg==; timezone=Europe%2FMoscow; _nano_fp=XpmYXqmJnqX8npXblT_T6~7rkpA2LDnz2BPFuT5m; privacy_setting_detail=%7B%22firstPAds%22%3A0%2C%22adj%22%3A0%2C%22fbsAnlys%22%3A0%2C%22fbEvt%22%3A0%2C%22ggAds%22%3A0%2C%22fbAds%22%3A0%2C%22ttAds%22%3A0%2C%22scAds%22%3A0%2C%22ptAds%22%3A0%2C%22bgAds%22%3A0%2C%22tblAds%22%3A0%2C%22obAds%22%3A0%2C%22vgAds%22%3A0%2C%22idAds%22%3A0%2C%22opAds%22%3A0%2C%22stAds%22%3A0%2C%22pmAds%22%3A0%7D; webp=1; _bee=pgoBlKp038lBhEyoQ4yXnuNrw1X5va2U; verifyAuthToken=QkZmx2TJFbSuuRVD_MKJmA0b84fe3df183da8ab";
const TSPD_COOKIE: &str = "TS386a400d029=08...010245; TS386a400d029=08...01a06e; TS386a400d078=08...dbb3b0c; TSd2153684027=08...1944";
const HUNT_LIB: &str =
    "https://example.com/hd-api/external/apps/a2157wab1045d68672a63557e0n2a77edbfd15ea/api.js";
const CASTLE_W: &str = "https://s.rsg.sc/auth/js/20251234bgef/build/cw.js";
const CASTLE_SW: &str = "https://s.rsg.sc/auth/js/20251234bgef/build/csw.js";
const YIDUN_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36";
const CF_HTML: &str = "PCFET0NUWVBFIGh0...vYm9keT48L2h0bWw+";

fn proxy() -> Proxy {
    Proxy::http("8.8.8.8", 8080).credentials("proxyLoginHere", "proxyPasswordHere")
}

fn with_proxy<T>(b: T, on: bool, f: impl FnOnce(T, Proxy) -> T) -> T {
    if on { f(b, proxy()) } else { b }
}

fn amazon_opt1(p: bool) -> Result<Task, Error> {
    let b = Amazon::with_captcha_script(
        "https://example.com/index.html",
        "h15hX7brbaRTR...Za1_1",
        AMZ_JSAPI,
    )
    .user_agent(UA)
    .cookie_solution(true);
    with_proxy(b, p, Amazon::proxy).build()
}

fn amazon_opt2(p: bool) -> Result<Task, Error> {
    let b = Amazon::with_challenge(
        "https://example.com",
        "AQIDA...wZwdADFLWk7XOA==",
        AMZ_CHALLENGE,
        "qoJYgnKsc...aormh/dYYK+Y=",
        "CgAAXFFFFSAAABVk",
    )
    .captcha_script(AMZ_CAPTCHA)
    .cookie_solution(true);
    with_proxy(b, p, Amazon::proxy).build()
}

fn amazon_opt3(p: bool) -> Result<Task, Error> {
    let b = Amazon::challenge_only("https://example.com", AMZ_CHALLENGE).cookie_solution(true);
    with_proxy(b, p, Amazon::proxy).build()
}

fn binance(p: bool) -> Result<Task, Error> {
    let b = Binance::new(
        "https://example.com",
        "login",
        "cb0bfefa598b4c3887661fde54ecd57b",
    )
    .user_agent(UA);
    with_proxy(b, p, Binance::proxy).build()
}

fn recognition(task: &str, images: &[&str]) -> Result<Task, Error> {
    ComplexImageRecognition::new(task, images.iter().copied()).build()
}

fn basilisk(p: bool) -> Result<Task, Error> {
    let b = Basilisk::new(
        "https://domain.io/account/register",
        "b7890hre5cf2544b2759c19fb2600897",
    )
    .user_agent(UA);
    with_proxy(b, p, Basilisk::proxy).build()
}

fn tendi(p: bool) -> Result<Task, Error> {
    let b = TenDi::new("https://example.com", "189123456")
        .captcha_url("https://global.captcha.example.com/TCaptcha-global.js")
        .user_agent(UA);
    with_proxy(b, p, TenDi::proxy).build()
}

fn altcha(p: bool) -> Result<Task, Error> {
    let b = Altcha::new(
        "https://example.com",
        "",
        ALTCHA_CHALLENGE,
        "5000",
        ALTCHA_SALT,
        ALTCHA_SIGNATURE,
    )
    .user_agent(UA);
    with_proxy(b, p, Altcha::proxy).build()
}

fn funcaptcha(p: bool) -> Result<Task, Error> {
    let b = FunCaptcha::new(
        "https://www.example.com",
        "EX72CCFB-26EX-40E5-91E6-85EX70BE98ED",
    )
    .funcaptcha_api_js_subdomain("example-api.arkoselabs.com")
    .data(FUN_DATA)
    .user_agent(UA);
    with_proxy(b, p, FunCaptcha::proxy).build()
}

fn geetest_v3(p: bool) -> Result<Task, Error> {
    let b = GeeTest::v3(
        "https://www.geetest.com/en/demo",
        "022397c99c9f646f6477822485f30404",
        "7f044f48bc951ecfbfc03842b5e1fe59",
    )
    .geetest_api_server_subdomain("api-na.geetest.com");
    with_proxy(b, p, |b, px| b.proxy(px).user_agent(UA)).build()
}

fn geetest_v4(p: bool) -> Result<Task, Error> {
    let b = GeeTest::v4(
        "https://gt4.geetest.com/",
        "54088bb07d2df3c46b79f80300b0abbe",
    )
    .init_parameter("riskType", "slide");
    with_proxy(b, p, |b, px| b.proxy(px).user_agent(UA)).build()
}

fn hcaptcha(p: bool) -> Result<Task, Error> {
    let b = HCaptcha::new(
        "https://lessons.zennolab.com/captchas/hcaptcha/?level=easy",
        "472fc7af-86a4-4382-9a49-ca9090474471",
    )
    .user_agent(UA)
    .fallback_to_actual_ua(true);
    with_proxy(b, p, HCaptcha::proxy).build()
}

fn mtcaptcha(p: bool) -> Result<Task, Error> {
    let b = MtCaptcha::new("https://www.example.com", "MTPublic-abCDEFJAB")
        .is_invisible(false)
        .page_action("login");
    with_proxy(b, p, MtCaptcha::proxy).build()
}

fn prosopo(p: bool) -> Result<Task, Error> {
    let b = Prosopo::new(
        "https://www.example.com",
        "5EZU3LG31uzq1Mwi8inwqxmfvFDpj7VzwDnZwj4Q3syyxBwV",
    );
    with_proxy(b, p, Prosopo::proxy).build()
}

fn recaptcha_v2_enterprise(p: bool) -> Result<Task, Error> {
    let b = RecaptchaV2Enterprise::new(
        "https://mydomain.com/page-with-recaptcha-enterprise",
        RV2_KEY,
    )
    .enterprise_payload_s("SOME_ADDITIONAL_TOKEN");
    with_proxy(b, p, |b, px| b.proxy(px).user_agent(UA)).build()
}

fn turnstile_token(p: bool) -> Result<Task, Error> {
    let b = TurnstileChallengeToken::new(
        "https://example.com",
        "0x4AAAAAAADnPIDROrmt1Wwj",
        "managed",
        "874291f4retD1366",
        "HUHDWUHuhuwfiweh32..uh2uhuhyugYUG=",
        UA,
    );
    with_proxy(b, p, TurnstileChallengeToken::proxy).build()
}

fn turnstile(p: bool) -> Turnstile {
    let b = Turnstile::new("http://tsmanaged.zlsupport.com", "0x4AAAAAAABUYP0XeMJF0xoy");
    with_proxy(b, p, Turnstile::proxy)
}

fn yidun(p: bool) -> Result<Task, Error> {
    let b = Yidun::new(
        "https://www.example.com",
        "6cw0f0485d5d46auacf9b735d20218a5",
    )
    .user_agent(UA);
    with_proxy(b, p, Yidun::proxy).build()
}

fn castle(p: bool) -> Result<Task, Error> {
    let b = Castle::new(
        "https://www.example.com/",
        "pk_1Tk5Yzr1WFzxrJCh7WzMZzY1rHpaOtdK",
        CASTLE_W,
        CASTLE_SW,
    )
    .count(1)
    .user_agent(UA);
    with_proxy(b, p, Castle::proxy).build()
}

fn hunt(data: Option<&str>) -> Result<Task, Error> {
    let b = Hunt::new("https://example.com", HUNT_LIB, proxy()).user_agent(UA);
    match data {
        Some(d) => b.data(d),
        None => b,
    }
    .build()
}

fn alibaba(p: bool) -> Result<Task, Error> {
    let b = Alibaba::new("https://www.example.com", "1ww7426c4", "dlw3kug").user_agent(UA);
    with_proxy(b, p, Alibaba::proxy).build()
}

const ALIBABA_LIB: &str =
    "https://o.example.com/captcha-frontend/aliyunCaptcha/AliyunCaptcha.js?t=2041";
const FRIENDLY_LIB: &str = "https://cdn.example.com/package/widget.module.min.js";

fn alibaba_extended(url: &str) -> Alibaba {
    Alibaba::new(url, "your-scene-id", "your-prefix")
        .user_agent(UA)
        .user_id("your-user-id")
        .user_user_id("your-user-user-id")
        .user_certify_id("your-user-certify-id")
        .api_get_lib(ALIBABA_LIB)
}

fn friendly(p: bool) -> Result<Task, Error> {
    let b = Friendly::new(
        "https://yourwebsite.com/page-with-captcha",
        "your-website-key",
        FRIENDLY_LIB,
    )
    .user_agent(UA);
    with_proxy(b, p, Friendly::proxy).build()
}

fn tspd() -> Result<Task, Error> {
    Tspd::new(
        "https://example.com",
        TSPD_COOKIE,
        "PCFET0NU...k+PC9odG1sPg==",
        UA,
        proxy(),
    )
    .build()
}

fn galxe() -> Result<Task, Error> {
    GeeTest::v3(
        "https://app.gal**.com/accountSetting/social",
        "244bcb8b9846215df5af4c624a750db4",
        "SendVerifyCode",
    )
    .type_name("GeeTestTaskProxyless")
    .build()
}

fn yidun_enterprise() -> Result<Task, Error> {
    Yidun::new(
        "https://id7.cloud.example.com/IframeLogin.html",
        "0f123r2a6am56431yg17n8rz6grz0ym6",
    )
    .user_agent(YIDUN_UA)
    .yidun_get_lib("https://example.com/captcha/b/v3//static/load.min.js")
    .yidun_api_server_subdomain("csc-captcha-example.com")
    .challenge("abc55382321547556267884cc3ba57c3d8a7c14f541fd9c6a7f1ce3173d3b9a1")
    .hcg("9a217825f3dcfac3d34e551e93819d610dec931e5e2a2236edf0e1f3f320c191")
    .hct(1751469954806)
    .build()
}

/// Every request fixture (relative path) and the builder call that reproduces its task.
fn cases() -> Vec<(&'static str, Result<Task, Error>)> {
    vec![
        ("createTask-AmazonTask-opt1-captchaScript.request.json", amazon_opt1(false)),
        ("createTask-AmazonTask-opt1-captchaScript-proxy.request.json", amazon_opt1(true)),
        ("createTask-AmazonTask-opt2-challengeScript.request.json", amazon_opt2(false)),
        ("createTask-AmazonTask-opt2-challengeScript-proxy.request.json", amazon_opt2(true)),
        ("createTask-AmazonTask-opt3-challengeOnly.request.json", amazon_opt3(false)),
        ("createTask-AmazonTask-opt3-challengeOnly-proxy.request.json", amazon_opt3(true)),
        ("createTask-BinanceTask.request.json", binance(false)),
        ("createTask-BinanceTask-proxy.request.json", binance(true)),
        (
            "createTask-ComplexImageTask-recaptcha.request.json",
            ComplexImageRecaptcha::with_urls(["https://i.postimg.cc/yYjg75Kv/payloadtraffic.jpg"], "3x3")
                .task("Click on traffic lights")
                .task_definition("/m/015qff")
                .user_agent(UA)
                .website_url("https://lessons.zennolab.com/captchas/recaptcha/v2_simple.php?level=middle")
                .build(),
        ),
        ("createTask-ComplexImageTask-recognition-baidu.request.json", recognition("baidu", &["base64"])),
        (
            "createTask-ComplexImageTask-recognition-bills_audio.request.json",
            ComplexImageRecognition::new("bills_audio", ["UklGRnjuAwBXQVZFZm10...f/2f/9/6z/vf8MAAAA"])
                .payload_type("Audio")
                .build(),
        ),
        ("createTask-ComplexImageTask-recognition-dli.request.json", recognition("dli", &["base64"])),
        (
            "createTask-ComplexImageTask-recognition-oocl_rotate_double_new.request.json",
            recognition("oocl_rotate_double_new", &["{background_base64}", "{ring_base64}", "{circle_base64}"]),
        ),
        (
            "createTask-ComplexImageTask-recognition-oocl_rotate_new.request.json",
            recognition("oocl_rotate_new", &["{background_base64}", "{circle_base64}"]),
        ),
        ("createTask-ComplexImageTask-recognition-shein.request.json", recognition("shein", &["base64"])),
        ("createTask-CustomTask-Basilisk.request.json", basilisk(false)),
        ("createTask-CustomTask-Basilisk-proxy.request.json", basilisk(true)),
        (
            "createTask-CustomTask-DataDome.request.json",
            DataDome::new(
                "https://example.com",
                DATADOME_CAPTCHA_URL,
                "datadome=VYUWrgJ9ap4zmXq8Mgbp...64emvUPeON45z",
                Proxy::new(ProxyType::Http, "123.45.67.89", 8080).credentials("proxyUsername", "proxyPassword"),
            )
            .datadome_version("new")
            .user_agent(UA)
            .build(),
        ),
        (
            "createTask-CustomTask-Imperva.request.json",
            Imperva::new(
                "https://example.com",
                "_Incapsula_Resource?SWJIYLWA=719d34d31c8e3a6e6fffd425f7e032f3",
                IMPERVA_COOKIES,
                proxy(),
            )
            .reese84_url_endpoint("Built-with-the-For-hopence-Hurleysurfecting-the-")
            .user_agent(UA)
            .build(),
        ),
        ("createTask-CustomTask-Temu.request.json", Temu::new(TEMU_URL, TEMU_COOKIE).user_agent(UA).build()),
        ("createTask-CustomTask-TenDI.request.json", tendi(false)),
        ("createTask-CustomTask-TenDI-proxy.request.json", tendi(true)),
        ("createTask-CustomTask-altcha.request.json", altcha(false)),
        (
            "createTask-CustomTask-alibaba-punish.request.json",
            Alibaba::punish(
                "https://www.example.com",
                "https://example.com/_____tmd_____/punish?x5secdata=your-x5secdata&x5step=2",
            )
            .user_agent(UA)
            .build(),
        ),
        (
            "createTask-CustomTask-alibaba-extended.request.json",
            alibaba_extended("https://www.example.com").verify_type("your-verify-type").region("your-region").build(),
        ),
        (
            "createTask-CustomTask-alibaba-cookieRequired.request.json",
            alibaba_extended("https://example.com").verify_type("1.0").region("sgp").cookie_required(true).build(),
        ),
        ("createTask-CustomTask-altcha-proxy.request.json", altcha(true)),
        ("createTask-FunCaptchaTask.request.json", funcaptcha(false)),
        ("createTask-FunCaptchaTask-proxy.request.json", funcaptcha(true)),
        ("createTask-GeeTestTask-v3.request.json", geetest_v3(false)),
        ("createTask-GeeTestTask-v3-proxy.request.json", geetest_v3(true)),
        ("createTask-GeeTestTask-v4.request.json", geetest_v4(false)),
        ("createTask-GeeTestTask-v4-proxy.request.json", geetest_v4(true)),
        ("createTask-HCaptchaTask.request.json", hcaptcha(false)),
        ("createTask-HCaptchaTask-proxy.request.json", hcaptcha(true)),
        ("createTask-ImageToTextTask.request.json", ImageToText::new("BASE64_BODY_HERE!").build()),
        ("createTask-MTCaptchaTask.request.json", mtcaptcha(false)),
        ("createTask-MTCaptchaTask-proxy.request.json", mtcaptcha(true)),
        ("createTask-ProsopoTask.request.json", prosopo(false)),
        ("createTask-ProsopoTask-proxy.request.json", prosopo(true)),
        ("createTask-RecaptchaV2EnterpriseTask.request.json", recaptcha_v2_enterprise(false)),
        ("createTask-RecaptchaV2EnterpriseTask-proxy.request.json", recaptcha_v2_enterprise(true)),
        ("createTask-RecaptchaV2Task.request.json", RecaptchaV2::new(RV2_URL, RV2_KEY).build()),
        ("createTask-RecaptchaV2Task-minimal.request.json", RecaptchaV2::new(RV2_URL, RV2_KEY).build()),
        ("createTask-RecaptchaV2Task-callbackUrl.request.json", RecaptchaV2::new(RV2_URL, RV2_KEY).build()),
        ("createTask-RecaptchaV2Task-nocache.request.json", RecaptchaV2::new(RV2_URL, RV2_KEY).nocache(true).build()),
        (
            "createTask-RecaptchaV2Task-proxy.request.json",
            RecaptchaV2::new(RV2_URL, RV2_KEY).proxy(proxy()).user_agent(UA).build(),
        ),
        (
            "createTask-RecaptchaV3EnterpriseTask.request.json",
            RecaptchaV3Enterprise::new("https://example.com", "6Le0xVgUAAAAAIt20XEB4rVhYOODgTl00d4TuRTE").min_score(0.7).build(),
        ),
        (
            "createTask-RecaptchaV3TaskProxyless.request.json",
            RecaptchaV3::new("https://lessons.zennolab.com/captchas/recaptcha/v3.php?level=beta", "6Le0xVgUAAAAAIt20XEB4rVhYOODgTl00d8juDob")
                .is_enterprise(false)
                .min_score(0.7)
                .page_action("myverify")
                .build(),
        ),
        (
            "createTask-TurnstileTask-cf_clearance.request.json",
            TurnstileCfClearance::new("https://example.com", "xxxxxxxxxx", CF_HTML, UA, proxy()).build(),
        ),
        ("createTask-TurnstileTask-challenge-token.request.json", turnstile_token(false)),
        ("createTask-TurnstileTask-challenge-token-proxy.request.json", turnstile_token(true)),
        ("createTask-TurnstileTask.request.json", turnstile(false).build()),
        ("createTask-TurnstileTask-proxy.request.json", turnstile(true).build()),
        (
            "createTask-TurnstileTask-wait_room.request.json",
            TurnstileWaitRoom::new("https://example.com", "xxxxxxxxxx", CF_HTML, UA, proxy()).build(),
        ),
        ("createTask-YidunTask.request.json", yidun(false)),
        ("createTask-YidunTask-proxy.request.json", yidun(true)),
        // normalized/
        (
            "normalized/createTask-ComplexImageTask-recognition-betpunch_3x3_rotate.request.json",
            ComplexImageRecognition::new("betpunch_3x3_rotate", (1..=9).map(|i| format!("{{image_{i}_Base64}}"))).build(),
        ),
        (
            "normalized/createTask-ComplexImageTask-recognition-bls_3x3.request.json",
            ComplexImageRecognition::new("bls_3x3", (1..=9).map(|i| format!("image{i}_to_base64")))
                .task_argument("123")
                .build(),
        ),
        ("normalized/createTask-CustomTask-Castle.request.json", castle(false)),
        ("normalized/createTask-CustomTask-Castle-proxy.request.json", castle(true)),
        ("normalized/createTask-CustomTask-HUNT-captcha.request.json", hunt(Some("kufyHK/s/jTNU...AfwIW"))),
        ("normalized/createTask-CustomTask-HUNT-xhd.request.json", hunt(None)),
        (
            "normalized/createTask-CustomTask-HUNT-widgetUrl.request.json",
            Hunt::new("https://example.com/page-with-hunt", "https://example.com/hd-api/external/apps/<app-hash>/api.js", proxy())
                .widget_url("https://captcha.example.com/widget?hash=<widget-hash>")
                .user_agent(UA)
                .build(),
        ),
        ("normalized/createTask-CustomTask-friendly.request.json", friendly(false)),
        ("normalized/createTask-CustomTask-friendly-proxy.request.json", friendly(true)),
        ("normalized/createTask-CustomTask-alibaba.request.json", alibaba(false)),
        ("normalized/createTask-CustomTask-alibaba-proxy.request.json", alibaba(true)),
        ("normalized/createTask-CustomTask-tspd.request.json", tspd()),
        ("normalized/createTask-GeeTestTaskProxyless-galxe.request.json", galxe()),
        (
            "normalized/createTask-ImageToTextTask-threshold-softId.request.json",
            ImageToText::new("BASE64_BODY_HERE!").recognizing_threshold(70).build(),
        ),
        ("normalized/createTask-YidunTask-enterprise.request.json", yidun_enterprise()),
        // task-object-*.json (bare task objects)
        ("task-object-CustomTask-Castle.json", castle(false)),
        ("task-object-CustomTask-Castle-proxy.json", castle(true)),
        ("task-object-CustomTask-HUNT-xhd.json", hunt(None)),
        ("task-object-CustomTask-tspd.json", tspd()),
        ("task-object-GeeTestTaskProxyless-galxe.json", galxe()),
        ("task-object-YidunTask-enterprise.json", yidun_enterprise()),
        // historical/
        (
            "historical/createTask-ComplexImageTask-funcaptcha.request.json",
            ComplexImageFunCaptcha::with_urls(["https://i.postimg.cc/s2ZDrHXy/fc1.jpg"], "Pick the image that is the correct way up")
                .user_agent(UA)
                .build(),
        ),
        (
            "historical/createTask-ComplexImageTask-hcaptcha-exampleImageUrls.request.json",
            ComplexImageHCaptcha::with_urls(
                (0..9).map(|i| {
                    [
                        "https://i.postimg.cc/bwVVWbkG/4type-00.jpg",
                        "https://i.postimg.cc/nzBdXP57/4type-01.jpg",
                        "https://i.postimg.cc/zf9tXrd8/4type-02.jpg",
                        "https://i.postimg.cc/2yY0hxRt/4type-03.jpg",
                        "https://i.postimg.cc/rFQfRWhh/4type-04.jpg",
                        "https://i.postimg.cc/Jz0PNnvR/4type-05.jpg",
                        "https://i.postimg.cc/h48ygNVR/4type-06.jpg",
                        "https://i.postimg.cc/yY1yXdtk/4type-07.jpg",
                        "https://i.postimg.cc/Prt6qKMp/4type-08.jpg",
                    ][i]
                }),
                "Please select all images that appear warmer in comparison to other images",
            )
            .example_image_urls(["https://i.postimg.cc/MpLtdwJV/4type-example.jpg"])
            .build(),
        ),
        (
            "historical/createTask-ComplexImageTask-hcaptcha.request.json",
            ComplexImageHCaptcha::with_urls(
                ["https://i.postimg.cc/kg71cbRt/image-1.jpg", "https://i.postimg.cc/6381Zx2j/image.jpg"],
                "Please click each image containing a mountain",
            )
            .user_agent(UA)
            .website_url("https://lessons.zennolab.com/captchas/recaptcha/v2_simple.php?level=middle")
            .build(),
        ),
        (
            "historical/createTask-FunCaptchaTaskProxyless.request.json",
            FunCaptcha::new("http://mywebsite.com/", "69A21A01-CC7B-B9C6-0F9A-E7FA06677FFC")
                .funcaptcha_api_js_subdomain("mywebsite-api.funcaptcha.com")
                .data("{\"blob\":\"dyXvXANMbHj1iDyz.Qj97JtSqR2n%2BuoY1V%2FbdgbrG7p%2FmKiqdU9AwJ6MifEt0np4vfYn6TTJDJEfZDlcz9Q1XMn9przeOV%2FCr2%2FIpi%2FC1s%3D\"}")
                .type_name("FunCaptchaTaskProxyless")
                .build(),
        ),
        (
            "historical/createTask-NoCaptchaTaskProxyless-callbackUrl.request.json",
            RecaptchaV2::new(RV2_URL, RV2_KEY).type_name("NoCaptchaTaskProxyless").build(),
        ),
        (
            "historical/createTask-TurnstileTaskProxyless.request.json",
            turnstile(false).type_name("TurnstileTaskProxyless").build(),
        ),
        (
            "historical/createTask-YandexSmartCaptchaTaskProxyless-yandex-services.request.json",
            YandexSmartCaptcha::new("https://ya.ru/showcaptcha?cc=1&mt=C934C537A3644...", "yandex")
                .user_agent(UA)
                .html_page_base64("PGhlYWQ+PG1ldGEgaHR0cC1lcXVpdj0iWC1VQS1Db...0L2phdmFzY3JpcHQiPjwvc2NyaXB0PjwvYm9keT4=")
                .build(),
        ),
    ]
}

fn load(rel: &str) -> Value {
    let path = Path::new(FIXTURES).join(rel);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The task object of a fixture: the `task` field of a createTask body, or the whole file for
/// a bare `task-object-*.json`.
fn raw_task(rel: &str) -> Value {
    let v = load(rel);
    let is_bare = Path::new(rel)
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("task-object-"));
    if is_bare {
        v
    } else {
        v.get("task")
            .cloned()
            .unwrap_or_else(|| panic!("{rel}: no `task`"))
    }
}

/// Renames the documented non-canonical spellings (`Class`, `websiteUrl`) to the canonical
/// ones the builders emit (see the module documentation).
fn normalize(mut task: Value) -> Value {
    let obj = task.as_object_mut().expect("task object");
    for (from, to) in [("Class", "class"), ("websiteUrl", "websiteURL")] {
        if let Some(v) = obj.remove(from) {
            assert!(!obj.contains_key(to), "both {from} and {to}");
            obj.insert(to.to_owned(), v);
        }
    }
    task
}

/// Every request fixture file that holds a task, relative to the fixtures directory.
fn request_fixture_files() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut scan = |dir: &str, pred: &dyn Fn(&str) -> bool| {
        let path = if dir.is_empty() {
            Path::new(FIXTURES).to_path_buf()
        } else {
            Path::new(FIXTURES).join(dir)
        };
        for entry in fs::read_dir(&path).unwrap() {
            let entry = entry.unwrap();
            if !entry.file_type().unwrap().is_file() {
                continue;
            }
            let name = entry.file_name().into_string().unwrap();
            if pred(&name) {
                out.insert(if dir.is_empty() {
                    name
                } else {
                    format!("{dir}/{name}")
                });
            }
        }
    };
    scan("", &|n| {
        (n.starts_with("createTask-") && n.ends_with(".request.json"))
            || (n.starts_with("task-object-") && n.ends_with(".json"))
    });
    scan("normalized", &|n| n.ends_with(".request.json"));
    scan("historical", &|n| n.starts_with("createTask-"));
    out
}

#[test]
fn builders_reproduce_every_documented_task() {
    let mut failures = Vec::new();
    for (rel, built) in cases() {
        let expected = normalize(raw_task(rel));
        match built {
            Ok(task) => {
                let actual = task.into_json();
                if actual != expected {
                    failures.push(format!(
                        "{rel}:\n  expected {}\n  built    {}",
                        serde_json::to_string(&expected).unwrap(),
                        serde_json::to_string(&actual).unwrap()
                    ));
                }
            }
            Err(e) => failures.push(format!("{rel}: builder failed: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_request_fixture_is_covered() {
    let files = request_fixture_files();
    assert!(
        files.len() >= 70,
        "found only {} request fixtures",
        files.len()
    );
    let covered: BTreeSet<String> = cases().into_iter().map(|(rel, _)| rel.to_owned()).collect();
    let missing: Vec<_> = files.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "request fixtures without a builder case: {missing:?}"
    );
    let stale: Vec<_> = covered.difference(&files).collect();
    assert!(
        stale.is_empty(),
        "cases for fixtures that do not exist: {stale:?}"
    );
}

#[test]
fn raw_documented_tasks_pass_validation() {
    for rel in request_fixture_files() {
        let raw = raw_task(&rel);
        if let Err(e) = Task::from_json(raw.clone()) {
            panic!("{rel}: the documented example fails validation: {e}");
        }
        // The normalized spelling passes too.
        Task::from_json(normalize(raw)).unwrap_or_else(|e| panic!("{rel} (normalized): {e}"));
    }
}

#[test]
fn raw_tasks_keep_their_family() {
    let expect = [
        ("task-object-CustomTask-Castle.json", TaskFamily::Castle),
        ("task-object-CustomTask-tspd.json", TaskFamily::Tspd),
        (
            "task-object-GeeTestTaskProxyless-galxe.json",
            TaskFamily::GeeTest,
        ),
        (
            "historical/createTask-NoCaptchaTaskProxyless-callbackUrl.request.json",
            TaskFamily::RecaptchaV2,
        ),
        (
            "createTask-ComplexImageTask-recaptcha.request.json",
            TaskFamily::ComplexImage,
        ),
    ];
    for (rel, family) in expect {
        assert_eq!(
            Task::from_json(raw_task(rel)).unwrap().family(),
            family,
            "{rel}"
        );
    }
}

// --- negative tests --------------------------------------------------------------------------

#[track_caller]
fn assert_invalid(result: Result<Task, Error>, needles: &[&str]) {
    let err = match result {
        Ok(task) => panic!(
            "expected an error mentioning {needles:?}, got {:?}",
            task.as_json()
        ),
        Err(e) => e,
    };
    match err.kind() {
        ErrorKind::InvalidInput(msg) => {
            for n in needles {
                assert!(msg.contains(n), "error {msg:?} does not mention {n:?}");
            }
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

const URL: &str = "https://example.com";

#[test]
fn empty_required_fields_are_rejected_by_every_builder() {
    assert_invalid(ImageToText::new("").build(), &["ImageToTextTask", "`body`"]);
    assert_invalid(
        RecaptchaV2::new("", RV2_KEY).build(),
        &["RecaptchaV2Task", "`websiteURL`"],
    );
    assert_invalid(
        RecaptchaV2::new(URL, "").build(),
        &["RecaptchaV2Task", "`websiteKey`"],
    );
    assert_invalid(
        RecaptchaV2Enterprise::new(URL, " ").build(),
        &["RecaptchaV2EnterpriseTask", "`websiteKey`"],
    );
    assert_invalid(
        RecaptchaV3::new(URL, "").build(),
        &["RecaptchaV3TaskProxyless", "`websiteKey`"],
    );
    assert_invalid(
        RecaptchaV3Enterprise::new(URL, "").build(),
        &["RecaptchaV3EnterpriseTask", "`websiteKey`"],
    );
    assert_invalid(
        ComplexImageRecaptcha::with_urls(["https://i/x.jpg"], "")
            .task("t")
            .build(),
        &["`metadata.Grid`"],
    );
    assert_invalid(
        ComplexImageRecaptcha::with_urls(["https://i/x.jpg"], "3x3").build(),
        &["`metadata.Task` or `metadata.TaskDefinition`"],
    );
    assert_invalid(
        ComplexImageRecaptcha::with_urls(Vec::<String>::new(), "3x3")
            .task("t")
            .build(),
        &["`imageUrls` or `imagesBase64`"],
    );
    assert_invalid(
        ComplexImageRecognition::new("", ["aGVsbG8="]).build(),
        &["ComplexImageTask (recognition)", "`metadata.Task`"],
    );
    assert_invalid(
        ComplexImageRecognition::new("shein", Vec::<String>::new()).build(),
        &["`imagesBase64`"],
    );
    assert_invalid(
        ComplexImageRecognition::new("shein", [""]).build(),
        &["`imagesBase64[0]`"],
    );
    assert_invalid(
        ComplexImageHCaptcha::with_urls(["https://i/x.jpg"], "").build(),
        &["`metadata.Task`"],
    );
    assert_invalid(
        ComplexImageFunCaptcha::with_base64(["aGVsbG8="], "").build(),
        &["`metadata.Task`"],
    );
    assert_invalid(
        FunCaptcha::new(URL, "").build(),
        &["FunCaptchaTask", "`websitePublicKey`"],
    );
    assert_invalid(GeeTest::v3(URL, "", "c").build(), &["GeeTestTask", "`gt`"]);
    assert_invalid(
        GeeTest::v3(URL, "gt", "").build(),
        &["GeeTestTask", "`challenge`"],
    );
    assert_invalid(GeeTest::v4(URL, "").build(), &["GeeTestTask", "`gt`"]);
    assert_invalid(
        HCaptcha::new(URL, "").build(),
        &["HCaptchaTask", "`websiteKey`"],
    );
    assert_invalid(
        Turnstile::new(URL, "").build(),
        &["TurnstileTask", "`websiteKey`"],
    );
    assert_invalid(
        TurnstileChallengeToken::new(URL, "k", "managed", "d", "", UA).build(),
        &["`pageData`"],
    );
    assert_invalid(
        TurnstileChallengeToken::new(URL, "k", "", "d", "p", UA).build(),
        &["`pageAction`"],
    );
    assert_invalid(
        TurnstileChallengeToken::new(URL, "k", "managed", "d", "p", "").build(),
        &["`userAgent`"],
    );
    assert_invalid(
        TurnstileCfClearance::new(URL, "k", "", UA, proxy()).build(),
        &["`htmlPageBase64`"],
    );
    assert_invalid(
        TurnstileWaitRoom::new(URL, "", CF_HTML, UA, proxy()).build(),
        &["`websiteKey`"],
    );
    assert_invalid(
        Amazon::with_captcha_script(URL, "", AMZ_JSAPI).build(),
        &["AmazonTask", "`websiteKey`"],
    );
    assert_invalid(
        Amazon::with_captcha_script(URL, "k", "").build(),
        &["AmazonTask", "`captchaScript`"],
    );
    assert_invalid(
        Amazon::challenge_only(URL, "").build(),
        &["AmazonTask", "`challengeScript`"],
    );
    assert_invalid(
        Binance::new(URL, "login", "").build(),
        &["BinanceTask", "`validateId`"],
    );
    assert_invalid(
        MtCaptcha::new(URL, "").build(),
        &["MTCaptchaTask", "`websiteKey`"],
    );
    assert_invalid(
        Prosopo::new(URL, "").build(),
        &["ProsopoTask", "`websiteKey`"],
    );
    assert_invalid(Yidun::new(URL, "").build(), &["YidunTask", "`websiteKey`"]);
    assert_invalid(
        YandexSmartCaptcha::new(URL, "").build(),
        &["YandexSmartCaptchaTaskProxyless", "`websiteKey`"],
    );
    assert_invalid(
        Basilisk::new(URL, "").build(),
        &["CustomTask (Basilisk)", "`websiteKey`"],
    );
    assert_invalid(
        TenDi::new(URL, "").build(),
        &["CustomTask (TenDI)", "`websiteKey`"],
    );
    assert_invalid(
        DataDome::new(URL, "", "datadome=x", proxy()).build(),
        &["CustomTask (DataDome)", "`metadata.captchaUrl`"],
    );
    assert_invalid(
        DataDome::new(URL, DATADOME_CAPTCHA_URL, "", proxy()).build(),
        &["`metadata.datadomeCookie`"],
    );
    assert_invalid(
        Imperva::new(URL, "", "c=1", proxy()).build(),
        &["CustomTask (Imperva)", "`metadata.incapsulaScriptUrl`"],
    );
    assert_invalid(
        Imperva::new(URL, "s", "", proxy()).build(),
        &["`metadata.incapsulaCookies`"],
    );
    assert_invalid(
        Altcha::new(URL, "", "c", "5000", "", "s").build(),
        &["CustomTask (altcha)", "`metadata.salt`"],
    );
    assert_invalid(
        Altcha::new(URL, "", "", "5000", "s", "s").build(),
        &["`metadata.challenge`"],
    );
    assert_invalid(
        Castle::new(URL, "pk_x", "", CASTLE_SW).build(),
        &["CustomTask (Castle)", "`metadata.wUrl`"],
    );
    assert_invalid(
        Castle::new(URL, "", CASTLE_W, CASTLE_SW).build(),
        &["`websiteKey`"],
    );
    assert_invalid(
        Tspd::new(URL, "c", "h", "", proxy()).build(),
        &["CustomTask (tspd)", "`userAgent`"],
    );
    assert_invalid(
        Tspd::new(URL, "", "h", UA, proxy()).build(),
        &["`metadata.tspdCookie`"],
    );
    // userAgent is optional since the 2026-08 docs: absent is fine, empty is not.
    let t = Tspd::without_user_agent(URL, "c", "h", proxy())
        .build()
        .expect("tspd without userAgent");
    assert!(!t.as_json().contains_key("userAgent"));
    Task::from_json(json!({
        "type": "CustomTask", "class": "tspd", "websiteURL": URL,
        "metadata": {"tspdCookie": "c", "htmlPageBase64": "h"},
        "proxyType": "http", "proxyAddress": "1.2.3.4", "proxyPort": 8080
    }))
    .expect("raw tspd without userAgent");
    assert_invalid(
        Hunt::new(URL, "", proxy()).build(),
        &["CustomTask (HUNT)", "`metadata.apiGetLib`"],
    );
    assert_invalid(
        Alibaba::new(URL, "s", "").build(),
        &["CustomTask (alibaba)", "`metadata.prefix`"],
    );
    assert_invalid(
        Temu::new(URL, "").build(),
        &["CustomTask (Temu)", "`metadata.cookie`"],
    );
    assert_invalid(CustomTask::new("", URL).build(), &["`class`"]);
    assert_invalid(
        CustomTask::new("DataDome", URL).proxy(proxy()).build(),
        &["`metadata`"],
    );
    assert_invalid(Temu::new("", "c").build(), &["`websiteURL`"]);
}

#[test]
fn altcha_and_cf_clearance_and_amazon_opt3_allow_empty_keys() {
    altcha(false).unwrap();
    TurnstileCfClearance::new(URL, "", CF_HTML, UA, proxy())
        .build()
        .unwrap();
    amazon_opt3(false).unwrap();
}

#[test]
fn missing_required_fields_in_raw_json_are_named() {
    let cases: &[(&str, &[&str])] = &[
        (
            "createTask-RecaptchaV2Task.request.json",
            &["websiteURL", "websiteKey"],
        ),
        ("createTask-ImageToTextTask.request.json", &["body"]),
        (
            "createTask-FunCaptchaTask.request.json",
            &["websiteURL", "websitePublicKey"],
        ),
        (
            "createTask-GeeTestTask-v3.request.json",
            &["websiteURL", "gt", "challenge"],
        ),
        (
            "createTask-GeeTestTask-v4.request.json",
            &["websiteURL", "gt"],
        ),
        (
            "createTask-BinanceTask.request.json",
            &["websiteURL", "websiteKey", "validateId"],
        ),
        (
            "createTask-TurnstileTask-challenge-token.request.json",
            &["pageAction", "data", "pageData", "userAgent"],
        ),
        (
            "createTask-TurnstileTask-cf_clearance.request.json",
            &["htmlPageBase64", "userAgent", "websiteKey"],
        ),
        (
            // `websiteKey` is optional with `challengeScript`: option 3 sends none.
            "createTask-AmazonTask-opt2-challengeScript.request.json",
            &["context", "iv"],
        ),
        (
            "normalized/createTask-CustomTask-friendly.request.json",
            &["websiteURL", "websiteKey", "metadata"],
        ),
        (
            "createTask-CustomTask-alibaba-extended.request.json",
            &["websiteURL", "metadata"],
        ),
        (
            "createTask-AmazonTask-opt1-captchaScript.request.json",
            &["websiteKey"],
        ),
        (
            "createTask-CustomTask-altcha.request.json",
            &["websiteKey", "metadata"],
        ),
        (
            "createTask-ComplexImageTask-recognition-shein.request.json",
            &["imagesBase64", "metadata", "class"],
        ),
        (
            "createTask-CustomTask-Temu.request.json",
            &["websiteURL", "metadata"],
        ),
        ("createTask-CustomTask-TenDI.request.json", &["websiteKey"]),
        (
            "normalized/createTask-CustomTask-tspd.request.json",
            &["metadata"],
        ),
    ];
    for (rel, fields) in cases {
        for field in *fields {
            let mut task = raw_task(rel);
            task.as_object_mut().unwrap().remove(*field);
            assert_invalid(Task::from_json(task.clone()), &[&format!("`{field}")]);
            task.as_object_mut()
                .unwrap()
                .insert((*field).to_owned(), Value::Null);
            assert_invalid(Task::from_json(task), &[&format!("`{field}")]);
        }
    }
    // Wrong JSON type.
    let mut task = raw_task("createTask-RecaptchaV2Task.request.json");
    task["websiteKey"] = json!(42);
    assert_invalid(
        Task::from_json(task),
        &["`websiteKey` must be a string, got a number"],
    );
    // Amazon with neither script.
    let mut task = raw_task("createTask-AmazonTask-opt1-captchaScript.request.json");
    task.as_object_mut().unwrap().remove("captchaScript");
    assert_invalid(
        Task::from_json(task),
        &["`captchaScript`", "`challengeScript`"],
    );
}

#[test]
fn bad_urls_are_rejected() {
    for url in [
        "example.com",
        "ftp://example.com",
        "javascript:alert(1)",
        " https://example.com",
    ] {
        assert_invalid(
            RecaptchaV2::new(url, RV2_KEY).build(),
            &["RecaptchaV2Task", "`websiteURL`", "http://"],
        );
        assert_invalid(Hunt::new(url, HUNT_LIB, proxy()).build(), &["`websiteURL`"]);
    }
    RecaptchaV2::new("HTTPS://EXAMPLE.COM/", RV2_KEY)
        .build()
        .unwrap();
    // The `websiteUrl` spelling is checked the same way.
    let mut task = raw_task("task-object-CustomTask-tspd.json");
    task["websiteUrl"] = json!("example.com");
    assert_invalid(Task::from_json(task), &["`websiteUrl`", "http"]);
    // ...and for unknown types sent on purpose, when present.
    assert_invalid(
        Task::from_json_unchecked(json!({"type": "SomeNewTask", "websiteURL": "x"})),
        &["`websiteURL`"],
    );
    Task::from_json_unchecked(json!({"type": "SomeNewTask", "anything": 1})).unwrap();
    Task::from_json(json!({"type": "CustomTask", "class": "SomethingNew", "x": 1})).unwrap();
}

#[test]
fn bad_proxies_are_rejected() {
    let rv2 = |p: Proxy| RecaptchaV2::new(URL, RV2_KEY).proxy(p).build();
    assert_invalid(rv2(Proxy::http("8.8.8.8", 0)), &["`proxyPort`"]);
    assert_invalid(rv2(Proxy::http("", 8080)), &["`proxyAddress`"]);
    assert_invalid(
        rv2(Proxy::http("8.8.8.8 8.8.4.4", 8080)),
        &["`proxyAddress`", "whitespace"],
    );
    rv2(Proxy::new(ProxyType::Socks5, "2001:db8::1", 1080)).unwrap();
    rv2(Proxy::new(ProxyType::Socks4, "proxy.example.net", 65535)).unwrap();

    let base = raw_task("createTask-RecaptchaV2Task-proxy.request.json");
    let with = |key: &str, v: Value| {
        let mut t = base.clone();
        t[key] = v;
        Task::from_json(t)
    };
    let without = |key: &str| {
        let mut t = base.clone();
        t.as_object_mut().unwrap().remove(key);
        Task::from_json(t)
    };
    assert_invalid(with("proxyType", json!("ftp")), &["`proxyType`", "socks5"]);
    assert_invalid(with("proxyType", json!("HTTP ")), &["`proxyType`"]);
    assert_invalid(with("proxyPort", json!("8080")), &["`proxyPort`"]);
    assert_invalid(with("proxyPort", json!(70000)), &["`proxyPort`"]);
    assert_invalid(with("proxyPort", json!(-1)), &["`proxyPort`"]);
    assert_invalid(with("proxyPort", json!(80.5)), &["`proxyPort`"]);
    assert_invalid(with("proxyLogin", json!(5)), &["`proxyLogin`"]);
    for k in ["proxyType", "proxyAddress", "proxyPort"] {
        assert_invalid(without(k), &[&format!("`{k}`")]);
    }
    // Credentials without a proxy.
    let mut t = raw_task("createTask-RecaptchaV2Task.request.json");
    t["proxyLogin"] = json!("user");
    assert_invalid(Task::from_json(t), &["`proxyLogin`"]);
}

#[test]
fn proxy_is_required_where_documented() {
    let strip = |rel: &str| {
        let mut t = raw_task(rel);
        let o = t.as_object_mut().unwrap();
        for k in [
            "proxyType",
            "proxyAddress",
            "proxyPort",
            "proxyLogin",
            "proxyPassword",
        ] {
            o.remove(k);
        }
        Task::from_json(t)
    };
    for rel in [
        "createTask-CustomTask-DataDome.request.json",
        "createTask-CustomTask-Imperva.request.json",
        "normalized/createTask-CustomTask-tspd.request.json",
        "normalized/createTask-CustomTask-HUNT-xhd.request.json",
        "createTask-TurnstileTask-cf_clearance.request.json",
        "createTask-TurnstileTask-wait_room.request.json",
    ] {
        assert_invalid(strip(rel), &["proxy is required"]);
    }
    // Optional elsewhere.
    strip("createTask-RecaptchaV2Task-proxy.request.json").unwrap();
    strip("createTask-CustomTask-altcha-proxy.request.json").unwrap();
}

/// The upper image limit is checked against the configuration when the task is sent, not
/// when it is built: `Task::check_image_size` is what `Solve` and `codec::create_task` run.
#[track_caller]
fn assert_too_big(task: &Task, limit: usize, needles: &[&str]) {
    match task.check_image_size(limit) {
        Ok(()) => panic!(
            "expected the {limit}-byte image limit to refuse {:?}",
            task.type_name()
        ),
        Err(e) => match e.kind() {
            ErrorKind::InvalidInput(msg) => {
                let limit = limit.to_string();
                let always: [&str; 3] = [
                    limit.as_str(),
                    "Config::with_max_image_bytes",
                    "--max-image-bytes",
                ];
                for n in needles.iter().chain(always.iter()) {
                    assert!(msg.contains(n), "error {msg:?} does not mention {n:?}");
                }
            }
            other => panic!("expected InvalidInput, got {other:?}"),
        },
    }
}

#[test]
fn image_size_limits() {
    // Exactly at the default limit passes; one byte more is refused at send time, naming the
    // field, the limit and both ways to raise it.
    let at = ImageToText::from_image_bytes(&vec![7u8; MAX_IMAGE_BYTES])
        .build()
        .unwrap();
    at.check_image_size(MAX_IMAGE_BYTES).unwrap();
    let over = ImageToText::from_image_bytes(&vec![7u8; MAX_IMAGE_BYTES + 1])
        .build()
        .expect("building does not check the upper limit");
    assert_too_big(&over, MAX_IMAGE_BYTES, &["ImageToTextTask", "`body`"]);
    // A raised limit lets it through; a lowered one refuses the smaller image.
    over.check_image_size(MAX_IMAGE_BYTES + 1).unwrap();
    over.check_image_size(500_000).unwrap();
    assert_too_big(&at, MAX_IMAGE_BYTES - 1, &["`body`"]);
    // Below 100 bytes (ERROR_ZERO_CAPTCHA_FILESIZE) fails when the body is real base64.
    assert_invalid(
        ImageToText::from_image_bytes(&[1u8; 99]).build(),
        &["`body`", "100"],
    );
    ImageToText::from_image_bytes(&[1u8; 100]).build().unwrap();
    // Whitespace (line breaks) is rejected.
    assert_invalid(
        ImageToText::new("iVBORw0KGgo\nAAAANSUhEUg").build(),
        &["`body`", "whitespace"],
    );
    // A huge non-base64 body is still too big (estimated from its length).
    let junk = ImageToText::new("!".repeat(MAX_IMAGE_BYTES * 2))
        .build()
        .unwrap();
    assert_too_big(&junk, MAX_IMAGE_BYTES, &["`body`"]);
    // ComplexImageTask: each base64 image, examples included.
    let big = "A".repeat((MAX_IMAGE_BYTES + 3) / 3 * 4 + 4);
    let t = ComplexImageRecognition::new("shein", ["aGVsbG8=".to_owned(), big.clone()])
        .build()
        .unwrap();
    assert_too_big(
        &t,
        MAX_IMAGE_BYTES,
        &["ComplexImageTask (recognition)", "`imagesBase64[1]`"],
    );
    t.check_image_size(2 * MAX_IMAGE_BYTES).unwrap();
    let t = ComplexImageRecaptcha::with_base64([big.clone()], "3x3")
        .task("t")
        .build()
        .unwrap();
    assert_too_big(&t, MAX_IMAGE_BYTES, &["`imagesBase64[0]`"]);
    let t = ComplexImageHCaptcha::with_urls(["https://i/x.jpg"], "t")
        .example_images_base64([big.clone()])
        .build()
        .unwrap();
    assert_too_big(&t, MAX_IMAGE_BYTES, &["`exampleImagesBase64[0]`"]);
    // Raw JSON is checked the same way.
    let raw = Task::from_json(json!({"type": "ImageToTextTask", "body": big.clone()})).unwrap();
    assert_too_big(&raw, MAX_IMAGE_BYTES, &["`body`"]);
    // Audio payloads are not images: the documented bills_audio WAV is ~250 KB.
    ComplexImageRecognition::new("bills_audio", [big.clone()])
        .payload_type("Audio")
        .build()
        .unwrap()
        .check_image_size(MAX_IMAGE_BYTES)
        .unwrap();
    // Tasks without images always pass.
    RecaptchaV2::new(URL, RV2_KEY)
        .field("body", big)
        .build()
        .unwrap()
        .check_image_size(1)
        .unwrap();
}

#[test]
fn type_aliases_must_name_the_same_type() {
    RecaptchaV2::new(URL, RV2_KEY)
        .type_name("NoCaptchaTask")
        .build()
        .unwrap();
    RecaptchaV2::new(URL, RV2_KEY)
        .type_name("RecaptchaV2TaskProxyless")
        .build()
        .unwrap();
    assert_invalid(
        RecaptchaV2::new(URL, RV2_KEY)
            .type_name("HCaptchaTask")
            .build(),
        &["HCaptchaTask"],
    );
}

#[test]
fn builders_convert_with_try_from_and_expose_canonical_names() {
    let task = Task::try_from(
        ImageToText::new("BASE64_BODY_HERE!")
            .capmonster_module("universal")
            .case(true)
            .numeric(true)
            .math(false),
    )
    .unwrap();
    let j = task.as_json();
    assert_eq!(j["capMonsterModule"], "universal");
    assert_eq!(j["case"], true);
    assert_eq!(j["numeric"], 1);
    assert_eq!(j["math"], false);
    let task = RecaptchaV2::new(URL, RV2_KEY)
        .cookie_pairs([("a", "1"), ("b", "2")])
        .proxy(Proxy::new(ProxyType::Socks5, "1.2.3.4", 1080))
        .field("someNewField", 3)
        .build()
        .unwrap();
    let j = task.as_json();
    assert_eq!(j["cookies"], "a=1; b=2");
    assert_eq!(j["proxyType"], "socks5");
    assert_eq!(j["proxyPort"], 1080);
    assert!(!j.contains_key("proxyLogin"));
    assert_eq!(j["someNewField"], 3);
    assert!(!task.nocache());
    assert!(
        RecaptchaV2::new(URL, RV2_KEY)
            .nocache(true)
            .build()
            .unwrap()
            .nocache()
    );
    let task = CustomTask::new("friendly", URL)
        .website_key("k")
        .metadata("apiGetLib", "https://x/y.js")
        .build()
        .unwrap();
    assert_eq!(task.family(), TaskFamily::Friendly);
    assert_eq!(task.as_json()["metadata"]["apiGetLib"], "https://x/y.js");
    assert_eq!("SOCKS4".parse::<ProxyType>().unwrap(), ProxyType::Socks4);
    assert!("ftp".parse::<ProxyType>().is_err());
}

#[test]
fn proxy_debug_hides_the_password() {
    let p = Proxy::http("8.8.8.8", 8080).credentials("user", "hunter2-secret");
    let dbg = format!("{p:?}");
    assert!(!dbg.contains("hunter2-secret"), "{dbg}");
    assert!(dbg.contains("***") && dbg.contains("user"), "{dbg}");
    let builder = RecaptchaV2::new(URL, RV2_KEY).proxy(p);
    assert!(!format!("{builder:?}").contains("hunter2-secret"));
}

// --- the 2026-08 documentation --------------------------------------------------------------

/// The built task equals `expected` exactly (field names, JSON types, nothing extra).
#[track_caller]
fn assert_golden(built: Result<Task, Error>, expected: Value) {
    let task = built.unwrap_or_else(|e| panic!("builder failed: {e}"));
    assert_eq!(task.into_json(), expected);
}

#[test]
fn geetest_v3_sends_integer_version_3_by_default() {
    let t = GeeTest::v3(URL, "gt", "challenge").build().unwrap();
    assert_eq!(t.as_json()["version"], json!(3));
    assert!(t.as_json()["version"].is_u64(), "an integer, not \"3\"");
    // explicit_version is now a no-op on v3 and never touches v4.
    assert_eq!(
        GeeTest::v3(URL, "gt", "challenge")
            .explicit_version()
            .build()
            .unwrap(),
        t
    );
    let v4 = GeeTest::v4(URL, "id").explicit_version().build().unwrap();
    assert_eq!(v4.as_json()["version"], json!(4));
    // A raw v3 task without `version` is still accepted as the user wrote it.
    Task::from_json(json!({"type": "GeeTestTask", "websiteURL": URL, "gt": "g", "challenge": "c"}))
        .unwrap();
    assert_invalid(
        GeeTest::v3(URL, "gt", "c").field("version", 5).build(),
        &["`version` must be 3 or 4"],
    );
}

#[test]
fn amazon_option3_sends_empty_context_and_iv_only() {
    let t = Amazon::challenge_only(URL, AMZ_CHALLENGE).build().unwrap();
    let j = t.as_json();
    assert_eq!(j["context"], "");
    assert_eq!(j["iv"], "");
    assert!(!j.contains_key("websiteKey"), "{j:?}");
    assert!(!j.contains_key("captchaScript"), "{j:?}");
    // The older shape (empty websiteKey/captchaScript) is still accepted as raw JSON.
    Task::from_json(json!({
        "type": "AmazonTask", "websiteURL": URL, "challengeScript": AMZ_CHALLENGE,
        "websiteKey": "", "captchaScript": "", "context": "", "iv": ""
    }))
    .unwrap();
    // context/iv stay required with challengeScript.
    assert_invalid(
        Task::from_json(
            json!({"type": "AmazonTask", "websiteURL": URL, "challengeScript": AMZ_CHALLENGE, "iv": ""}),
        ),
        &["`context`"],
    );
}

#[test]
fn turnstile_widget_data() {
    assert_golden(
        Turnstile::new(URL, "0x4AAAAAAABUYP0XeMJF0xoy")
            .page_action("login")
            .data("874291f4retD1366")
            .user_agent(UA)
            .build(),
        json!({
            "type": "TurnstileTask",
            "websiteURL": URL,
            "websiteKey": "0x4AAAAAAABUYP0XeMJF0xoy",
            "pageAction": "login",
            "data": "874291f4retD1366",
            "userAgent": UA,
        }),
    );
    assert_invalid(
        Turnstile::new(URL, "k").data("").build(),
        &["TurnstileTask", "`data`"],
    );
    assert_invalid(
        Turnstile::new(URL, "k").field("data", 5).build(),
        &["`data` must be a string"],
    );
}

#[test]
fn alibaba_punish_mode_and_extended_fields() {
    let punish = "https://example.com:443//api/example/testlogin/_____tmd_____/punish?x5secdata=xg&x5step=2&action=captchaclick&pureCaptcha=";
    assert_golden(
        Alibaba::punish(URL, punish).cookie_required(true).build(),
        json!({
            "type": "CustomTask",
            "class": "alibaba",
            "websiteURL": URL,
            "metadata": {"punishUrl": punish, "cookieRequired": true},
        }),
    );
    // The documented punish request as raw JSON passes (it failed locally before 2026-08).
    Task::from_json(raw_task(
        "createTask-CustomTask-alibaba-punish.request.json",
    ))
    .unwrap();
    // Without punishUrl, sceneId and prefix are required; the message names the alternative.
    assert_invalid(
        Task::from_json(
            json!({"type": "CustomTask", "class": "alibaba", "websiteURL": URL, "metadata": {}}),
        ),
        &["`metadata.sceneId`", "punishUrl"],
    );
    assert_invalid(
        Alibaba::punish(URL, "x5secdata=abc").build(),
        &["`metadata.punishUrl`", "http"],
    );
    assert_invalid(Alibaba::punish(URL, "").build(), &["`metadata.punishUrl`"]);
    // Capital U on the wire, every setter in `metadata`.
    let t = Alibaba::new(URL, "s", "p")
        .punish_url(punish)
        .user_id("u")
        .user_user_id("uu")
        .verify_type("1.0")
        .region("sgp")
        .user_certify_id("cid")
        .api_get_lib(ALIBABA_LIB)
        .build()
        .unwrap();
    let m = &t.as_json()["metadata"];
    assert_eq!(m["UserCertifyId"], "cid");
    assert!(m.get("userCertifyId").is_none());
    for (k, v) in [
        ("sceneId", "s"),
        ("prefix", "p"),
        ("punishUrl", punish),
        ("userId", "u"),
        ("userUserId", "uu"),
        ("verifyType", "1.0"),
        ("region", "sgp"),
        ("apiGetLib", ALIBABA_LIB),
    ] {
        assert_eq!(m[k], v, "{k}");
    }
    assert_invalid(
        Alibaba::new(URL, "s", "p").region("").build(),
        &["`metadata.region`"],
    );
    assert_invalid(
        Alibaba::new(URL, "s", "p")
            .api_get_lib("AliyunCaptcha.js")
            .build(),
        &["`metadata.apiGetLib`", "http"],
    );
    assert_invalid(
        Task::from_json(
            json!({"type": "CustomTask", "class": "alibaba", "websiteURL": URL,
            "metadata": {"sceneId": "s", "prefix": "p", "cookieRequired": "true"}}),
        ),
        &["`metadata.cookieRequired` must be a boolean"],
    );
}

#[test]
fn friendly_captcha_builder() {
    assert_golden(
        Friendly::new(
            URL,
            "FCMGEMUD2KTDSQ5H",
            "https://cdn.jsdelivr.net/npm/@friendlycaptcha/sdk@0.1.8/site.min.js",
        )
        .proxy(proxy())
        .build(),
        json!({
            "type": "CustomTask",
            "class": "friendly",
            "websiteURL": URL,
            "websiteKey": "FCMGEMUD2KTDSQ5H",
            "metadata": {"apiGetLib": "https://cdn.jsdelivr.net/npm/@friendlycaptcha/sdk@0.1.8/site.min.js"},
            "proxyType": "http",
            "proxyAddress": "8.8.8.8",
            "proxyPort": 8080,
            "proxyLogin": "proxyLoginHere",
            "proxyPassword": "proxyPasswordHere",
        }),
    );
    let t = friendly(false).unwrap();
    assert_eq!(t.family(), TaskFamily::Friendly);
    assert_invalid(
        Friendly::new(URL, "", FRIENDLY_LIB).build(),
        &["CustomTask (friendly)", "`websiteKey`"],
    );
    assert_invalid(
        Friendly::new(URL, "k", "").build(),
        &["CustomTask (friendly)", "`metadata.apiGetLib`"],
    );
    assert_invalid(
        Friendly::new(URL, "k", "widget.module.min.js").build(),
        &["`metadata.apiGetLib`", "http"],
    );
    assert_invalid(
        Friendly::new("", "k", FRIENDLY_LIB).build(),
        &["`websiteURL`"],
    );
    // Raw JSON without metadata is refused too.
    assert_invalid(
        Task::from_json(
            json!({"type": "CustomTask", "class": "friendly", "websiteURL": URL, "websiteKey": "k"}),
        ),
        &["`metadata`"],
    );
}

#[test]
fn prosopo_user_agent() {
    assert_golden(
        Prosopo::new(URL, "5EZU3LG31uzq1Mwi8inwqxmfvFDpj7VzwDnZwj4Q3syyxBwV")
            .user_agent(UA)
            .build(),
        json!({
            "type": "ProsopoTask",
            "websiteURL": URL,
            "websiteKey": "5EZU3LG31uzq1Mwi8inwqxmfvFDpj7VzwDnZwj4Q3syyxBwV",
            "userAgent": UA,
        }),
    );
    assert_invalid(
        Prosopo::new(URL, "k").user_agent("").build(),
        &["ProsopoTask", "`userAgent`"],
    );
}

#[test]
fn hunt_widget_url_excludes_data() {
    let widget = "https://captcha.example.com/widget?hash=abc123";
    assert_golden(
        Hunt::new(URL, HUNT_LIB, proxy()).widget_url(widget).build(),
        json!({
            "type": "CustomTask",
            "class": "HUNT",
            "websiteURL": URL,
            "metadata": {"apiGetLib": HUNT_LIB, "widgetUrl": widget},
            "proxyType": "http",
            "proxyAddress": "8.8.8.8",
            "proxyPort": 8080,
            "proxyLogin": "proxyLoginHere",
            "proxyPassword": "proxyPasswordHere",
        }),
    );
    assert_invalid(
        Hunt::new(URL, HUNT_LIB, proxy())
            .data("tok")
            .widget_url(widget)
            .build(),
        &[
            "CustomTask (HUNT)",
            "`metadata.data`",
            "`metadata.widgetUrl`",
            "mutually exclusive",
        ],
    );
    // "Do not send only the hash value".
    assert_invalid(
        Hunt::new(URL, HUNT_LIB, proxy())
            .widget_url("abc123")
            .build(),
        &["`metadata.widgetUrl`", "http"],
    );
    assert_invalid(
        Hunt::new(URL, HUNT_LIB, proxy()).data("").build(),
        &["`metadata.data`"],
    );
}

#[test]
fn tendi_aid_encrypted() {
    assert_golden(
        TenDi::new(URL, "189123456")
            .captcha_url("https://global.captcha.example.com/TJNCaptcha-global.js")
            .aid_encrypted("enc-aid-value")
            .build(),
        json!({
            "type": "CustomTask",
            "class": "TenDI",
            "websiteURL": URL,
            "websiteKey": "189123456",
            "metadata": {
                "captchaUrl": "https://global.captcha.example.com/TJNCaptcha-global.js",
                "aidEncrypted": "enc-aid-value",
            },
        }),
    );
    assert_invalid(
        TenDi::new(URL, "1").aid_encrypted("").build(),
        &["CustomTask (TenDI)", "`metadata.aidEncrypted`"],
    );
    assert_invalid(
        TenDi::new(URL, "1")
            .field("metadata", json!({"aidEncrypted": 5}))
            .build(),
        &["`metadata.aidEncrypted` must be a string"],
    );
}

#[test]
fn custom_task_domains() {
    assert_golden(
        CustomTask::new("SomethingNew", URL)
            .website_key("k")
            .domains(["example.com", "www.example.com"])
            .build(),
        json!({
            "type": "CustomTask",
            "class": "SomethingNew",
            "websiteURL": URL,
            "websiteKey": "k",
            "domains": ["example.com", "www.example.com"],
        }),
    );
    assert_invalid(
        CustomTask::new("SomethingNew", URL)
            .domains(["ok", ""])
            .build(),
        &["`domains[1]`"],
    );
    assert_invalid(
        Task::from_json(json!({"type": "CustomTask", "class": "X", "domains": "example.com"})),
        &["`domains` must be an array of strings"],
    );
    assert_invalid(
        Task::from_json(json!({"type": "CustomTask", "class": "X", "domains": [1]})),
        &["`domains[0]` must be a string"],
    );
}

#[test]
fn nocache_on_funcaptcha_and_hcaptcha() {
    assert_golden(
        FunCaptcha::new(URL, "PK").nocache(true).build(),
        json!({"type": "FunCaptchaTask", "websiteURL": URL, "websitePublicKey": "PK", "nocache": true}),
    );
    assert_golden(
        HCaptcha::new(URL, "SK").nocache(true).build(),
        json!({"type": "HCaptchaTask", "websiteURL": URL, "websiteKey": "SK", "nocache": true}),
    );
    assert!(
        FunCaptcha::new(URL, "PK")
            .nocache(true)
            .build()
            .unwrap()
            .nocache()
    );
    assert!(
        !HCaptcha::new(URL, "SK")
            .nocache(false)
            .build()
            .unwrap()
            .nocache()
    );
}

#[test]
fn recaptcha_v3_min_score_range() {
    for ok in [0.1, 0.3, 0.7, 0.9] {
        RecaptchaV3::new(URL, "k").min_score(ok).build().unwrap();
        RecaptchaV3Enterprise::new(URL, "k")
            .min_score(ok)
            .build()
            .unwrap();
    }
    for bad in [0.0, 0.09, 0.91, 1.0, -0.5, 7.0, f64::NAN, f64::INFINITY] {
        assert_invalid(
            RecaptchaV3::new(URL, "k").min_score(bad).build(),
            &["RecaptchaV3TaskProxyless", "`minScore`", "0.1 to 0.9"],
        );
        assert_invalid(
            RecaptchaV3Enterprise::new(URL, "k").min_score(bad).build(),
            &["RecaptchaV3EnterpriseTask", "`minScore`", "0.1 to 0.9"],
        );
    }
    assert_invalid(
        Task::from_json(
            json!({"type": "RecaptchaV3TaskProxyless", "websiteURL": URL, "websiteKey": "k", "minScore": "0.5"}),
        ),
        &["`minScore`"],
    );
}

#[test]
fn proxy_credentials_with_percent_are_refused_locally() {
    for (login, password) in [("us%er", "pw"), ("user", "p%40ss")] {
        let err = RecaptchaV2::new(URL, RV2_KEY)
            .proxy(Proxy::http("8.8.8.8", 8080).credentials(login, password))
            .build()
            .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err:?}");
        assert!(
            msg.contains("ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER"),
            "{msg}"
        );
        assert!(msg.contains('%'), "{msg}");
        // The password itself is not repeated.
        assert!(!msg.contains("p%40ss"), "{msg}");
    }
    // Raw JSON too, for any task type.
    let mut t = raw_task("createTask-RecaptchaV2Task-proxy.request.json");
    t["proxyPassword"] = json!("50%off");
    assert_invalid(
        Task::from_json(t),
        &[
            "`proxyPassword`",
            "ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER",
        ],
    );
    // Other characters pass.
    RecaptchaV2::new(URL, RV2_KEY)
        .proxy(Proxy::http("8.8.8.8", 8080).credentials("u;s|e)r", "p@ss:w/rd"))
        .build()
        .unwrap();
}

#[test]
fn tspd_proxy_login_forbids_semicolon_pipe_paren() {
    for bad in ["a;b", "a|b", "a)b"] {
        let p = Proxy::http("8.8.8.8", 8080).credentials(bad, "pw");
        assert_invalid(
            Tspd::new(URL, TSPD_COOKIE, "PCFET0NU", UA, p).build(),
            &["CustomTask (tspd)", "`proxyLogin`"],
        );
    }
    let p = Proxy::http("8.8.8.8", 8080).credentials("user-session-1", "pw;|)");
    Tspd::new(URL, TSPD_COOKIE, "PCFET0NU", UA, p)
        .build()
        .unwrap();
}
