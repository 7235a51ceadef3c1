//! A caching resolver for the default agent.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ureq::config::{Config as AgentConfig, IpFamily};
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

use crate::timeouts::bounded_left;

/// How long the default agent's resolver reuses a successful name lookup.
pub const DNS_CACHE_TTL: Duration = Duration::from_secs(10);

/// A name lookup that failed with an I/O error (the host is unknown, or the system resolver
/// failed): nothing was sent. ureq reports such a failure as a bare `Error::Io`, which cannot
/// be told apart from a connection broken after sending, so [`CachingResolver`] reports it
/// as `Error::Other(LookupFailed)`, which [`crate::classify_send_error`] maps to `Connect`.
#[derive(Debug)]
pub(crate) struct LookupFailed(pub(crate) std::io::Error);

impl std::fmt::Display for LookupFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "name lookup failed: {}", self.0)
    }
}

impl std::error::Error for LookupFailed {}

/// The most names [`CachingResolver`] remembers (it forgets them all when full).
const DNS_CACHE_MAX: usize = 32;

/// ureq's [`DefaultResolver`], except that an IP-literal host needs no lookup, and that a
/// successful lookup is reused for [`DNS_CACHE_TTL`]. ureq resolves on every request (before
/// its pool lookup), and its resolver spawns a thread per lookup when a timeout is set.
#[derive(Debug, Default)]
pub(crate) struct CachingResolver {
    inner: DefaultResolver,
    /// (host:port, IP family) → (addresses, when looked up).
    cache: Mutex<HashMap<(String, u8), (ResolvedSocketAddrs, Instant)>>,
}

fn family_key(family: IpFamily) -> u8 {
    match family {
        IpFamily::Any => 0,
        IpFamily::Ipv4Only => 4,
        IpFamily::Ipv6Only => 6,
    }
}

fn family_wants(family: IpFamily, ip: IpAddr) -> bool {
    match family {
        IpFamily::Any => true,
        IpFamily::Ipv4Only => ip.is_ipv4(),
        IpFamily::Ipv6Only => ip.is_ipv6(),
    }
}

/// The port of an http(s) URI (explicit, or the scheme's default).
fn uri_port(uri: &Uri) -> Option<u16> {
    let authority = uri.authority()?;
    authority.port_u16().or(match uri.scheme_str()? {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    })
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &AgentConfig,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let (Some(authority), Some(port)) = (uri.authority(), uri_port(uri)) else {
            // Not an http(s) URL with a host: ureq's resolver reports the error.
            return self.inner.resolve(uri, config, bounded_left(timeout)?);
        };
        let host = authority.host();
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = literal.parse::<IpAddr>() {
            // What a lookup of an address returns: the address itself, if of a wanted family.
            if !family_wants(config.ip_family(), ip) {
                return Err(ureq::Error::HostNotFound);
            }
            let mut addrs = self.empty();
            addrs.push(SocketAddr::new(ip, port));
            return Ok(addrs);
        }
        let key = (
            format!("{}:{port}", host.to_ascii_lowercase()),
            family_key(config.ip_family()),
        );
        let now = Instant::now();
        {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((addrs, at)) = cache.get(&key)
                && now.saturating_duration_since(*at) < DNS_CACHE_TTL
            {
                return Ok(addrs.clone());
            }
        }
        let addrs = match self.inner.resolve(uri, config, bounded_left(timeout)?) {
            Err(ureq::Error::Io(e)) => return Err(ureq::Error::Other(Box::new(LookupFailed(e)))),
            other => other?,
        };
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= DNS_CACHE_MAX && !cache.contains_key(&key) {
            cache.clear();
        }
        cache.insert(key, (addrs.clone(), now));
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::Agent;

    fn resolve(uri: &str, family: IpFamily) -> Result<Vec<SocketAddr>, ureq::Error> {
        let config = Agent::config_builder().ip_family(family).build();
        CachingResolver::default()
            .resolve(&uri.parse().unwrap(), &config, NextTimeout::default())
            .map(|addrs| addrs.to_vec())
    }

    #[test]
    fn ip_literals_resolve_without_a_lookup() {
        let v4: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(
            resolve("http://127.0.0.1:8080/createTask", IpFamily::Any).unwrap(),
            [v4]
        );
        let v6: SocketAddr = "[::1]:443".parse().unwrap();
        assert_eq!(resolve("https://[::1]/x", IpFamily::Any).unwrap(), [v6]);
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        assert_eq!(resolve("http://[::1]/x", IpFamily::Ipv6Only).unwrap(), [v6]);
        // The wrong family is "not found", as after a lookup.
        assert!(matches!(
            resolve("https://[::1]/x", IpFamily::Ipv4Only),
            Err(ureq::Error::HostNotFound)
        ));
        assert!(matches!(
            resolve("http://127.0.0.1/x", IpFamily::Ipv6Only),
            Err(ureq::Error::HostNotFound)
        ));
        // Not http(s): ureq's own resolver reports it.
        assert!(resolve("ftp://127.0.0.1/x", IpFamily::Any).is_err());
    }

    #[test]
    fn name_lookups_are_cached() {
        let resolver = CachingResolver::default();
        let config = Agent::config_builder().build();
        let uri: Uri = "http://localhost:9/x".parse().unwrap();
        let first = resolver
            .resolve(&uri, &config, NextTimeout::default())
            .unwrap()
            .to_vec();
        assert!(!first.is_empty() && first.iter().all(|a| a.port() == 9));
        let key = ("localhost:9".to_owned(), family_key(IpFamily::Any));
        assert!(resolver.cache.lock().unwrap().contains_key(&key));
        let again = resolver
            .resolve(&uri, &config, NextTimeout::default())
            .unwrap()
            .to_vec();
        assert_eq!(first, again);
    }
}
