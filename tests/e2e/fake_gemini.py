#!/usr/bin/env python3
"""Scripted fake of the Gemini API (generativelanguage v1beta) for driving the real Gemini CLI offline.

Usage: python3 fake_gemini.py --script script.json --port-file PATH --log PATH

script.json is a JSON list of steps, each one tool call the "model" makes:
    [{"tool": "run_shell_command", "input": {"command": "git status"}},
     {"tool": "write_file", "input": {"file_path": "/abs/x", "content": "hi\\n"}}]
Each step becomes one `functionCall` part {name: tool, args: input}.

`POST .../models/<model>:streamGenerateContent` that carries `tools` (the main conversation)
is answered with step N, where N is the number of `functionResponse` parts already in its
`contents`; after the last step it answers the text "done". Every such body is appended to
--log verbatim, one JSON per line. Side requests (no `tools`, or `:generateContent` for the
model router, next-speaker and loop checks) get a short text, or JSON that fits the schema
they ask for: a malformed answer makes Gemini retry for minutes. `:countTokens`,
`:embedContent` and GETs get a harmless answer. Stdlib only.
"""
import json
import os
import sys

# Run as a script: fakeserver is beside it (and leaves no __pycache__ there).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import fakeserver  # noqa: E402


def count_function_responses(contents):
    """Tool results already in the conversation."""
    n = 0
    for content in contents or []:
        for part in (content.get("parts") or []) if isinstance(content, dict) else []:
            if isinstance(part, dict) and "functionResponse" in part:
                n += 1
    return n


def candidate(parts):
    return {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
            "modelVersion": "gemini-fake-001"}


def schema_answer(body):
    """JSON that satisfies a structured side request's response schema."""
    cfg = body.get("generationConfig") or {}
    schema = cfg.get("responseJsonSchema") or cfg.get("responseSchema") or {}
    ans = {}
    for key, spec in (schema.get("properties") or {}).items():
        spec = spec or {}
        t = str(spec.get("type", "string")).lower()
        if "enum" in spec:
            ans[key] = spec["enum"][0]
        elif t == "boolean":
            ans[key] = False
        elif t in ("number", "integer"):
            ans[key] = max(1, int(spec.get("minimum", 1)))
        elif t == "array":
            ans[key] = []
        elif t == "object":
            ans[key] = {}
        else:
            ans[key] = "ok"
    # The next-speaker check must hand the turn back to the user (so the run ends);
    # the model router must pick a model.
    if "next_speaker" in ans:
        ans["next_speaker"] = "user"
    if "model_choice" in ans:
        ans["model_choice"] = "flash"
    return ans


class Handler(fakeserver.Handler):
    def _send(self, body, ctype="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _sse(self, chunk):
        self._send(b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n", "text/event-stream")

    def do_HEAD(self):
        self._send(b"", "text/plain")

    def do_GET(self):
        self._send({})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        path = self.path.split("?")[0]
        if path.endswith(":streamGenerateContent"):
            if not body.get("tools"):
                self._sse(candidate([{"text": "ok"}]))
                return
            self.log_body(body)
            done = count_function_responses(body.get("contents"))
            if done < len(self.script):
                step = self.script[done]
                self._sse(candidate([{"functionCall": {"name": step["tool"], "args": step.get("input", {})}}]))
            else:
                self._sse(candidate([{"text": "done"}]))
        elif path.endswith(":generateContent"):
            cfg = body.get("generationConfig") or {}
            json_wanted = cfg.get("responseMimeType") == "application/json"
            self._send(candidate([{"text": json.dumps(schema_answer(body)) if json_wanted else "ok"}]))
        elif path.endswith(":countTokens"):
            self._send({"totalTokens": max(1, len(raw) // 4)})
        elif path.endswith(":embedContent") or path.endswith(":batchEmbedContents"):
            self._send({"embedding": {"values": [0.0] * 8}, "embeddings": [{"values": [0.0] * 8}]})
        else:
            self._send({})


if __name__ == "__main__":
    fakeserver.main(Handler)
