//! Which addresses the fetcher may connect to. Loopback, private, link-local, shared,
//! documentation, multicast and unspecified addresses (and their IPv4-mapped IPv6 forms) are
//! refused unless the configuration allows them, both for URLs written with an IP literal
//! (checked before any request, on every redirect hop) and for names, whose resolved
//! addresses are filtered by [`GuardedResolver`] at connect time; the connection uses only
//! the addresses that passed, so DNS rebinding cannot reach a refused address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;

/// What may be contacted besides public addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Every address is allowed (tests, the demo).
    pub allow_all: bool,
    /// These networks are allowed even though they are not public.
    pub allowed: Vec<IpNet>,
}

impl AddressPolicy {
    /// Whether `ip` may be contacted.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.allow_all || !is_special(ip) || self.allowed.iter().any(|n| n.contains(&canonical(ip)))
    }

    /// Check a URL's host when it is an IP literal; names are checked at connect time.
    pub fn check_url(&self, url: &url::Url) -> Result<(), String> {
        let ip = match url.host() {
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(url::Host::Domain(d))
                if d.eq_ignore_ascii_case("localhost") || d.ends_with(".localhost") =>
            {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            }
            Some(url::Host::Domain(_)) => return Ok(()),
            None => return Err("URL has no host".into()),
        };
        if self.permits(ip) {
            Ok(())
        } else {
            Err(format!(
                "address {ip} is private, loopback or reserved and is not allowed"
            ))
        }
    }
}

/// The IPv4 address inside an IPv4-mapped IPv6 address, else the address itself.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Not a public unicast address.
pub fn is_special(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || o[0] == 0
        || (o[0] == 100 && (64..128).contains(&o[1])) // shared address space 100.64/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] == 18 || o[1] == 19)) // benchmarking
        || o[0] >= 240 // reserved
}

fn special_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link local fe80::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64 64:ff9b::/96 may reach anything
        || s[0] == 0x2002 // 6to4 may embed any IPv4
        || (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0 && s[5] == 0) // IPv4-compatible
}

/// A DNS resolver that drops refused addresses and fails when none is left.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: Arc<AddressPolicy>,
}

impl GuardedResolver {
    /// A resolver enforcing `policy`.
    pub fn new(policy: Arc<AddressPolicy>) -> GuardedResolver {
        GuardedResolver { policy }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| policy.permits(a.ip()))
                .collect();
            if allowed.is_empty() {
                let msg = if addrs.is_empty() {
                    format!("{host} resolves to no address")
                } else {
                    format!(
                        "{host} resolves only to private, loopback or reserved addresses, which are not allowed"
                    )
                };
                return Err(msg.into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(u: &str) -> bool {
        AddressPolicy::default()
            .check_url(&url::Url::parse(u).unwrap())
            .is_err()
    }

    #[test]
    fn private_and_odd_spellings_are_refused() {
        for u in [
            "http://127.0.0.1/",
            "http://[::1]/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://0.0.0.0/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:a9fe:a9fe]/",
            "http://2130706433/",
            "http://0x7f.0.0.1/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://localhost:8080/",
            "http://100.64.0.1/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
        ] {
            assert!(refused(u), "{u} should be refused");
        }
        for u in [
            "http://8.8.8.8/",
            "https://[2606:4700::1111]/",
            "https://news.example.cn/rss",
        ] {
            assert!(!refused(u), "{u} should pass");
        }
    }

    #[test]
    fn allowlist_opens_only_its_networks() {
        let p = AddressPolicy {
            allow_all: false,
            allowed: vec!["127.0.0.1/32".parse().unwrap()],
        };
        assert!(p.permits("127.0.0.1".parse().unwrap()));
        assert!(p.permits("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!p.permits("127.0.0.2".parse().unwrap()));
        assert!(!p.permits("169.254.169.254".parse().unwrap()));
        assert!(
            AddressPolicy {
                allow_all: true,
                allowed: vec![]
            }
            .permits("10.0.0.1".parse().unwrap())
        );
    }
}
