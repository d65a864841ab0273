#!/usr/bin/env python3
"""Scripted fake of the Anthropic Messages API for driving the real Claude Code CLI offline.

Usage: python3 fake_anthropic.py --script script.json --port-file PATH --log PATH

script.json is a JSON list of steps, e.g. [{"tool": "Bash", "input": {"command": "ls"}}].
A request that carries `tools` (the main conversation) is answered with step N, where N is
the number of tool_result blocks already in its messages; after the last step it answers
the text "done". Requests without `tools` (title generation and other side requests) get a
short text. Every POST /v1/messages body is appended to --log verbatim, one JSON per line.
Other paths (GET/HEAD /, count_tokens, ...) get a harmless answer. Stdlib only.
"""
import json
import os
import sys
import uuid

# Run as a script: fakeserver is beside it (and leaves no __pycache__ there).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import fakeserver  # noqa: E402


def count_tool_results(messages):
    n = 0
    for m in messages or []:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    n += 1
    return n


def sse(event, data):
    return ("event: %s\ndata: %s\n\n" % (event, json.dumps(data))).encode()


def usage(out=1):
    return {"input_tokens": 10, "output_tokens": out,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


def message_obj(model, content, stop_reason):
    return {"id": "msg_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant",
            "model": model, "content": content, "stop_reason": stop_reason,
            "stop_sequence": None, "usage": usage()}


def stream_events(model, kind, payload):
    """kind is 'text' (payload: str) or 'tool' (payload: step dict)."""
    start = message_obj(model, [], None)
    start["usage"]["output_tokens"] = 1
    out = [sse("message_start", {"type": "message_start", "message": start})]
    if kind == "tool":
        block = {"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:24],
                 "name": payload["tool"], "input": {}}
        args = json.dumps(payload.get("input", {}))
        out.append(sse("content_block_start",
                       {"type": "content_block_start", "index": 0, "content_block": block}))
        out.append(sse("content_block_delta",
                       {"type": "content_block_delta", "index": 0,
                        "delta": {"type": "input_json_delta", "partial_json": args}}))
        stop = "tool_use"
    else:
        out.append(sse("content_block_start",
                       {"type": "content_block_start", "index": 0,
                        "content_block": {"type": "text", "text": ""}}))
        out.append(sse("content_block_delta",
                       {"type": "content_block_delta", "index": 0,
                        "delta": {"type": "text_delta", "text": payload}}))
        stop = "end_turn"
    out.append(sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
    out.append(sse("message_delta", {"type": "message_delta",
                                     "delta": {"stop_reason": stop, "stop_sequence": None},
                                     "usage": {"output_tokens": 5}}))
    out.append(sse("message_stop", {"type": "message_stop"}))
    return b"".join(out), stop


def nonstream_body(model, kind, payload):
    if kind == "tool":
        content = [{"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:24],
                    "name": payload["tool"], "input": payload.get("input", {})}]
        return message_obj(model, content, "tool_use")
    return message_obj(model, [{"type": "text", "text": payload}], "end_turn")


class Handler(fakeserver.Handler):
    def _send(self, code, body, ctype="application/json", extra=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("request-id", "req_fake")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return raw, json.loads(raw) if raw else {}
        except ValueError:
            return raw, None

    def do_HEAD(self):
        self._send(200, b"", "text/plain")

    def do_GET(self):
        path = self.path.split("?")[0]
        if path.startswith("/v1/models"):
            self._send(200, {"data": [], "has_more": False, "first_id": None, "last_id": None})
        else:
            self._send(200, {"ok": True})

    def do_POST(self):
        path = self.path.split("?")[0]
        raw, body = self._read_body()
        if path == "/v1/messages":
            self.log_body(body, raw)
        if path.endswith("/count_tokens"):
            self._send(200, {"input_tokens": 10})
            return
        if path != "/v1/messages" or not isinstance(body, dict):
            self._send(200, {"ok": True})
            return
        model = body.get("model", "claude-fake")
        if body.get("tools"):
            n = count_tool_results(body.get("messages"))
            if n < len(self.script):
                kind, payload = "tool", self.script[n]
            else:
                kind, payload = "text", "done"
        else:
            kind, payload = "text", "ok"
        if body.get("stream"):
            data, _ = stream_events(model, kind, payload)
            self._send(200, data, "text/event-stream", {"Cache-Control": "no-cache"})
        else:
            self._send(200, nonstream_body(model, kind, payload))


if __name__ == "__main__":
    fakeserver.main(Handler)
