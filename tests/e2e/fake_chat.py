#!/usr/bin/env python3
"""Scripted fake of the OpenAI Chat Completions API for driving the real Copilot CLI and
Hermes agent offline.

Usage: python3 fake_chat.py --script script.json --port-file PATH --log PATH

script.json is a JSON list of steps, each one tool call the "model" makes:
    [{"tool": "bash", "input": {"command": "git status", "description": "status"}},
     {"tool": "create", "input": {"path": "/abs/notes.txt", "file_text": "hello\\n"}}]

A `POST .../chat/completions` that carries `tools` (the main conversation) is answered with
step N, where N is the number of `role: "tool"` messages already in its `messages`, as one
tool call (arguments = the JSON of `input`); after the last step it answers the text "done".
Requests without `tools` (side requests such as titles) get a short text. Both `stream: true`
(SSE chunks: the tool call delta, finish_reason, a usage chunk with no choices, [DONE]) and
plain JSON answers are served. Every main-conversation body is appended to --log verbatim,
one JSON per line. `GET .../models` lists the models; any other path gets a 404, which is
what the CLIs' probes (Hermes' `POST /api/show`) expect from a plain OpenAI endpoint.
Stdlib only.
"""
import json
import os
import sys
import time
import uuid

# Run as a script: fakeserver is beside it (and leaves no __pycache__ there).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import fakeserver  # noqa: E402

MODELS = ["gpt-4.1", "fake-model"]


def count_tool_messages(messages):
    """Tool results already in the conversation."""
    if not isinstance(messages, list):
        return 0
    return sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "tool")


def reply(body, script):
    """("tool", (call_id, name, arguments)) for the next step, or ("text", text)."""
    if not body.get("tools"):
        return "text", "ok"
    n = count_tool_messages(body.get("messages"))
    if n >= len(script):
        return "text", "done"
    step = script[n]
    return "tool", ("call_%d_%s" % (n, uuid.uuid4().hex[:12]), step["tool"], json.dumps(step.get("input", {})))


class Handler(fakeserver.Handler):
    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self):
        self._send(200, {})

    def do_GET(self):
        if self.path.split("?")[0].rstrip("/").endswith("/models"):
            self._send(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in MODELS]})
        else:
            self._send(404, {"error": {"message": "not found", "type": "not_found"}})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        if not self.path.split("?")[0].rstrip("/").endswith("/chat/completions"):
            self._send(404, {"error": {"message": "not found", "type": "not_found"}})
            return
        if not isinstance(body, dict):
            self._send(400, {"error": {"message": "not JSON"}})
            return
        if body.get("tools"):
            self.log_body(body)
        kind, payload = reply(body, self.script)
        model = body.get("model") or MODELS[0]
        if body.get("stream"):
            self._stream(model, kind, payload)
        else:
            self._plain(model, kind, payload)

    def _message(self, kind, payload):
        if kind == "tool":
            call_id, name, args = payload
            return {"role": "assistant", "content": None, "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}]}, "tool_calls"
        return {"role": "assistant", "content": payload}, "stop"

    def _plain(self, model, kind, payload):
        message, finish = self._message(kind, payload)
        self._send(200, {
            "id": "chatcmpl-" + uuid.uuid4().hex[:16], "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})

    def _stream(self, model, kind, payload):
        base = {"id": "chatcmpl-" + uuid.uuid4().hex[:16], "object": "chat.completion.chunk",
                "created": int(time.time()), "model": model}

        def chunk(choices, **extra):
            return b"data: " + json.dumps(dict(base, choices=choices, **extra)).encode() + b"\n\n"

        if kind == "tool":
            call_id, name, args = payload
            parts = [
                chunk([{"index": 0, "delta": {"role": "assistant", "content": None, "tool_calls": [
                    {"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}]},
                    "finish_reason": None}]),
                chunk([{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": args}}]},
                        "finish_reason": None}]),
                chunk([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]),
            ]
        else:
            parts = [
                chunk([{"index": 0, "delta": {"role": "assistant", "content": payload}, "finish_reason": None}]),
                chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]),
            ]
        # The usage chunk (`stream_options.include_usage`) has no choices.
        parts.append(chunk([], usage={"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}))
        parts.append(b"data: [DONE]\n\n")
        data = b"".join(parts)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    fakeserver.main(Handler)
