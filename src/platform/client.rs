//! Who is asking: the client's address behind the proxies the operator trusts, and the
//! network an address counts as for limits (an IPv6 /64, as one subscriber usually gets).
use crate::Config;
use std::net::IpAddr;

/// The client's address. Without a trusted proxy in front, the socket's peer — whatever
/// `X-Forwarded-For` says. Behind trusted proxies (`trust_forwarded_for`: the peer is one,
/// the usual reverse proxy on the same machine; `trusted_proxies`: these addresses are),
/// the right-most `X-Forwarded-For` hop that is not a trusted proxy: hops to its left were
/// written by the client and prove nothing. A hop that is not an address ends the walk
/// at the last address known good.
pub fn address(peer: IpAddr, forwarded_for: Option<&str>, config: &Config) -> IpAddr {
    let trusted = |ip: IpAddr| config.trusted_proxies.iter().any(|p| p.parse::<IpAddr>().is_ok_and(|t| t == ip));
    if !(config.trust_forwarded_for || trusted(peer)) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_for.unwrap_or_default().rsplit(',').map(str::trim).filter(|h| !h.is_empty()) {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusted(ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// The network an address is counted as by limits (holds per IP, login and look-up
/// throttles): an IPv4 address itself, an IPv6 address's /64, so rotating addresses
/// within one's own allocation gains nothing. Not an address: the text as given.
pub fn network_of(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn m1_the_client_is_the_right_most_hop_no_trusted_proxy_wrote() {
        let direct = Config::default();
        // No proxy trusted: the header is the client's own word.
        assert_eq!(address(ip("203.0.113.9"), Some("1.2.3.4"), &direct), ip("203.0.113.9"));
        // One proxy on this machine: its hop is the right-most; the client's forgery left of it.
        let one = Config { trust_forwarded_for: true, ..Config::default() };
        assert_eq!(address(ip("127.0.0.1"), Some("6.6.6.6, 198.51.100.7"), &one), ip("198.51.100.7"));
        assert_eq!(address(ip("127.0.0.1"), None, &one), ip("127.0.0.1"));
        assert_eq!(address(ip("127.0.0.1"), Some("not an address"), &one), ip("127.0.0.1"));
        // A chain of named proxies: skipped from the right.
        let chain = Config { trusted_proxies: vec!["10.0.0.2".into(), "10.0.0.3".into()], ..Config::default() };
        assert_eq!(address(ip("10.0.0.3"), Some("6.6.6.6, 198.51.100.7, 10.0.0.2"), &chain), ip("198.51.100.7"));
        // A peer not named is not believed.
        assert_eq!(address(ip("192.0.2.1"), Some("198.51.100.7"), &chain), ip("192.0.2.1"));
    }

    #[test]
    fn ipv6_addresses_count_per_64() {
        assert_eq!(network_of("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(network_of("2001:db8:1:2:bbbb::9"), network_of("2001:db8:1:2:aaaa::1"));
        assert_eq!(network_of("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(network_of("192.0.2.1"), "192.0.2.1");
        assert_eq!(network_of("unknown"), "unknown");
    }
}
