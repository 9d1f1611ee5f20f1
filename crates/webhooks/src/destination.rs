//! Where webhooks may go (SSRF defence): `https` URLs only, and only to public addresses,
//! unless settings allow plain `http` or private destinations (development, loopback tests).
//!
//! A URL is checked when an endpoint is saved and before every attempt; names are checked
//! again at connect time by [`GuardedResolver`], the HTTP client's DNS resolver, which hands
//! the client only the allowed addresses it resolved. The client connects to exactly those,
//! so a name that resolves to a public address when checked and to `127.0.0.1` a moment later
//! (DNS rebinding) is refused all the same.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Which destinations are allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DestinationPolicy {
    /// Plain `http://` URLs (`webhooks_allow_http`).
    pub allow_http: bool,
    /// Loopback, private, link-local, unique-local and other non-public addresses
    /// (`webhooks_allow_private`).
    pub allow_private: bool,
}

/// The longest endpoint URL accepted.
pub const MAX_URL_LEN: usize = 2048;

impl DestinationPolicy {
    /// Whether an endpoint may be saved with this URL; the error says why not and which
    /// setting would allow it. Besides [`Self::check_request`], names that always mean this
    /// machine (`localhost`) are refused at once rather than at the first delivery.
    pub fn check_url(&self, url: &Url) -> Result<(), String> {
        self.check_request(url)?;
        match url.host() {
            Some(Host::Domain(name)) if !self.allow_private && is_local_name(name) => {
                Err(refusal("a local host name"))
            }
            _ => Ok(()),
        }
    }

    /// Whether a request to `url` may be attempted: the scheme, and an address written in
    /// the URL. Host names are checked when connecting, by [`GuardedResolver`].
    pub fn check_request(&self, url: &Url) -> Result<(), String> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => {
                return Err(
                    "the URL must be https:// (plain http is allowed only with the setting \
                     webhooks_allow_http)"
                        .to_owned(),
                );
            }
            other => return Err(format!("the URL must be https://, not {other}:")),
        }
        if url.as_str().len() > MAX_URL_LEN {
            return Err(format!("the URL is longer than {MAX_URL_LEN} characters"));
        }
        match url.host() {
            None => Err("the URL has no host".to_owned()),
            Some(Host::Ipv4(ip)) if !self.allows(IpAddr::V4(ip)) => {
                Err(refusal("a non-public address"))
            }
            Some(Host::Ipv6(ip)) if !self.allows(IpAddr::V6(ip)) => {
                Err(refusal("a non-public address"))
            }
            Some(_) => Ok(()),
        }
    }

    /// Whether a connection to `ip` is allowed.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allow_private || is_public(ip)
    }
}

fn refusal(what: &str) -> String {
    format!(
        "the URL points to {what}, which webhooks may not reach (allowed only with the setting \
         webhooks_allow_private)"
    )
}

/// `localhost` and names under it always resolve to loopback (RFC 6761).
fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Whether `ip` is a public unicast address: not loopback, private (RFC 1918), shared (RFC
/// 6598), link-local, unique-local (fc00::/7), unspecified, multicast, broadcast, reserved or
/// documentation, including IPv4 addresses embedded in IPv6 (mapped, NAT64).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = segments;
        let v4 = Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
        return is_public_v4(v4);
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        || segments[0] == 0x2001 && segments[1] == 0x0db8 // documentation
        || segments[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
}

/// The HTTP client's DNS resolver: resolves with the system resolver and keeps only the
/// addresses the policy allows, failing when none is left.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub policy: DestinationPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|addr| policy.allows(addr.ip()))
                .collect();
            if allowed.is_empty() {
                let message = if resolved.is_empty() {
                    format!("{host} does not resolve to any address")
                } else {
                    format!(
                        "{host} resolves only to non-public addresses, which webhooks may not \
                         reach (allowed only with the setting webhooks_allow_private)"
                    )
                };
                return Err(message.into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn the_default_policy_wants_https_to_a_public_host() {
        let policy = DestinationPolicy::default();
        assert!(
            policy
                .check_url(&url("https://hooks.example.com/tether"))
                .is_ok()
        );
        assert!(policy.check_url(&url("https://203.0.113.9/")).is_err());
        assert!(policy.check_url(&url("https://8.8.8.8/hook")).is_ok());
        let http = policy
            .check_url(&url("http://hooks.example.com/"))
            .unwrap_err();
        assert!(http.contains("webhooks_allow_http"), "{http}");
        for local in [
            "https://127.0.0.1/",
            "https://[::1]/",
            "https://10.1.2.3/",
            "https://169.254.169.254/latest/meta-data",
            "https://[fd00::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://localhost/",
            "https://api.localhost./",
            "https://0.0.0.0/",
        ] {
            let error = policy.check_url(&url(local)).unwrap_err();
            assert!(error.contains("webhooks_allow_private"), "{local}: {error}");
        }
        assert!(policy.check_url(&url("ftp://example.com/")).is_err());
    }

    #[test]
    fn settings_can_allow_http_and_private_destinations() {
        let policy = DestinationPolicy {
            allow_http: true,
            allow_private: true,
        };
        assert!(policy.check_url(&url("http://127.0.0.1:8080/hook")).is_ok());
        assert!(policy.check_url(&url("https://localhost/")).is_ok());
    }

    #[test]
    fn public_means_globally_routable_unicast() {
        let public = [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "64:ff9b::808:808",
        ];
        for ip in public {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        let not_public = [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "240.0.0.1",
            "::",
            "::1",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
            "::127.0.0.1",
        ];
        for ip in not_public {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_that_resolves_only_to_loopback() {
        let resolver = GuardedResolver {
            policy: DestinationPolicy::default(),
        };
        let error = match resolver.resolve("localhost".parse().unwrap()).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(error.contains("webhooks_allow_private"), "{error}");
        let open = GuardedResolver {
            policy: DestinationPolicy {
                allow_http: false,
                allow_private: true,
            },
        };
        let addrs: Vec<SocketAddr> = match open.resolve("localhost".parse().unwrap()).await {
            Ok(addrs) => addrs.collect(),
            Err(e) => panic!("{e}"),
        };
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    }
}
