//! The client's own HTTP through a proxy: HTTP CONNECT and SOCKS5, credentials, and the
//! proxy environment variables, honoured by the core's one rule.

#[allow(unused_imports)]
use super::SuiteTransport;
#[allow(unused_imports)]
use super::helpers::*;

/// `proxy("http://...")`: every request goes through a CONNECT tunnel to the
/// service's host, and the solve succeeds through it.
pub fn explicit_http_proxy_tunnels_every_request<S: SuiteTransport>() {
    let sim = spawn(SimConfig::instant());
    let target = authority(&sim.base_url());
    let (proxy, tunnels) = capmonster_testdata::raw_servers::connect_proxy(&target);
    let client = Client::<S>::builder()
        .config(config_for(&sim.base_url()))
        .proxy(&proxy)
        .build()
        .unwrap();
    let solved = S::run(client.solve(turnstile())).unwrap();
    assert!(solved.solution.token().is_some());
    assert_eq!(sim.stats().tasks_created, 1);
    let tunnels = tunnels.lock().unwrap().clone();
    assert!(!tunnels.is_empty(), "the proxy saw no tunnel");
    for head in &tunnels {
        assert!(
            head.starts_with(&format!("CONNECT {target} HTTP/1.1\r\n")),
            "{head}"
        );
    }
}

/// Credentials in the proxy URL are sent as `Proxy-Authorization: Basic`
/// (percent-decoded), to the proxy only.
pub fn proxy_credentials_are_sent_to_the_proxy<S: SuiteTransport>() {
    let sim = spawn(SimConfig::instant());
    let (proxy, tunnels) =
        capmonster_testdata::raw_servers::connect_proxy(&authority(&sim.base_url()));
    let proxy = proxy.replace("http://", "http://user:pa%20ss@");
    let client = Client::<S>::builder()
        .config(config_for(&sim.base_url()))
        .proxy(&proxy)
        .build()
        .unwrap();
    S::run(client.balance()).unwrap();
    let tunnels = tunnels.lock().unwrap().clone();
    assert!(!tunnels.is_empty());
    for head in &tunnels {
        // base64("user:pa ss")
        assert!(
            head.to_ascii_lowercase()
                .contains("proxy-authorization: basic dxnlcjpwysbzcw=="),
            "{head}"
        );
    }
}

/// `proxy("socks5://...")` and `socks5h://`: every connection goes through the
/// SOCKS5 proxy; with `socks5h` the proxy gets the name, not an address.
pub fn explicit_socks5_proxy_tunnels_every_request<S: SuiteTransport>() {
    let sim = spawn(SimConfig::instant());
    let port = sim.addr().port();
    for (scheme, host, want) in [
        ("socks5", "127.0.0.1", "127.0.0.1"),
        ("socks5h", "localhost", "localhost"),
    ] {
        let (proxy, tunnels) =
            capmonster_testdata::raw_servers::socks5_proxy(&authority(&sim.base_url()));
        let client = Client::<S>::builder()
            .config(config_for(&format!("http://{host}:{port}")))
            .proxy(format!("{scheme}://{proxy}"))
            .build()
            .unwrap();
        S::run(client.balance()).unwrap_or_else(|e| panic!("{scheme}: {e}"));
        let tunnels = tunnels.lock().unwrap().clone();
        assert!(!tunnels.is_empty(), "{scheme}: the proxy saw no tunnel");
        for t in &tunnels {
            assert_eq!(t, &format!("{want}:{port}"), "{scheme}");
        }
    }
}

/// A proxy that refuses the tunnel is a connect failure (nothing reached the
/// service), so the core may safely send createTask again.
pub fn a_refusing_proxy_is_a_connect_failure<S: SuiteTransport>() {
    let sim = spawn(SimConfig::instant());
    let (proxy, _) = capmonster_testdata::raw_servers::connect_proxy(
        &capmonster_testdata::raw_servers::closed_port(),
    );
    let client = Client::<S>::builder()
        .config(config_for(&sim.base_url()))
        .proxy(&proxy)
        .build()
        .unwrap();
    let err = S::run(client.balance()).unwrap_err();
    assert!(err.is_connect(), "{err}");
    assert_eq!(sim.stats().requests.values().sum::<u64>(), 0);
}

/// The environment, by the core's one rule: `HTTP_PROXY` for an `http` base URL,
/// `ALL_PROXY` when that is unset, lower case first; `NO_PROXY` skips the host;
/// `HTTPS_PROXY` does not apply to `http`. The base URL's host
/// (`capmonster.test`, a reserved name that never resolves) is reachable only
/// through the proxy, which tunnels it to the simulator.
pub fn proxy_variables_are_honoured<S: SuiteTransport>() {
    if child_solve::<S>() {
        return;
    }
    let name = "proxy_variables_are_honoured";
    let sim = spawn(SimConfig::instant());
    let port = sim.addr().port();
    let base = format!("http://capmonster.test:{port}");
    let want = format!("CONNECT capmonster.test:{port} HTTP/1.1\r\n");
    // (the variables set, the outcome, whether the proxy saw a tunnel)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, bool);
    let cases: [Case<'_>; 7] = [
        (&[("HTTP_PROXY", "{proxy}")], "ok", true),
        (
            &[
                ("http_proxy", "{proxy}"),
                ("HTTP_PROXY", "http://127.0.0.1:9"),
            ],
            "ok",
            true,
        ),
        (&[("ALL_PROXY", "{proxy}")], "ok", true),
        (&[("all_proxy", "{proxy}")], "ok", true),
        (
            &[
                ("HTTP_PROXY", "{proxy}"),
                ("NO_PROXY", "example.org,.capmonster.test"),
            ],
            "connect",
            false,
        ),
        (
            &[("http_proxy", "{proxy}"), ("no_proxy", "*")],
            "connect",
            false,
        ),
        (&[("HTTPS_PROXY", "{proxy}")], "connect", false),
    ];
    let mut created = 0;
    for (vars, outcome, tunnelled) in cases {
        let (proxy, tunnels) =
            capmonster_testdata::raw_servers::connect_proxy(&authority(&sim.base_url()));
        let vars: Vec<(&str, String)> = vars
            .iter()
            .map(|(k, v)| (*k, v.replace("{proxy}", &proxy)))
            .collect();
        let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let got = in_child("proxy", name, &base, &pairs);
        assert_eq!(got, outcome, "{vars:?}");
        let tunnels = tunnels.lock().unwrap().clone();
        if tunnelled {
            created += 1;
            assert!(!tunnels.is_empty(), "{vars:?}");
            assert!(
                tunnels.iter().all(|h| h.starts_with(&want)),
                "{vars:?}: {tunnels:?}"
            );
        } else {
            assert!(tunnels.is_empty(), "{vars:?}: {tunnels:?}");
        }
        assert_eq!(sim.stats().tasks_created, created, "{vars:?}");
    }
}

/// A loopback base URL never goes through the environment's proxy.
pub fn loopback_is_never_proxied_by_the_environment<S: SuiteTransport>() {
    if child_solve::<S>() {
        return;
    }
    let sim = spawn(SimConfig::instant());
    let (proxy, tunnels) =
        capmonster_testdata::raw_servers::connect_proxy(&authority(&sim.base_url()));
    let got = in_child(
        "proxy",
        "loopback_is_never_proxied_by_the_environment",
        &sim.base_url(),
        &[("HTTP_PROXY", &proxy), ("ALL_PROXY", &proxy)],
    );
    assert_eq!(got, "ok");
    assert!(tunnels.lock().unwrap().is_empty());
    assert_eq!(sim.stats().tasks_created, 1);
}

/// `HTTPS_PROXY` applies to an `https` base URL: the tunnel is asked for (the TLS
/// handshake then fails against the plain-http simulator, and no task is created).
pub fn https_proxy_applies_to_https<S: SuiteTransport>() {
    if child_solve::<S>() {
        return;
    }
    let sim = spawn(SimConfig::instant());
    let port = sim.addr().port();
    let (proxy, tunnels) =
        capmonster_testdata::raw_servers::connect_proxy(&authority(&sim.base_url()));
    let got = in_child(
        "proxy",
        "https_proxy_applies_to_https",
        &format!("https://capmonster.test:{port}"),
        &[
            ("HTTPS_PROXY", &proxy),
            ("HTTP_PROXY", "http://127.0.0.1:9"),
        ],
    );
    assert_ne!(got, "ok");
    let tunnels = tunnels.lock().unwrap().clone();
    assert!(!tunnels.is_empty());
    assert!(
        tunnels[0].starts_with(&format!("CONNECT capmonster.test:{port} ")),
        "{tunnels:?}"
    );
    assert_eq!(sim.stats().tasks_created, 0);
}
