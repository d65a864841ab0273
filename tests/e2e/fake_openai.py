#!/usr/bin/env python3
"""Scripted fake of the OpenAI Responses API for driving the real Codex CLI offline.

Usage: python3 fake_openai.py --script script.json --port-file PATH --log PATH

script.json is a JSON list of steps, each one tool call the "model" makes:
    [{"tool": "exec_command", "input": {"cmd": "git status"}},
     {"tool": "apply_patch", "input": "*** Begin Patch\\n...\\n*** End Patch\\n"}]
An object `input` becomes a `function_call` (its arguments are the JSON of the object);
a string `input` becomes a `custom_tool_call` (a freeform tool such as apply_patch, whose
input is the text itself).

A `POST /v1/responses` that carries `tools` (the main conversation) is answered with step N,
where N is the number of tool outputs (`function_call_output`, `custom_tool_call_output`)
already in its `input`; after the last step it answers the text "done". Requests without
`tools` (side requests) get a short text. Every POST /v1/responses body is appended to --log
verbatim, one JSON per line. `GET /v1/models` lists one model; any other path gets a
harmless answer. Stdlib only.
"""
import json
import os
import sys
import uuid

# Run as a script: fakeserver is beside it (and leaves no __pycache__ there).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import fakeserver  # noqa: E402


TOOL_OUTPUTS = ("function_call_output", "custom_tool_call_output")


def count_tool_outputs(items):
    """Tool results already in the conversation."""
    if not isinstance(items, list):
        return 0
    return sum(1 for it in items if isinstance(it, dict) and it.get("type") in TOOL_OUTPUTS)


def tool_item(step, n):
    """The output item for one script step."""
    base = {"id": "fc_" + uuid.uuid4().hex[:16], "status": "completed",
            "call_id": "call_%d_%s" % (n, uuid.uuid4().hex[:12]), "name": step["tool"]}
    if isinstance(step.get("input"), str):
        return dict(base, type="custom_tool_call", input=step["input"])
    return dict(base, type="function_call", arguments=json.dumps(step.get("input", {})))


def text_item(text):
    return {"type": "message", "id": "msg_" + uuid.uuid4().hex[:16], "status": "completed",
            "role": "assistant", "content": [{"type": "output_text", "text": text, "annotations": []}]}


def sse(event, data):
    return ("event: %s\ndata: %s\n\n" % (event, json.dumps(data))).encode()


def stream(model, item):
    """One response holding exactly one output item, as Codex reads the stream."""
    response = {"id": "resp_" + uuid.uuid4().hex[:16], "object": "response", "model": model}
    usage = {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 15}
    return b"".join([
        sse("response.created", {"type": "response.created",
                                 "response": dict(response, status="in_progress", output=[])}),
        sse("response.output_item.added", {"type": "response.output_item.added", "output_index": 0, "item": item}),
        sse("response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": item}),
        sse("response.completed", {"type": "response.completed",
                                   "response": dict(response, status="completed", output=[item], usage=usage)}),
    ])


class Handler(fakeserver.Handler):
    def _send(self, code, body, ctype="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self._send(200, b"", "text/plain")

    def do_GET(self):
        if self.path.split("?")[0].rstrip("/").endswith("/models"):
            # OpenAI's {"data": [...]} and Codex's own {"models": [...]} shapes.
            self._send(200, {"object": "list", "data": [{"id": "gpt-5.5", "object": "model", "owned_by": "fake"}],
                             "models": []})
        else:
            self._send(200, {"ok": True})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        if not self.path.split("?")[0].rstrip("/").endswith("/responses"):
            self._send(200, {"ok": True})
            return
        self.log_body(body, raw)
        if not isinstance(body, dict):
            self._send(400, {"error": {"message": "not JSON"}})
            return
        if body.get("tools"):
            done = count_tool_outputs(body.get("input"))
            item = tool_item(self.script[done], done) if done < len(self.script) else text_item("done")
        else:
            item = text_item("ok")
        self._send(200, stream(body.get("model") or "gpt-5.5", item), "text/event-stream")


if __name__ == "__main__":
    fakeserver.main(Handler)
