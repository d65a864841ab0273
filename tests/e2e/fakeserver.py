"""What the scripted fake model servers (fake_*.py) share. Stdlib only.

Each server is run as `python3 tests/e2e/fake_X.py --script script.json --port-file PATH
--log PATH` and ends with `fakeserver.main(Handler)`, which parses that command line, loads
the script (a JSON list of steps), binds a threaded server to 127.0.0.1 on a free port,
writes the port to --port-file (atomically) and serves until killed. A request handler
derives from `fakeserver.Handler` and reaches the script as `self.script` and the request
log as `self.log_body(body, raw)`.
"""
import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    """A threaded server on 127.0.0.1 that carries the script and the request log."""

    daemon_threads = True

    def __init__(self, handler, script, log):
        super().__init__(("127.0.0.1", 0), handler)
        self.script = script
        self.log = log
        self.log_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def log_message(self, fmt, *a):  # silence default stderr access log
        pass

    @property
    def script(self):
        """The steps from --script, a list."""
        return self.server.script

    def log_body(self, body, raw=b""):
        """Append a request body to --log verbatim, one JSON per line (a body that is not
        JSON as {"_raw": text})."""
        rec = body if body is not None else {"_raw": raw.decode("utf-8", "replace")}
        with self.server.log_lock:
            with open(self.server.log, "a") as f:
                f.write(json.dumps(rec) + "\n")


def main(handler):
    p = argparse.ArgumentParser()
    p.add_argument("--script", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    args = p.parse_args()
    with open(args.script) as f:
        script = json.load(f)
    if not isinstance(script, list):
        sys.exit("script must be a JSON list of steps")
    srv = Server(handler, script, args.log)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, args.port_file)  # atomic: readers never see an empty file
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
