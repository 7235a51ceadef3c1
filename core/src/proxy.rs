//! The proxy for the client's own HTTP: parsed once, and chosen from the environment by one
//! rule that every transport follows.

use std::fmt;

use http::Uri;

use crate::error::Error;

/// How a proxy is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProxyScheme {
    /// `http://`: an HTTP proxy, used as a `CONNECT` tunnel (also for plain-http targets).
    Http,
    /// `socks5://` (local name resolution) or `socks5h://` (the proxy resolves names).
    Socks5 {
        /// Whether the proxy resolves the target's name (`socks5h`).
        remote_dns: bool,
    },
}

/// A proxy URL: scheme, host, port and optional credentials. `Debug` and `Display` never
/// show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    scheme: ProxyScheme,
    host: String,
    port: u16,
    username: Option<String>,
    password: Option<String>,
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyUrl")
            .field("scheme", &self.scheme)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl fmt::Display for ProxyUrl {
    /// The URL without credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri_without_credentials())
    }
}

impl ProxyUrl {
    /// Parses `http://[user[:pass]@]host[:port]` (port 80 by default) or
    /// `socks5://`/`socks5h://` (port 1080 by default). A URL without a scheme is taken as
    /// `http://`. The error never repeats the credentials.
    pub fn parse(url: &str) -> Result<Self, Error> {
        let url = url.trim();
        let (scheme, rest) = match url.split_once("://") {
            Some((s, rest)) => (s.to_ascii_lowercase(), rest),
            None => ("http".to_owned(), url),
        };
        let (scheme, default_port) = match scheme.as_str() {
            "http" => (ProxyScheme::Http, 80),
            "socks5" => (ProxyScheme::Socks5 { remote_dns: false }, 1080),
            "socks5h" => (ProxyScheme::Socks5 { remote_dns: true }, 1080),
            other => {
                return Err(Error::invalid_input(format!(
                    "proxy scheme {other:?} is not supported (use http://, socks5:// or socks5h://)"
                )));
            }
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((user, pass)) => (Some(decode(user)), Some(decode(pass))),
                None => (Some(decode(u)), None),
            },
        };
        let uri: Uri = format!("http://{hostport}/")
            .parse()
            .map_err(|_| Error::invalid_input("the proxy URL's host and port are not valid"))?;
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Error::invalid_input("the proxy URL has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        Ok(Self {
            scheme,
            port: uri.port_u16().unwrap_or(default_port),
            host,
            username,
            password,
        })
    }

    /// The proxy the environment asks for when talking to `base_url`, or `None`.
    ///
    /// The rule, the same for every transport:
    /// - for an `https` base URL, the first non-empty of `https_proxy`, `HTTPS_PROXY`,
    ///   `all_proxy`, `ALL_PROXY`; for an `http` one, of `http_proxy`, `HTTP_PROXY`,
    ///   `all_proxy`, `ALL_PROXY`;
    /// - no proxy when the host matches `no_proxy`/`NO_PROXY` (comma-separated; `*` matches
    ///   every host; an entry matches the host itself and its subdomains, a leading `.` or
    ///   `*.` is ignored; IP addresses match exactly; a `:port` suffix is ignored);
    /// - never a proxy for a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`).
    ///
    /// An unparsable value is an error (rather than a silent direct connection).
    pub fn from_env(base_url: &str) -> Result<Option<Self>, Error> {
        Self::from_vars(base_url, |name| std::env::var(name).ok())
    }

    /// [`ProxyUrl::from_env`] with the variables read through `var` (for tests).
    pub fn from_vars(
        base_url: &str,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, Error> {
        let Ok(uri) = base_url.parse::<Uri>() else {
            return Ok(None);
        };
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if is_loopback(&host) {
            return Ok(None);
        }
        let names: [&str; 4] = if uri.scheme_str() == Some("http") {
            ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
        } else {
            ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
        };
        let Some(value) = names
            .iter()
            .filter_map(|n| var(n))
            .find(|v| !v.trim().is_empty())
        else {
            return Ok(None);
        };
        let no_proxy = var("no_proxy")
            .filter(|v| !v.trim().is_empty())
            .or_else(|| var("NO_PROXY"))
            .unwrap_or_default();
        if no_proxy_matches(&no_proxy, &host) {
            return Ok(None);
        }
        Self::parse(&value).map(Some)
    }

    /// How the proxy is spoken to.
    pub fn scheme(&self) -> ProxyScheme {
        self.scheme
    }

    /// The proxy's host (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user name, if any.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The password, if any. A secret: never log it.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// `scheme://host:port`, without credentials.
    pub fn uri_without_credentials(&self) -> String {
        let scheme = match self.scheme {
            ProxyScheme::Http => "http",
            ProxyScheme::Socks5 { remote_dns: false } => "socks5",
            ProxyScheme::Socks5 { remote_dns: true } => "socks5h",
        };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// Percent-decodes a userinfo part (invalid escapes are kept as they are).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn no_proxy_matches(list: &str, host: &str) -> bool {
    list.split(',').map(str::trim).any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry = entry.trim_start_matches("*.").trim_start_matches('.');
        // Drop a `:port` suffix (but not the colons of an IPv6 address).
        let entry = match entry.rsplit_once(':') {
            Some((h, port)) if !h.contains(':') && port.parse::<u16>().is_ok() => h,
            _ => entry,
        };
        let entry = entry
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if entry.is_empty() {
            return false;
        }
        host == entry || host.ends_with(&format!(".{entry}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn parses_http_and_socks_with_credentials_hidden() {
        let p = ProxyUrl::parse("http://user:p%40ss@proxy.test:3128").unwrap();
        assert_eq!(p.scheme(), ProxyScheme::Http);
        assert_eq!((p.host(), p.port()), ("proxy.test", 3128));
        assert_eq!((p.username(), p.password()), (Some("user"), Some("p@ss")));
        assert!(!format!("{p:?} {p}").contains("p@ss"));
        let s = ProxyUrl::parse("socks5h://[::1]").unwrap();
        assert_eq!(s.scheme(), ProxyScheme::Socks5 { remote_dns: true });
        assert_eq!((s.host(), s.port()), ("::1", 1080));
        assert_eq!(s.to_string(), "socks5h://[::1]:1080");
        assert_eq!(ProxyUrl::parse("10.0.0.1:8080").unwrap().port(), 8080);
        assert!(ProxyUrl::parse("ftp://x:1").is_err());
        assert!(ProxyUrl::parse("http://").is_err());
    }

    #[test]
    fn env_rule() {
        let base = "https://api.capmonster.cloud";
        let got = |vars: &[(&str, &str)], base: &str| {
            ProxyUrl::from_vars(base, env(vars))
                .unwrap()
                .map(|p| p.to_string())
        };
        assert_eq!(got(&[], base), None);
        assert_eq!(
            got(&[("HTTPS_PROXY", "http://a:1")], base).as_deref(),
            Some("http://a:1")
        );
        assert_eq!(
            got(
                &[("https_proxy", "http://b:1"), ("HTTPS_PROXY", "http://a:1")],
                base
            )
            .as_deref(),
            Some("http://b:1")
        );
        // HTTP_PROXY is for http base URLs only.
        assert_eq!(got(&[("HTTP_PROXY", "http://a:1")], base), None);
        assert_eq!(
            got(&[("ALL_PROXY", "socks5://a:1")], base).as_deref(),
            Some("socks5://a:1")
        );
        for no in [
            "capmonster.cloud",
            ".capmonster.cloud",
            "*",
            "x, api.capmonster.cloud:443",
        ] {
            assert_eq!(
                got(&[("HTTPS_PROXY", "a:1"), ("NO_PROXY", no)], base),
                None,
                "{no}"
            );
        }
        assert!(
            got(
                &[("HTTPS_PROXY", "a:1"), ("NO_PROXY", "monster.cloud")],
                base
            )
            .is_some()
        );
        // Loopback is never proxied by the environment.
        assert_eq!(got(&[("HTTP_PROXY", "a:1")], "http://127.0.0.1:8080"), None);
        assert!(ProxyUrl::from_vars(base, env(&[("HTTPS_PROXY", "ftp://a")])).is_err());
    }
}
