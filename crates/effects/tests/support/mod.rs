//! A real local HTTP server for the tests: it runs on its own thread and tokio runtime, answers
//! by path, and records every request it gets (method, path and query, headers, body).

#![allow(clippy::unwrap_used, dead_code, unreachable_pub, reason = "test support")]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// One request the server got.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A scripted answer: status, body, delay before answering.
pub type Script = Arc<dyn Fn(&Seen, usize) -> (u16, String, Duration) + Send + Sync>;

pub struct Server {
    pub base: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    /// Requests to `path` (without the query) so far.
    pub fn hits(&self, path: &str) -> Vec<Seen> {
        self.seen.lock().unwrap().iter().filter(|s| s.uri.split('?').next() == Some(path)).cloned().collect()
    }
}

/// Starts a server answering each request with `script(request, hits to that path before it)`.
pub fn start(script: Script) -> Server {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let (tx, rx) = std::sync::mpsc::channel();
    let log = seen.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            loop {
                let Ok((sock, _)) = l.accept().await else { continue };
                let (log, script) = (log.clone(), script.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let (log, script) = (log.clone(), script.clone());
                        async move {
                            let method = req.method().to_string();
                            let uri = req.uri().to_string();
                            let headers = req
                                .headers()
                                .iter()
                                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                                .collect();
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let s =
                                Seen { method, uri, headers, body: String::from_utf8_lossy(&body).into() };
                            let before = {
                                let mut g = log.lock().unwrap();
                                let path = s.uri.split('?').next().unwrap_or("").to_owned();
                                let n = g
                                    .iter()
                                    .filter(|x| x.uri.split('?').next() == Some(path.as_str()))
                                    .count();
                                g.push(s.clone());
                                n
                            };
                            let (status, text, delay) = script(&s, before);
                            tokio::time::sleep(delay).await;
                            let resp = Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(text)))
                                .unwrap();
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(sock), svc)
                        .await;
                });
            }
        });
    });
    let addr = rx.recv().unwrap();
    Server { base: format!("http://{addr}"), seen }
}
