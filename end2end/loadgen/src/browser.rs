//! A flash-sale buyer's browser, as cheap as the load generator can make it: one TCP
//! connection of its own (kept alive for its posts, as a browser keeps it), the cookies
//! the shop sets sent back, forms posted the way a browser without JavaScript posts
//! them, redirects not followed.
//!
//! Built on hyper's HTTP/1 connection directly rather than a `reqwest::Client` per buyer:
//! a client brings a connection pool, a resolver, a cookie jar and URL parsing that a
//! buyer of two requests never needs, and on a two-core machine that CPU was taken from
//! the shop being measured (the load generator was 18 % of the machine in the HTML sale,
//! `perf record -a`).
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{ACCEPT, CONTENT_TYPE, COOKIE, HOST, LOCATION, ORIGIN, REFERER, SET_COOKIE};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;

/// Where the shop listens, read once from its base URL (`http://host:port`).
#[derive(Clone, Debug)]
pub struct Shop {
    /// The base URL as given, without a trailing slash: the `Origin` and the `Referer`'s start.
    pub base: String,
    /// `host:port`, the `Host` header.
    authority: String,
    addr: SocketAddr,
}

impl Shop {
    /// Resolves the base URL's host once (plain HTTP only: the shop is measured on loopback).
    pub async fn resolve(base: &str) -> Result<Self, crate::Error> {
        let authority = base
            .strip_prefix("http://")
            .ok_or("the browser speaks plain HTTP only: --base must start with http://")?
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let with_port = if authority.contains(':') { authority.clone() } else { format!("{authority}:80") };
        let addr =
            tokio::net::lookup_host(with_port.as_str()).await?.next().ok_or("the shop's host did not resolve")?;
        Ok(Self { base: base.trim_end_matches('/').to_owned(), authority, addr })
    }
}

/// One buyer's browser: its connection and its cookies.
pub struct Browser {
    sender: SendRequest<Full<Bytes>>,
    cookies: Vec<(String, String)>,
}

/// A post's answer: status, `Location` and body.
pub type Answer = (StatusCode, Option<String>, String);

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl Browser {
    /// Opens the buyer's own connection to the shop.
    pub async fn open(shop: &Shop) -> Result<Self, crate::Error> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(shop.addr)).await??;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        // The connection is driven beside the buyer and closes when the buyer is done.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self { sender, cookies: vec![] })
    }

    /// Posts a form from the page `from` (same origin, HTML accepted), keeps the cookies
    /// the answer sets and reads the whole answer.
    pub async fn post_form(
        &mut self,
        shop: &Shop,
        path: &str,
        from: &str,
        fields: &[(&str, &str)],
    ) -> Result<Answer, crate::Error> {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(HOST, shop.authority.as_str())
            .header(ORIGIN, shop.base.as_str())
            .header(REFERER, format!("{}{from}", shop.base))
            .header(ACCEPT, "text/html")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header(COOKIE, jar.join("; "));
        }
        let req = req.body(Full::new(Bytes::from(body)))?;
        let answer = async {
            self.sender.ready().await?;
            let res = self.sender.send_request(req).await?;
            let status = res.status();
            let location = res.headers().get(LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
            for set in res.headers().get_all(SET_COOKIE) {
                if let Ok(set) = set.to_str() {
                    keep_cookie(&mut self.cookies, set);
                }
            }
            let body = res.into_body().collect().await?.to_bytes();
            Ok::<_, crate::Error>((status, location, String::from_utf8_lossy(&body).into_owned()))
        };
        tokio::time::timeout(REQUEST_TIMEOUT, answer).await?
    }
}

/// Applies one `Set-Cookie` to the jar: its `name=value` replaces the cookie of that name;
/// an empty value or `Max-Age=0` removes it (attributes are otherwise ignored: one host,
/// one path, a session short enough that nothing expires).
fn keep_cookie(jar: &mut Vec<(String, String)>, set: &str) {
    let mut parts = set.split(';');
    let Some((name, value)) = parts.next().and_then(|kv| kv.split_once('=')) else { return };
    let (name, value) = (name.trim(), value.trim());
    let removed = value.is_empty() || parts.any(|a| a.trim().eq_ignore_ascii_case("max-age=0"));
    jar.retain(|(k, _)| k != name);
    if !removed {
        jar.push((name.to_owned(), value.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_replaces_and_removes_cookies() {
        let mut jar = vec![];
        keep_cookie(&mut jar, "id=abc; Path=/; HttpOnly; SameSite=Lax");
        keep_cookie(&mut jar, "lang=en");
        assert_eq!(jar, [("id".into(), "abc".into()), ("lang".into(), "en".into())]);
        keep_cookie(&mut jar, "id=def; Path=/");
        assert_eq!(jar, [("lang".into(), "en".into()), ("id".into(), "def".into())]);
        keep_cookie(&mut jar, "lang=; Max-Age=0");
        keep_cookie(&mut jar, "id=def; Path=/; Max-Age=0");
        assert!(jar.is_empty());
        keep_cookie(&mut jar, "garbage");
        assert!(jar.is_empty());
    }
}
