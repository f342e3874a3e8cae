//! Host-name resolution kept off the market-data thread.
//!
//! `getaddrinfo` blocks for as long as the resolver takes (seconds when a DNS server is slow
//! or gone), and an md thread that blocks stops every book it owns. So the md thread never
//! resolves: a [`Resolver`] resolves the WebSocket host once at start (on the caller's
//! thread), then again every `refresh` on its own small thread, and a reconnect only copies
//! the latest address list. Binance rotates its stream endpoints' addresses through DNS, so
//! the list is refreshed rather than resolved once for the process's life. A failed refresh
//! keeps the last good list. An IP-literal host needs no thread at all.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex, Weak};
use std::thread;
use std::time::{Duration, Instant};

/// How often the resolver thread looks whether it is still wanted.
const STOP_CHECK: Duration = Duration::from_millis(200);

/// The latest addresses of one host, shared by every connection to it.
#[derive(Debug)]
pub struct Resolver {
    host: String,
    shared: Arc<Mutex<Resolved>>,
}

#[derive(Debug, Clone)]
struct Resolved {
    addrs: Vec<SocketAddr>,
    /// Why the last resolution failed, while no address was ever found.
    error: Option<String>,
}

impl Resolver {
    /// Resolves `host:port` now and, unless `host` is an IP literal, starts a thread that
    /// resolves it again every `refresh` for as long as this `Resolver` (or a clone of its
    /// `Arc`) lives. A failure now is not fatal: [`Resolver::addrs`] reports it and the
    /// thread keeps trying.
    pub fn start(host: &str, port: u16, refresh: Duration) -> Arc<Resolver> {
        let first = resolve(host, port);
        let resolver = Arc::new(Resolver {
            host: host.to_string(),
            shared: Arc::new(Mutex::new(Resolved {
                addrs: first.clone().unwrap_or_default(),
                error: first.err(),
            })),
        });
        if host.parse::<IpAddr>().is_err() {
            let weak = Arc::downgrade(&resolver.shared);
            let (host, name) = (host.to_string(), format!("pinewire-dns-{host}"));
            // A resolver that cannot start its thread still has the first answer; the
            // addresses then stay as resolved at start.
            let _ = thread::Builder::new()
                .name(name)
                .spawn(move || refresh_loop(weak, &host, port, refresh));
        }
        resolver
    }

    /// The latest address list, or why there is none. Takes a lock shared with the resolver
    /// thread only: called when a connection (re)starts, never per message.
    pub fn addrs(&self) -> Result<Vec<SocketAddr>, String> {
        let resolved = match self.shared.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        if resolved.addrs.is_empty() {
            Err(resolved
                .error
                .unwrap_or_else(|| format!("{} resolves to no address", self.host)))
        } else {
            Ok(resolved.addrs)
        }
    }
}

fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    match (host, port).to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(format!("{host} resolves to no address"))
            } else {
                Ok(addrs)
            }
        }
        Err(e) => Err(format!("cannot resolve {host}: {e}")),
    }
}

fn refresh_loop(shared: Weak<Mutex<Resolved>>, host: &str, port: u16, refresh: Duration) {
    let mut next = Instant::now() + refresh;
    loop {
        thread::sleep(STOP_CHECK.min(refresh));
        if shared.strong_count() == 0 {
            return;
        }
        if Instant::now() < next {
            continue;
        }
        next = Instant::now() + refresh;
        let answer = resolve(host, port);
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let mut guard = match shared.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        match answer {
            Ok(addrs) => {
                guard.addrs = addrs;
                guard.error = None;
            }
            // Keep the last good list; remember why only while there is none.
            Err(e) => guard.error = Some(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_table() {
        // TC0: an IP literal resolves to itself, no thread needed
        let r = Resolver::start("127.0.0.1", 9443, Duration::from_secs(60));
        assert_eq!(r.addrs(), Ok(vec!["127.0.0.1:9443".parse().expect("addr")]));
        // TC1: localhost resolves through the system resolver
        let r = Resolver::start("localhost", 80, Duration::from_millis(50));
        let addrs = r.addrs().expect("localhost resolves");
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    }

    #[test]
    fn refresh_thread_ends_with_its_resolver() {
        let r = Resolver::start("localhost", 80, Duration::from_millis(20));
        let weak = Arc::downgrade(&r.shared);
        thread::sleep(Duration::from_millis(100));
        drop(r);
        let deadline = Instant::now() + Duration::from_secs(5);
        // The thread holds no strong reference between refreshes, so the state goes with
        // the last `Resolver`.
        while weak.strong_count() > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(weak.strong_count(), 0);
    }
}
