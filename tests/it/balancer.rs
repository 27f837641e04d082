//! A loopback round-robin TCP balancer, as a non-sticky load balancer in front of `serve`
//! replicas: each connection goes to the next replica in turn (the tests' clients open one
//! connection per request, so each request does); a replica that refuses connections (it has
//! stopped) is skipped, as a load balancer's health check would take it out. Bytes are piped as
//! they come, with `TCP_NODELAY` both ways, so an answer written at once arrives at once.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

pub(crate) struct Balancer {
    pub(crate) port: u16,
    served: Arc<Mutex<Vec<u16>>>,
}

impl Balancer {
    /// Listens on a free loopback port in front of the replicas listening on `backends`.
    pub(crate) fn start(backends: Vec<u16>) -> Balancer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let served = Arc::new(Mutex::new(Vec::new()));
        let log = served.clone();
        std::thread::spawn(move || {
            let mut next = 0;
            for client in listener.incoming().map_while(Result::ok) {
                let Some((backend, upstream)) = connect_next(&backends, &mut next) else { continue };
                log.lock().unwrap().push(backend);
                pipe(client, upstream);
            }
        });
        Balancer { port, served }
    }

    /// The replicas (their ports) the last `n` connections went to, oldest first.
    pub(crate) fn last_served(&self, n: usize) -> Vec<u16> {
        let served = self.served.lock().unwrap();
        served[served.len().saturating_sub(n)..].to_vec()
    }
}

/// The next backend in turn that accepts a connection (none when every one refuses).
fn connect_next(backends: &[u16], next: &mut usize) -> Option<(u16, TcpStream)> {
    (0..backends.len()).find_map(|_| {
        let backend = backends[*next % backends.len()];
        *next += 1;
        TcpStream::connect(("127.0.0.1", backend)).ok().map(|s| (backend, s))
    })
}

/// Copies each direction on its own thread until its side closes.
fn pipe(client: TcpStream, upstream: TcpStream) {
    for (from, to) in [(client.try_clone().unwrap(), upstream.try_clone().unwrap()), (upstream, client)] {
        std::thread::spawn(move || copy(from, to));
    }
}

fn copy(mut from: TcpStream, mut to: TcpStream) {
    let _ = (from.set_nodelay(true), to.set_nodelay(true));
    let mut buffer = [0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buffer) {
        if n == 0 || to.write_all(&buffer[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
