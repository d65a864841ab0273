//! `gate serve`: the web inbox. A small page of the pending questions (the
//! command or the change, agent, session, cwd, rule, a countdown) with the
//! answers of `gate watch`: allow once, for this session, always, deny,
//! deny with feedback. While it runs it is an open inbox (surface `web`),
//! so hooks wait for it.
//!
//! Security, in short (docs/serve.md has the whole of it):
//! - It listens on 127.0.0.1, or with `--lan` on every address.
//! - The URL it prints carries a random pairing token. Opening it sets an
//!   HttpOnly, SameSite=Strict cookie holding a fresh session secret and
//!   redirects to `/`, without the token. Every other request needs that
//!   cookie. With `--lan` the token pairs one device only.
//! - Wrong tokens or session secrets are counted: after ten in a minute,
//!   pairing and every request without a valid session is refused (429)
//!   for two minutes. Paired sessions keep working.
//! - The Host header must name this server (no DNS rebinding); answers are
//!   POSTs only, whose Origin must be this server, whose Sec-Fetch-Site, if
//!   sent, must be same-origin, and which carry the session's CSRF token.
//! - Every byte from a question is HTML-escaped; the Content-Security-Policy
//!   allows only this response's nonce for its one inline script and style.
//! - The token and the session secrets live in memory only: never printed
//!   after the first line, never logged, never stored.
//!
//! Nothing here is reached from `gate hook`: no statics but one atomic flag.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tiny_http::{Header, Method, Request, Response, Server};

use crate::broker;
use crate::clock;
use crate::cmd::answer::{approver_name, refusal};
use crate::cmd::watch::{always_allow, change_lines, Change};
use crate::paths::Paths;
use crate::store::questions::{Answer, AnswerResult, Question};
use crate::store::Store;

/// Set by SIGINT/SIGTERM/SIGHUP: stop serving, close the inbox.
static QUIT: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    QUIT.store(true, Ordering::SeqCst);
}

/// Wrong tokens tolerated within [`WRONG_WINDOW`] before the lockout.
const MAX_WRONG: usize = 10;
const WRONG_WINDOW: Duration = Duration::from_secs(60);
/// How long pairing (and every request without a valid session) is refused after too many wrong tokens.
const LOCKOUT: Duration = Duration::from_secs(120);
/// Paired sessions kept at once; pairing another drops the oldest.
const MAX_SESSIONS: usize = 32;
/// The largest answer body read.
const MAX_BODY: u64 = 64 * 1024;
/// The longest feedback kept.
const MAX_FEEDBACK: usize = 2000;

pub struct ServeArgs {
    pub port: u16,
    pub lan: bool,
}

struct Session {
    csrf: String,
    device: String,
    created: u64,
    /// What the last answer did, shown once on the next page.
    flash: Vec<String>,
}

struct Web {
    paths: Paths,
    store: Store,
    approver: String,
    lan: bool,
    token: String,
    token_used: bool,
    /// Host header values naming this server.
    hosts: Vec<String>,
    cookie: String,
    sessions: HashMap<String, Session>,
    paired: u64,
    wrong: VecDeque<Instant>,
    locked_until: Option<Instant>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    paths.ensure_dirs()?;
    let store = Store::open(&paths.db())?;
    let bind = if args.lan { IpAddr::V4(Ipv4Addr::UNSPECIFIED) } else { IpAddr::V4(Ipv4Addr::LOCALHOST) };
    let server = Server::http(SocketAddr::new(bind, args.port))
        .map_err(|e| anyhow::anyhow!("cannot listen on {bind}:{}: {e}", args.port))?;
    let port = server.server_addr().to_ip().map(|a| a.port()).context("the server has no TCP port")?;
    let lan_ips = if args.lan { lan_addresses() } else { Vec::new() };
    let shown_ip = if args.lan {
        match primary_lan_address(&lan_ips) {
            Some(ip) => ip,
            None => anyhow::bail!("--lan: this machine has no network address other than loopback"),
        }
    } else {
        Ipv4Addr::LOCALHOST
    };
    let mut hosts = vec![format!("127.0.0.1:{port}"), format!("localhost:{port}")];
    hosts.extend(lan_ips.iter().map(|ip| format!("{ip}:{port}")));
    let token = random_hex(16)?;
    let mut web = Web {
        approver: approver_name(&paths),
        paths,
        store,
        lan: args.lan,
        token,
        token_used: false,
        hosts,
        cookie: format!("gate_{}", random_hex(4)?),
        sessions: HashMap::new(),
        paired: 0,
        wrong: VecDeque::new(),
        locked_until: None,
    };
    let url = format!("http://{shown_ip}:{port}/pair?t={}", web.token);
    // The first line is the URL alone, for scripts (`head -1`).
    say(&url);
    let _inbox = broker::Inbox::open(&web.paths, "web")?;
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic.
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
    if args.lan {
        say(&qr(&url));
        say(&format!(
            "gate serve: scan this on your phone (same network), or open the URL above; it pairs one device only. \
             Answering as {}; Ctrl-C stops.",
            web.approver
        ));
        say("gate serve: the page is plain HTTP: use it on a network you trust");
    } else {
        say(&format!(
            "gate serve: open the URL above in a browser on this machine. Answering as {}; Ctrl-C stops.",
            web.approver
        ));
    }
    while !QUIT.load(Ordering::SeqCst) {
        match server.recv_timeout(Duration::from_millis(250)) {
            Ok(Some(req)) => web.handle(req),
            Ok(None) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).context("serving the page"),
        }
    }
    say("gate serve: closed; hooks no longer wait for it");
    Ok(ExitCode::SUCCESS)
}

/// Print a line, ignoring a closed stdout.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// `n` random bytes from the system, as hex.
fn random_hex(n: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .context("reading /dev/urandom for a token")?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Compare secrets in time independent of where they differ.
fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The IPv4 addresses of this machine's interfaces, loopback excluded.
fn lan_addresses() -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    // SAFETY: getifaddrs fills a list we only read, then free once.
    unsafe {
        let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
        if libc::getifaddrs(&mut ifap) != 0 {
            return out;
        }
        let mut p = ifap;
        while !p.is_null() {
            let ifa = &*p;
            if !ifa.ifa_addr.is_null() && (*ifa.ifa_addr).sa_family as i32 == libc::AF_INET {
                let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                if !ip.is_loopback() && !out.contains(&ip) {
                    out.push(ip);
                }
            }
            p = ifa.ifa_next;
        }
        libc::freeifaddrs(ifap);
    }
    out
}

/// The address a phone would reach: the one the default route leaves by
/// (a UDP connect sends nothing), else the first private one, else any.
fn primary_lan_address(ips: &[Ipv4Addr]) -> Option<Ipv4Addr> {
    let routed = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").map(|_| s))
        .and_then(|s| s.local_addr())
        .ok()
        .and_then(|a| match a.ip() {
            IpAddr::V4(ip) if ips.contains(&ip) => Some(ip),
            _ => None,
        });
    routed.or_else(|| ips.iter().find(|ip| ip.is_private()).copied()).or_else(|| ips.first().copied())
}

/// The URL as a QR code of block characters, drawn light on dark (a dark
/// terminal's background is the code's dark), quiet zone included.
fn qr(url: &str) -> String {
    use qrcode::render::unicode::Dense1x2;
    match qrcode::QrCode::new(url.as_bytes()) {
        Ok(code) => {
            code.render::<Dense1x2>().dark_color(Dense1x2::Light).light_color(Dense1x2::Dark).quiet_zone(true).build()
        }
        Err(e) => format!("(no QR code: {e})"),
    }
}

/// A short name for the device, from its User-Agent: "iPhone Safari".
pub(crate) fn device_name(ua: &str) -> String {
    let os = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Macintosh", "Mac"),
        ("Windows", "Windows"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(k, _)| ua.contains(k))
    .map(|(_, v)| *v);
    let browser = [
        ("HeadlessChrome", "Headless Chrome"),
        ("Firefox/", "Firefox"),
        ("FxiOS", "Firefox"),
        ("EdgiOS", "Edge"),
        ("EdgA/", "Edge"),
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser", "Samsung Internet"),
        ("CriOS", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(k, _)| ua.contains(k))
    .map(|(_, v)| *v);
    match (os, browser) {
        (Some(o), Some(b)) => format!("{o} {b}"),
        (Some(o), None) => o.to_string(),
        (None, Some(b)) => b.to_string(),
        (None, None) => "unknown browser".to_string(),
    }
}

/// Escape text for HTML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters and bidi overrides: shown, never obeyed.
            '\n' | '\t' => out.push(c),
            c if c.is_control()
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}') =>
            {
                out.push_str(&format!("\\u{{{:04x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// `application/x-www-form-urlencoded` pairs.
fn form(body: &[u8]) -> HashMap<String, String> {
    let decode = |s: &[u8]| {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < s.len() => {
                    match std::str::from_utf8(&s[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    body.split(|b| *b == b'&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.iter().position(|b| *b == b'=') {
            Some(at) => (decode(&p[..at]), decode(&p[at + 1..])),
            None => (decode(p), String::new()),
        })
        .collect()
}

fn header<'a>(req: &'a Request, name: &'static str) -> Option<&'a str> {
    req.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str())
}

fn hdr(k: &str, v: &str) -> Header {
    Header::from_bytes(k.as_bytes(), v.as_bytes()).expect("a valid header")
}

/// What to send back.
struct Reply {
    status: u16,
    body: String,
    content_type: &'static str,
    headers: Vec<Header>,
    /// The CSP nonce of a full page.
    nonce: Option<String>,
}

impl Reply {
    fn text(status: u16, body: impl Into<String>) -> Reply {
        Reply { status, body: body.into(), content_type: "text/plain; charset=utf-8", headers: vec![], nonce: None }
    }
    fn html(body: String, nonce: Option<String>) -> Reply {
        Reply { status: 200, body, content_type: "text/html; charset=utf-8", headers: vec![], nonce }
    }
    fn see_other(to: &str) -> Reply {
        let mut r = Reply::text(303, "");
        r.headers.push(hdr("Location", to));
        r
    }
}

impl Web {
    fn handle(&mut self, mut req: Request) {
        let reply = self.route(&mut req);
        let csp = match &reply.nonce {
            Some(n) => format!(
                "default-src 'none'; script-src 'nonce-{n}'; style-src 'nonce-{n}'; connect-src 'self'; \
                 form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
            ),
            None => "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'".to_string(),
        };
        let mut resp = Response::from_string(reply.body)
            .with_status_code(reply.status)
            .with_header(hdr("Content-Type", reply.content_type))
            .with_header(hdr("Content-Security-Policy", &csp))
            .with_header(hdr("X-Content-Type-Options", "nosniff"))
            .with_header(hdr("X-Frame-Options", "DENY"))
            // Not no-referrer: with it, browsers send `Origin: null` on the
            // page's own form posts. Same-origin leaks nothing: the token is
            // never in a page's URL, and only this server sees the referrer.
            .with_header(hdr("Referrer-Policy", "same-origin"))
            .with_header(hdr("Cache-Control", "no-store"))
            .with_header(hdr("Cross-Origin-Opener-Policy", "same-origin"))
            .with_header(hdr("Cross-Origin-Resource-Policy", "same-origin"));
        for h in reply.headers {
            resp.add_header(h);
        }
        let _ = req.respond(resp);
    }

    /// Count a wrong token; lock pairing once there were too many.
    fn wrong_token(&mut self) {
        let now = Instant::now();
        self.wrong.push_back(now);
        while self.wrong.front().is_some_and(|t| now.duration_since(*t) > WRONG_WINDOW) {
            self.wrong.pop_front();
        }
        if self.wrong.len() >= MAX_WRONG {
            self.wrong.clear();
            self.locked_until = Some(now + LOCKOUT);
            say(&format!(
                "gate serve: {MAX_WRONG} wrong tokens within a minute: refusing pairing and unpaired requests for {} s",
                LOCKOUT.as_secs()
            ));
        }
    }

    fn locked(&mut self) -> bool {
        match self.locked_until {
            Some(t) if Instant::now() < t => true,
            Some(_) => {
                self.locked_until = None;
                false
            }
            None => false,
        }
    }

    fn locked_reply() -> Reply {
        let mut r = Reply::text(429, "gate serve: too many wrong tokens; try again in a few minutes\n");
        r.headers.push(hdr("Retry-After", &LOCKOUT.as_secs().to_string()));
        r
    }

    /// The session secret this request's cookie holds, if any.
    fn cookie_value(&self, req: &Request) -> Option<String> {
        let prefix = format!("{}=", self.cookie);
        req.headers()
            .iter()
            .filter(|h| h.field.equiv("Cookie"))
            .flat_map(|h| h.value.as_str().split(';').map(str::trim).collect::<Vec<_>>())
            .find_map(|c| c.strip_prefix(&prefix).map(str::to_string))
    }

    fn route(&mut self, req: &mut Request) -> Reply {
        // The Host must name this server: a page on another name that
        // resolves here (DNS rebinding) gets nothing.
        let host = header(req, "Host").unwrap_or("").to_ascii_lowercase();
        if !self.hosts.contains(&host) {
            return Reply::text(403, "gate serve: unknown Host\n");
        }
        let url = req.url().to_string();
        let (path, query) = url.split_once('?').unwrap_or((&url, ""));
        if !matches!(req.method(), Method::Get | Method::Post) {
            return Reply::text(405, "gate serve: GET or POST only\n");
        }
        if path == "/pair" && *req.method() == Method::Get {
            return self.pair(req, query);
        }
        // Everything else needs a paired session.
        let session = match self.cookie_value(req) {
            Some(v) => match self.sessions.keys().find(|k| ct_eq(k, &v)).cloned() {
                Some(k) => k,
                None => {
                    if self.locked() {
                        return Self::locked_reply();
                    }
                    self.wrong_token();
                    return Reply::text(403, "gate serve: this browser is not paired (or gate serve restarted): open the URL gate serve printed\n");
                }
            },
            None => {
                if self.locked() {
                    return Self::locked_reply();
                }
                return Reply::text(403, "gate serve: not paired: open the URL gate serve printed, token included\n");
            }
        };
        match (req.method(), path) {
            (Method::Get, "/") => self.page(&session),
            (Method::Get, "/list") => match self.store.pending(clock::now_ms()) {
                Ok(pending) => Reply::html(self.list(&session, &pending), None),
                Err(e) => Reply::text(500, format!("gate serve: {e}\n")),
            },
            (Method::Post, "/answer") => self.answer(req, &session, &host),
            _ => Reply::text(404, "gate serve: no such page\n"),
        }
    }

    fn pair(&mut self, req: &Request, query: &str) -> Reply {
        if self.locked() {
            return Self::locked_reply();
        }
        let given = form(query.as_bytes()).remove("t").unwrap_or_default();
        if !ct_eq(&given, &self.token) {
            self.wrong_token();
            return Reply::text(403, "gate serve: wrong token\n");
        }
        if self.lan && self.token_used {
            self.wrong_token();
            return Reply::text(
                403,
                "gate serve: this pairing link was used already; restart gate serve --lan to pair another device\n",
            );
        }
        let secret = match random_hex(32) {
            Ok(s) => s,
            Err(e) => return Reply::text(500, format!("gate serve: {e}\n")),
        };
        let csrf = match random_hex(16) {
            Ok(s) => s,
            Err(e) => return Reply::text(500, format!("gate serve: {e}\n")),
        };
        if self.sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = self.sessions.iter().min_by_key(|(_, s)| s.created).map(|(k, _)| k.clone()) {
                self.sessions.remove(&oldest);
            }
        }
        let device = device_name(header(req, "User-Agent").unwrap_or(""));
        self.paired += 1;
        self.token_used = true;
        say(&format!("gate serve: paired {device}"));
        self.sessions.insert(secret.clone(), Session { csrf, device, created: self.paired, flash: vec![] });
        let mut r = Reply::see_other("/");
        r.headers.push(hdr("Set-Cookie", &format!("{}={secret}; Path=/; HttpOnly; SameSite=Strict", self.cookie)));
        r
    }

    fn answer(&mut self, req: &mut Request, session: &str, host: &str) -> Reply {
        // Cross-origin refusals: the Origin must be this very server, and a
        // browser that says where the request comes from must say same-origin.
        let origin = header(req, "Origin").unwrap_or("");
        if origin != format!("http://{host}") {
            return Reply::text(403, "gate serve: cross-origin request refused\n");
        }
        if header(req, "Sec-Fetch-Site").is_some_and(|s| s != "same-origin") {
            return Reply::text(403, "gate serve: cross-site request refused\n");
        }
        if !header(req, "Content-Type").is_some_and(|t| t.starts_with("application/x-www-form-urlencoded")) {
            return Reply::text(415, "gate serve: a form post only\n");
        }
        let mut body = Vec::new();
        if req.as_reader().take(MAX_BODY + 1).read_to_end(&mut body).is_err() || body.len() as u64 > MAX_BODY {
            return Reply::text(413, "gate serve: too large\n");
        }
        let f = form(&body);
        let Some(s) = self.sessions.get(session) else { return Reply::text(403, "gate serve: not paired\n") };
        if !ct_eq(f.get("csrf").map(String::as_str).unwrap_or(""), &s.csrf) {
            return Reply::text(403, "gate serve: stale or missing form token: reload the page\n");
        }
        let Some(id) = f.get("id").and_then(|v| v.parse::<i64>().ok()) else {
            return Reply::text(400, "gate serve: no question id\n");
        };
        let (allow, scope, feedback) = match f.get("do").map(String::as_str) {
            Some("once") => (true, "once", None),
            Some("session") => (true, "session", None),
            Some("always") => (true, "always", None),
            Some("deny") => (false, "once", None),
            Some("feedback") => {
                let text: String =
                    f.get("feedback").map(|t| t.trim()).unwrap_or("").chars().take(MAX_FEEDBACK).collect();
                (false, "once", (!text.is_empty()).then_some(text))
            }
            _ => return Reply::text(400, "gate serve: no answer\n"),
        };
        let approver = format!("{} ({})", self.approver, s.device);
        let a = Answer { allow, scope: scope.into(), approver: approver.clone(), source: "web".into(), feedback };
        let q = self.store.question(id).ok().flatten();
        let mut said = Vec::new();
        match self.store.answer_question(id, &a, clock::now_ms()) {
            Ok(AnswerResult::Accepted) => {
                let verb = if allow { "allowed" } else { "denied" };
                let how = match scope {
                    "session" => " for this session",
                    "always" => " (always)",
                    _ => "",
                };
                said.push(format!("question {id}: {verb}{how}"));
                say(&format!("gate serve: question {id} {verb}{how} by {approver}"));
                if scope == "always" {
                    if let Some(q) = q {
                        match always_allow(&self.paths, &q, "serve") {
                            Ok(lines) => said.extend(lines),
                            Err(e) => said.push(format!("the rule was not written: {e}")),
                        }
                    }
                }
            }
            Ok(AnswerResult::Refused(latest)) => said.push(refusal(&latest)),
            Ok(AnswerResult::NotFound) => said.push(format!("question {id} is gone")),
            Err(e) => said.push(format!("could not answer question {id}: {e}")),
        }
        if let Some(s) = self.sessions.get_mut(session) {
            s.flash = said;
        }
        Reply::see_other("/")
    }

    fn page(&mut self, session: &str) -> Reply {
        let pending = match self.store.pending(clock::now_ms()) {
            Ok(p) => p,
            Err(e) => return Reply::text(500, format!("gate serve: {e}\n")),
        };
        let nonce = match random_hex(16) {
            Ok(n) => n,
            Err(e) => return Reply::text(500, format!("gate serve: {e}\n")),
        };
        let list = self.list(session, &pending);
        let Some(s) = self.sessions.get_mut(session) else { return Reply::text(403, "gate serve: not paired\n") };
        let flash: String = std::mem::take(&mut s.flash).iter().map(|m| format!("<p>{}</p>", esc(m))).collect();
        let title = if pending.is_empty() { "gate".to_string() } else { format!("({}) gate", pending.len()) };
        let body = format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style nonce="{nonce}">{CSS}</style>
</head><body>
<h1>gate <span class="who">answering as {who}</span></h1>
<div id="status" class="status" hidden></div>
<div id="flash" class="flash">{flash}</div>
{list}
<script nonce="{nonce}">{JS}</script>
</body></html>
"#,
            who = esc(&format!("{} ({})", self.approver, s.device)),
        );
        Reply::html(body, Some(nonce))
    }

    /// The questions, as the fragment the page polls.
    fn list(&self, session: &str, pending: &[Question]) -> String {
        let csrf = self.sessions.get(session).map(|s| s.csrf.as_str()).unwrap_or("");
        let version: Vec<String> = pending.iter().map(|q| q.id.to_string()).collect();
        let mut out =
            format!(r#"<div id="list" data-version="{}" data-now="{}">"#, esc(&version.join(",")), clock::now_ms());
        if pending.is_empty() {
            out.push_str(r#"<p class="empty">No questions are waiting. This page updates by itself.</p>"#);
        }
        for q in pending {
            out.push_str(&question_html(q, csrf));
        }
        out.push_str("</div>");
        out
    }
}

fn question_html(q: &Question, csrf: &str) -> String {
    let v = |s: &Option<String>| esc(s.as_deref().unwrap_or("-"));
    let session: String = q.session_id.as_deref().unwrap_or("-").chars().take(8).collect();
    let rule = match (&q.rule_id, &q.rule_origin) {
        (Some(id), Some(o)) => format!("{} ({})", esc(id), esc(o)),
        (Some(id), None) => esc(id),
        _ => "-".into(),
    };
    let now = clock::now_ms();
    let left = (q.expires_ms - now).max(0);
    let secs = (left + 999) / 1000;
    let id = q.id;
    let mut h = format!(
        r#"<section class="q" id="q{id}"><h2>Question {id} <span class="tool">{tool}</span> <span class="left">expires in <span class="cd" data-expires="{exp}">{m}:{s:02}</span></span></h2>
<dl><dt>agent</dt><dd>{agent}</dd><dt>session</dt><dd>{session}</dd><dt>cwd</dt><dd>{cwd}</dd><dt>rule</dt><dd>{rule}</dd><dt>why</dt><dd>{why}</dd></dl>
"#,
        tool = v(&q.tool),
        exp = q.expires_ms,
        m = secs / 60,
        s = secs % 60,
        agent = v(&q.agent),
        session = esc(&session),
        cwd = v(&q.cwd),
        why = v(&q.reason),
    );
    let change = change_lines(q);
    let is_file = matches!(q.tool_kind.as_deref(), Some("edit") | Some("write"));
    if is_file && !change.is_empty() {
        h.push_str(&format!(r#"<p class="file">file <code>{}</code></p><pre class="diff">"#, v(&q.target)));
        for c in change {
            match c {
                Change::Note(n) => h.push_str(&format!("<span class=\"note\">{}</span>\n", esc(&n))),
                Change::Old(l) => h.push_str(&format!("<span class=\"old\">-{}</span>\n", esc(&l))),
                Change::New(l) => h.push_str(&format!("<span class=\"new\">+{}</span>\n", esc(&l))),
            }
        }
        h.push_str("</pre>");
    } else {
        let what = q.target.clone().or_else(|| q.args.clone()).unwrap_or_else(|| "-".into());
        h.push_str(&format!(r#"<pre class="cmd">{}</pre>"#, esc(&what)));
    }
    match &q.always_rule {
        Some(rule) => h.push_str(&format!(
            "<details><summary>\u{201c}Always allow\u{201d} adds this rule to your user policy</summary><pre>{}</pre></details>",
            esc(rule)
        )),
        None => h.push_str(
            r#"<p class="note">No allow rule can say exactly what this approves: &ldquo;Always allow&rdquo; allows it once.</p>"#,
        ),
    }
    h.push_str(&format!(
        r#"<form method="post" action="/answer"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="id" value="{id}">
<div class="buttons"><button class="allow" name="do" value="once">Allow once</button><button class="allow" name="do" value="session">Allow for this session</button><button class="allow" name="do" value="always">Always allow</button><button class="deny" name="do" value="deny">Deny</button></div>
<textarea name="feedback" data-q="{id}" rows="2" maxlength="{MAX_FEEDBACK}" placeholder="Feedback for the agent"></textarea>
<div class="buttons"><button class="deny" name="do" value="feedback">Deny with feedback</button></div></form></section>
"#,
        csrf = esc(csrf)
    ));
    h
}

const CSS: &str = "
body{font:16px/1.4 system-ui,sans-serif;margin:0 auto;max-width:60em;padding:0.5em 1em;color:#1b1b1b;background:#fafafa}
h1{font-size:1.2em}.who{font-weight:normal;color:#666;font-size:0.8em}
h2{font-size:1.05em;margin:0 0 0.4em}.tool{color:#555;font-weight:normal}.left{float:right;font-weight:normal;color:#a40}
.q{background:#fff;border:1px solid #ccc;border-radius:6px;padding:0.8em;margin:0 0 1em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:0.1em 0.8em;margin:0 0 0.5em}dt{color:#666}dd{margin:0;overflow-wrap:anywhere}
pre{background:#f2f2f2;padding:0.5em;overflow-x:auto;white-space:pre-wrap;overflow-wrap:anywhere;margin:0.4em 0}
.cmd{font-weight:bold}.old{color:#a00}.new{color:#070}.note{color:#666}
.buttons{display:flex;flex-wrap:wrap;gap:0.4em;margin:0.4em 0}
button{font:inherit;padding:0.6em 0.9em;border-radius:5px;border:1px solid #888;background:#eee;cursor:pointer}
button.allow{background:#e3f4e3;border-color:#4a4}button.deny{background:#f8e1e1;border-color:#a44}
textarea{font:inherit;width:100%;box-sizing:border-box}
.flash p{background:#eef;border:1px solid #99c;padding:0.4em;border-radius:4px}
.status{background:#fee;border:1px solid #c66;padding:0.4em;border-radius:4px;margin-bottom:1em}
.empty{color:#666}
";

/// Polls `/list` every second and swaps the questions in when they change,
/// keeping typed feedback; counts down between polls.
const JS: &str = r#"(function(){
var skew=0,timer=null;
function pad(n){return (n<10?'0':'')+n;}
function tick(){var now=Date.now()+skew,els=document.querySelectorAll('[data-expires]');
for(var i=0;i<els.length;i++){var s=Math.max(0,Math.ceil((+els[i].getAttribute('data-expires')-now)/1000));els[i].textContent=Math.floor(s/60)+':'+pad(s%60);}}
function sync(){var l=document.getElementById('list');skew=(+l.getAttribute('data-now'))-Date.now();
var n=l.querySelectorAll('section.q').length;document.title=(n?'('+n+') ':'')+'gate';document.documentElement.setAttribute('data-live','1');}
function status(m){var s=document.getElementById('status');s.textContent=m;s.hidden=!m;}
function fail(m){var e=new Error(m);e.mine=true;return e;}
function poll(){fetch('/list',{cache:'no-store',credentials:'same-origin'}).then(function(r){
if(r.status===403){clearInterval(timer);throw fail('This page is no longer paired: open the URL gate serve printed.');}
if(!r.ok)throw fail('gate serve answered '+r.status+'.');return r.text();}).then(function(html){
status('');var t=document.createElement('template');t.innerHTML=html;var fresh=t.content.firstElementChild,cur=document.getElementById('list');
if(!fresh||fresh.id!=='list')return;
if(fresh.getAttribute('data-version')!==cur.getAttribute('data-version')){
var kept={},focus=document.activeElement&&document.activeElement.getAttribute('data-q'),tas=cur.querySelectorAll('textarea[data-q]');
for(var i=0;i<tas.length;i++)kept[tas[i].getAttribute('data-q')]=tas[i].value;
cur.replaceWith(fresh);tas=fresh.querySelectorAll('textarea[data-q]');
for(i=0;i<tas.length;i++){var k=tas[i].getAttribute('data-q');if(kept[k])tas[i].value=kept[k];if(k===focus)tas[i].focus();}
}else{cur.setAttribute('data-now',fresh.getAttribute('data-now'));}
sync();tick();}).catch(function(e){status(e&&e.mine?e.message:'gate serve is not answering (stopped?).');});}
sync();tick();setInterval(tick,1000);timer=setInterval(poll,1000);
})();"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(
            esc(r#"<img src=x onerror="a('b')">&"#),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;"
        );
        assert_eq!(esc("a\u{202e}b\x1b"), "a\\u{202e}b\\u{001b}");
        assert_eq!(esc("line\nnext"), "line\nnext");
    }

    #[test]
    fn forms_decode() {
        let f = form(b"csrf=ab&do=feedback&feedback=use+a+branch%2C+please%21&id=3&x");
        assert_eq!(f["feedback"], "use a branch, please!");
        assert_eq!(f["id"], "3");
        assert_eq!(f["x"], "");
        assert_eq!(form(b"a=%zz%4")["a"], "%zz%4");
        assert_eq!(form(b"a=%e2%9c%93")["a"], "\u{2713}");
    }

    #[test]
    fn device_names() {
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
        assert_eq!(device_name(iphone), "iPhone Safari");
        let android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36";
        assert_eq!(device_name(android), "Android Chrome");
        let headless = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";
        assert_eq!(device_name(headless), "Linux Headless Chrome");
        let firefox = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0";
        assert_eq!(device_name(firefox), "Mac Firefox");
        assert_eq!(device_name(""), "unknown browser");
    }

    #[test]
    fn secrets_compare() {
        assert!(ct_eq("abc", "abc"));
        assert!(!ct_eq("abc", "abd"));
        assert!(!ct_eq("abc", "abcd"));
        assert_eq!(random_hex(16).unwrap().len(), 32);
        assert_ne!(random_hex(16).unwrap(), random_hex(16).unwrap());
    }

    #[test]
    fn qr_is_block_text() {
        let q = qr("http://192.168.1.2:8080/pair?t=00112233445566778899aabbccddeeff");
        assert!(q.lines().count() > 10);
        assert!(q.contains('\u{2588}') || q.contains('\u{2580}') || q.contains('\u{2584}'));
    }
}
