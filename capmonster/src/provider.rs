//! [`Provider`]: one service of a client over several, with its key.

use capmonster_core::ProviderAccount;

/// One service a [`Client`](crate::Client) sends captchas to, with the key to use there:
/// a built-in profile (`capmonster`, `anti-captcha`, `2captcha`, `rucaptcha`, `capsolver`)
/// or one loaded from JSON (another clone of the protocol), optionally at another base URL.
/// Give several to [`ClientBuilder::provider`](crate::ClientBuilder::provider), in failover
/// order. Every setter is infallible: a bad key, URL or profile is reported by the builder's
/// `build()`. `Debug` never shows the key.
///
/// ```no_run
/// # async fn run(cm_key: &str, ac_key: &str) -> Result<(), Box<dyn std::error::Error>> {
/// let client = capmonster::Client::builder()
///     .provider(capmonster::Provider::capmonster(cm_key))
///     .provider(capmonster::Provider::anti_captcha(ac_key).base_url("http://127.0.0.1:8632"))
///     .build()?;
/// let task = capmonster::task::RecaptchaV2::new("https://example.com/", "6Lc_aCMTAAAAABx7u2W0WPXnVbI_v6ZdbM6rYf16");
/// let solved = client.solve(task).await?;
/// println!("{} {:?}", solved.provider(), solved.attempts());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Provider(ProviderAccount);

impl Provider {
    /// CapMonster Cloud (`api.capmonster.cloud`), spoken by the codec's own path.
    pub fn capmonster(key: impl AsRef<str>) -> Self {
        Self(ProviderAccount::builtin("capmonster", key))
    }

    /// Anti-Captcha (`api.anti-captcha.com`).
    pub fn anti_captcha(key: impl AsRef<str>) -> Self {
        Self(ProviderAccount::builtin("anti-captcha", key))
    }

    /// 2Captcha's v2 JSON API (`api.2captcha.com`).
    pub fn two_captcha(key: impl AsRef<str>) -> Self {
        Self(ProviderAccount::builtin("2captcha", key))
    }

    /// RuCaptcha (`api.rucaptcha.com`, 2Captcha's API).
    pub fn rucaptcha(key: impl AsRef<str>) -> Self {
        Self(ProviderAccount::builtin("rucaptcha", key))
    }

    /// CapSolver (`api.capsolver.com`; keys start with `CAP-`).
    pub fn capsolver(key: impl AsRef<str>) -> Self {
        Self(ProviderAccount::builtin("capsolver", key))
    }

    /// A built-in profile by name (`capmonster`, `anti-captcha`, `2captcha`, `rucaptcha`,
    /// `capsolver`); an unknown name is reported by `build()`.
    pub fn builtin(name: &str, key: impl AsRef<str>) -> Self {
        Self(ProviderAccount::builtin(name, key))
    }

    /// A profile from JSON text (the format of the built-in profiles,
    /// `capmonster::raw::core::provider::Provider::builtin_json`): another clone of the
    /// protocol without code. A bad profile is reported by `build()`.
    pub fn from_json(profile: &str, key: impl AsRef<str>) -> Self {
        Self(ProviderAccount::from_json_str(profile, key))
    }

    /// A profile already loaded.
    pub fn from_profile(
        profile: capmonster_core::provider::Provider,
        key: impl AsRef<str>,
    ) -> Self {
        Self(ProviderAccount::new(profile, key))
    }

    /// Another base URL (a simulator, a gateway): https, or plain http to loopback only.
    #[must_use]
    pub fn base_url(self, url: impl AsRef<str>) -> Self {
        Self(self.0.base_url(url))
    }

    /// The profile's name.
    pub fn name(&self) -> &str {
        self.0.name()
    }

    pub(crate) fn into_account(self) -> ProviderAccount {
        self.0
    }
}
