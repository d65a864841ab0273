//! `gate serve`, the web inbox: a real headless Chromium, driven over the
//! DevTools protocol, pairs with the printed URL, sees a question appear
//! (the hook waits for serve's own heartbeat, no other inbox), and answers
//! it with mouse clicks; the waiting hook gets the answer and the receipt
//! says source `web`. Raw HTTP checks the refusals: no token, wrong Host,
//! cross-origin posts, the wrong-token lockout, the one-time LAN pairing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::ask::{bash, decision_of, inbox_beats, last_decision, me, spawn_hook};
use crate::util::{stderr, TestEnv};

/// Questions of these tests expire soon, so a failure does not hang.
const SHORT: &[(&str, &str)] = &[("GATE_ASK_TIMEOUT", "30")];

/// A running `gate serve`; stopped with SIGTERM on drop.
struct Serve {
    child: Child,
    /// The pairing URL, its first line.
    url: String,
    /// `host:port` of the server.
    addr: String,
    token: String,
    /// Everything printed after the first line.
    rest: Arc<Mutex<String>>,
}

impl Serve {
    fn start(env: &TestEnv, args: &[&str]) -> Serve {
        let mut all = vec!["serve"];
        all.extend_from_slice(args);
        let mut child =
            env.cmd(&all).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut url = String::new();
        out.read_line(&mut url).unwrap();
        let url = url.trim().to_string();
        if !url.starts_with("http://") {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!("gate serve printed no URL first: {url:?}; stderr: {}", stderr(&o));
        }
        let rest = Arc::new(Mutex::new(String::new()));
        let r = rest.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while out.read_line(&mut line).is_ok_and(|n| n > 0) {
                r.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        let addr = url.trim_start_matches("http://").split('/').next().unwrap().to_string();
        let token = url.split("t=").nth(1).expect("a token in the URL").to_string();
        let deadline = Instant::now() + Duration::from_secs(5);
        while inbox_beats(env) == 0 {
            assert!(Instant::now() < deadline, "gate serve wrote no heartbeat");
            std::thread::sleep(Duration::from_millis(20));
        }
        Serve { child, url, addr, token, rest }
    }

    fn local(&self) -> String {
        format!("127.0.0.1:{}", self.addr.rsplit(':').next().unwrap())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request over a fresh connection: (status, head, body).
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String, String) {
    let host = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("host")).map(|(_, v)| v.to_string());
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", host.unwrap_or(addr.into()));
    for (k, v) in headers.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    let mut s = TcpStream::connect(addr).expect("connect to gate serve");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

fn header_of(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// Pair over raw HTTP: the `name=value` of the session cookie.
fn pair(s: &Serve) -> String {
    let (status, head, _) =
        http(&s.local(), "GET", &format!("/pair?t={}", s.token), &[("User-Agent", "test-client")], "");
    assert_eq!(status, 303, "{head}");
    assert_eq!(header_of(&head, "Location").as_deref(), Some("/"));
    let cookie = header_of(&head, "Set-Cookie").expect("a cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains(&s.token), "the cookie must not hold the pairing token: {cookie}");
    cookie.split(';').next().unwrap().to_string()
}

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_string()
}

fn pending(env: &TestEnv) -> Vec<Value> {
    let out = env.run(&["pending", "--json"]);
    serde_json::from_slice(&out.stdout).expect("pending json")
}

fn wait_pending(env: &TestEnv, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while pending(env).len() < n {
        assert!(Instant::now() < deadline, "no question appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_refuses_without_token_cross_origin_and_wrong_token_floods() {
    let env = TestEnv::new();
    let s = Serve::start(&env, &[]);
    assert!(s.url.starts_with("http://127.0.0.1:"), "{}", s.url);
    let a = s.local();
    // No token, no cookie: nothing, not even the page.
    let (st, head, _) = http(&a, "GET", "/", &[], "");
    assert_eq!(st, 403, "{head}");
    let (st, _, _) = http(&a, "GET", "/list", &[], "");
    assert_eq!(st, 403);
    let (st, _, _) = http(&a, "POST", "/answer", &[("Origin", &format!("http://{a}"))], "id=1&do=once");
    assert_eq!(st, 403);
    // A name that is not this server's (DNS rebinding): refused, even with the token.
    let (st, _, _) = http(
        &a,
        "GET",
        &format!("/pair?t={}", s.token),
        &[("Host", &format!("evil.example:{}", s.addr.rsplit(':').next().unwrap()))],
        "",
    );
    assert_eq!(st, 403);

    let cookie = pair(&s);
    let (st, head, page) = http(&a, "GET", "/", &[("Cookie", &cookie)], "");
    assert_eq!(st, 200, "{head}");
    let csp = header_of(&head, "Content-Security-Policy").expect("a CSP");
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'nonce-"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    assert!(!page.contains(&s.token), "the page must not show the token");

    let hook = spawn_hook(&env, &bash(&env, "s1", "t1", "git push origin main"), SHORT);
    wait_pending(&env, 1);
    let (_, _, page) = http(&a, "GET", "/", &[("Cookie", &cookie)], "");
    let csrf = csrf_of(&page);
    let form = "application/x-www-form-urlencoded";
    let good_origin = format!("http://{a}");
    let body = format!("csrf={csrf}&id=1&do=once");
    // Cross-origin, no Origin, cross-site fetch metadata, a wrong CSRF token, a GET: all refused.
    for (origin, site, body, why) in [
        (Some("http://evil.example"), None, body.as_str(), "another origin"),
        (None, None, body.as_str(), "no Origin"),
        (Some(good_origin.as_str()), Some("cross-site"), body.as_str(), "Sec-Fetch-Site cross-site"),
        (Some(good_origin.as_str()), None, "csrf=0000&id=1&do=once", "a wrong CSRF token"),
    ] {
        let mut h = vec![("Cookie", cookie.as_str()), ("Content-Type", form)];
        if let Some(o) = origin {
            h.push(("Origin", o));
        }
        if let Some(x) = site {
            h.push(("Sec-Fetch-Site", x));
        }
        let (st, head, _) = http(&a, "POST", "/answer", &h, body);
        assert_eq!(st, 403, "{why} must be refused: {head}");
    }
    let (st, _, _) = http(&a, "GET", &format!("/answer?csrf={csrf}&id=1&do=once"), &[("Cookie", &cookie)], "");
    assert_eq!(st, 404, "answers are POSTs only");
    assert_eq!(pending(&env).len(), 1, "a refused request must not answer");
    // The same post from this origin answers.
    let h = [("Cookie", cookie.as_str()), ("Content-Type", form), ("Origin", good_origin.as_str())];
    let (st, head, _) =
        http(&a, "POST", "/answer", &h, &format!("csrf={csrf}&id=1&do=feedback&feedback=not+on+main%2C+please"));
    assert_eq!(st, 303, "{head}");
    let out = hook.wait_with_output().unwrap();
    let (d, reason) = decision_of(&out);
    assert_eq!(d, "deny", "{}", stderr(&out));
    assert!(reason.contains("in gate web, and says: not on main, please"), "{reason}");
    let row = last_decision(&env);
    assert_eq!((row["decision"].as_str(), row["source"].as_str()), (Some("denied"), Some("web")));
    assert_eq!(row["approver"], format!("{} (unknown browser)", me()));

    // Ten wrong tokens within a minute lock pairing, even with the right token.
    for i in 0..10 {
        let (st, _, _) = http(&a, "GET", &format!("/pair?t=wrong{i}"), &[], "");
        assert_eq!(st, 403, "wrong token {i}");
    }
    let (st, head, _) = http(&a, "GET", &format!("/pair?t={}", s.token), &[], "");
    assert_eq!(st, 429, "{head}");
    assert!(header_of(&head, "Retry-After").is_some());
    let (st, _, _) = http(&a, "GET", "/", &[], "");
    assert_eq!(st, 429);
    // A paired session keeps working: a flood cannot lock its owner out.
    let (st, _, _) = http(&a, "GET", "/list", &[("Cookie", &cookie)], "");
    assert_eq!(st, 200);

    let token = s.token.clone();
    drop(s);
    let dump = env.sqlite3(".dump");
    assert!(!dump.contains(&token) && !dump.contains("wrong0"), "tokens must not be stored");
}

#[test]
fn serve_lan_pairs_one_device_and_prints_a_qr_code() {
    let env = TestEnv::new();
    let s = Serve::start(&env, &["--lan"]);
    assert!(!s.url.starts_with("http://127.0.0.1:"), "--lan prints a LAN address: {}", s.url);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !s.rest.lock().unwrap().contains("pairs one device") {
        assert!(Instant::now() < deadline, "no QR code: {}", s.rest.lock().unwrap());
        std::thread::sleep(Duration::from_millis(20));
    }
    let rest = s.rest.lock().unwrap().clone();
    assert!(rest.lines().filter(|l| l.contains('█')).count() > 10, "a QR code of block characters:\n{rest}");
    assert!(!rest.contains(&s.token), "the token is printed once, in the URL");
    // Reachable on the LAN address, whose Host is accepted.
    let (st, head, _) = http(&s.addr, "GET", &format!("/pair?t={}", s.token), &[], "");
    assert_eq!(st, 303, "{head}");
    let (st, _, _) = http(&s.addr, "GET", &format!("/pair?t={}", s.token), &[], "");
    assert_eq!(st, 403, "the pairing token works once");
}

// ---------------------------------------------------------------------------
// A headless Chromium over the DevTools protocol.

fn chromium() -> Option<PathBuf> {
    let on_path = |p: &str| {
        std::env::var_os("PATH").and_then(|path| std::env::split_paths(&path).map(|d| d.join(p)).find(|f| f.is_file()))
    };
    let found = std::env::var_os("GATE_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|p| on_path(p)));
    if found.is_none() {
        assert!(
            std::env::var("GATE_E2E_REQUIRE").as_deref() != Ok("1"),
            "GATE_E2E_REQUIRE=1 but Chromium is not installed (apt-get install chromium, or run ./test.sh; or set GATE_CHROMIUM)"
        );
        eprintln!("skipping: Chromium not installed (./test.sh installs it, or set GATE_CHROMIUM)");
    }
    found
}

struct Browser {
    child: Child,
    ws: tungstenite::WebSocket<TcpStream>,
    next: u64,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn launch(bin: &PathBuf) -> Browser {
        let profile = tempfile::Builder::new().prefix("gate-chromium-").tempdir().unwrap();
        let mut child = std::process::Command::new(bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--no-first-run",
                "--no-default-browser-check",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("launch chromium");
        let (tx, rx) = std::sync::mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if let Some(url) = line.split("DevTools listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let ws_url = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(u) => u,
            Err(_) => {
                let _ = child.kill();
                panic!("chromium printed no DevTools URL");
            }
        };
        let hostport = ws_url.trim_start_matches("ws://").split('/').next().unwrap().to_string();
        let stream = TcpStream::connect(&hostport).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let (ws, _) = tungstenite::client(ws_url.as_str(), stream).expect("DevTools websocket");
        let mut b = Browser { child, ws, next: 0, session: String::new(), _profile: profile };
        let target = b.call("Target.createTarget", json!({"url": "about:blank"}));
        let id = target["targetId"].as_str().unwrap().to_string();
        let attached = b.call("Target.attachToTarget", json!({"targetId": id, "flatten": true}));
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        b
    }

    /// A DevTools command (on the page once attached); its result.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        let mut sent = self.ws.send(tungstenite::Message::text(msg.to_string()));
        // Interrupted by a signal: the frame is queued, flush it on.
        while let Err(tungstenite::Error::Io(e)) = &sent {
            if e.kind() != std::io::ErrorKind::Interrupted {
                break;
            }
            sent = self.ws.flush();
        }
        sent.expect("send to chromium");
        loop {
            let m = match self.ws.read() {
                Ok(m) => m,
                // A signal to this test process interrupts the read; read on.
                Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("read from chromium: {e:?}"),
            };
            let Ok(text) = m.to_text() else { continue };
            let Ok(v) = serde_json::from_str::<Value>(text) else { continue };
            if v["id"] == json!(id) {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call("Runtime.evaluate", json!({"expression": expr, "returnByValue": true, "awaitPromise": true}));
        assert!(r.get("exceptionDetails").is_none(), "{expr}: {r}");
        r["result"]["value"].clone()
    }

    /// Wait until `expr` is true in the page.
    fn wait_for(&mut self, expr: &str, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.eval(&format!("!!({expr})")) == json!(true) {
                return;
            }
            if Instant::now() > deadline {
                let body = self.eval("document.body ? document.body.innerText : ''");
                panic!("the page never showed {what}; it shows:\n{}", body.as_str().unwrap_or(""));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A real mouse click at the middle of the element.
    fn click(&mut self, selector: &str) {
        let sel = serde_json::to_string(selector).unwrap();
        let at = self.eval(&format!(
            "(function(){{var e=document.querySelector({sel});if(!e)return null;e.scrollIntoView({{block:'center'}});\
             var r=e.getBoundingClientRect();return [r.left+r.width/2,r.top+r.height/2];}})()"
        ));
        let (x, y) = (at[0].as_f64().expect("element to click"), at[1].as_f64().unwrap());
        self.call("Input.dispatchMouseEvent", json!({"type": "mouseMoved", "x": x, "y": y}));
        for t in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": t, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.session.clear();
        let _ = self.ws.send(tungstenite::Message::text(json!({"id": 999999, "method": "Browser.close"}).to_string()));
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_in_a_real_browser_answers_a_waiting_hook() {
    let Some(bin) = chromium() else { return };
    let started = Instant::now();
    let env = TestEnv::new();
    let s = Serve::start(&env, &[]);
    let mut b = Browser::launch(&bin);
    // Pairing: the cookie is set and the token leaves the address bar.
    b.call("Page.navigate", json!({"url": s.url}));
    b.wait_for("location.pathname === '/' && document.readyState === 'complete'", "the page after pairing");
    assert_eq!(b.eval("location.search"), json!(""), "the token must leave the URL");
    assert_eq!(b.eval("document.cookie"), json!(""), "the session cookie is HttpOnly");
    // The inline script runs under the CSP (its nonce), and polls.
    b.wait_for("document.documentElement.getAttribute('data-live') === '1'", "its script running");
    b.wait_for("document.body.innerText.indexOf('No questions are waiting') >= 0", "an empty inbox");

    // A hook asks; serve's own heartbeat is the only inbox, and the page
    // shows the question without being reloaded.
    let evil = r#"git push origin '<img src=x onerror=window.pwned=1><script>window.pwned=2</script>'"#;
    let hook = spawn_hook(&env, &bash(&env, "sess-web-1", "t1", evil), SHORT);
    b.wait_for("document.querySelector('section.q')", "the question");
    assert_eq!(b.eval("document.querySelector('pre.cmd').textContent"), json!(evil), "the command, verbatim");
    assert_eq!(
        b.eval("document.querySelectorAll('#list img, #list script').length"),
        json!(0),
        "no markup from agents"
    );
    assert_eq!(b.eval("typeof window.pwned"), json!("undefined"));
    let text = b.eval("document.body.innerText").as_str().unwrap().to_string();
    for want in [
        "Question 1",
        "claude-code",
        "sess-web",
        "ask-git-push",
        "expires in",
        "Allow once",
        "Allow for this session",
        "Always allow",
        "Deny with feedback",
    ] {
        assert!(text.contains(want), "the page lacks {want:?}:\n{text}");
    }
    assert_eq!(b.eval("document.title"), json!("(1) gate"));
    // The inline style applies too (its nonce).
    let bg = b.eval("getComputedStyle(document.querySelector('button.allow')).backgroundColor");
    assert_eq!(bg, json!("rgb(227, 244, 227)"), "the page's style must apply");
    b.click("button[value=once]");
    b.wait_for("document.body.innerText.indexOf('question 1: allowed') >= 0", "what the answer did");
    let out = hook.wait_with_output().unwrap();
    let (d, reason) = decision_of(&out);
    assert_eq!(d, "allow", "{}", stderr(&out));
    assert!(reason.contains("in gate web"), "{reason}");
    let row = last_decision(&env);
    assert_eq!((row["decision"].as_str(), row["source"].as_str()), (Some("approved"), Some("web")));
    assert_eq!(row["approver"], format!("{} (Linux Headless Chrome)", me()));

    // Deny with feedback: typed into the page, sent by a click.
    let hook = spawn_hook(&env, &bash(&env, "sess-web-1", "t2", "git push origin main"), SHORT);
    b.wait_for("document.querySelector('#q2 textarea')", "the second question");
    b.click("#q2 textarea");
    b.call("Input.insertText", json!({"text": "push to a branch instead"}));
    b.click("#q2 button[value=feedback]");
    let out = hook.wait_with_output().unwrap();
    let (d, reason) = decision_of(&out);
    assert_eq!(d, "deny");
    assert!(reason.contains("says: push to a branch instead"), "{reason}");
    assert_eq!(last_decision(&env)["detail"]["feedback"], "push to a branch instead");

    // The token is printed once, and stored nowhere.
    drop(b);
    let token = s.token.clone();
    let rest = s.rest.clone();
    drop(s);
    assert!(!rest.lock().unwrap().contains(&token), "the token is printed once");
    assert!(!env.sqlite3(".dump").contains(&token), "the token must not be stored");
    eprintln!("browser test took {:?}", started.elapsed());
}
