#!/usr/bin/env python3
"""A fake Telegram Bot API and AmoCRM API for the tests, speaking real HTTP.

    fake-api.py PORTFILE [FIXTURES_DIR]

Listens on 127.0.0.1 (a free port, written to PORTFILE), records every
request, and answers:
  POST .../bot<TOKEN>/sendMessage   {"ok":true,"result":{"message_id":N}}
  GET  /api/v4/leads/<id>, /api/v4/contacts/<id>
                                    FIXTURES_DIR/leads/<id>.json, or 204
unless the test scripted something else through the control endpoints:
  POST /_control/queue    {"match": "sendMessage", "responses": [R, ...]}
                          answers for the next matching requests, in order
  POST /_control/default  {"match": "...", "response": R}  (null: clear)
  GET  /_control/requests the requests so far, as a JSON list
  POST /_control/reset
where R is {"status": 429, "body": {...} or "text", "delay": seconds,
"chat_id": only for this chat, "close": true to drop the connection}.
"match" is a substring of the request path.  Every delay is bounded.
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"requests": [], "queues": [], "defaults": {}, "message_id": 0}
FIXTURES = sys.argv[2] if len(sys.argv) > 2 else None
MAX_DELAY = 30


def pick(path, chat_id):
    """The scripted answer for this request, or None."""
    with LOCK:
        for i, (match, r) in enumerate(STATE["queues"]):
            if match in path and ("chat_id" not in r or r["chat_id"] == chat_id):
                del STATE["queues"][i]
                return r
        for match, r in STATE["defaults"].items():
            if match in path:
                return r
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = body if isinstance(body, bytes) else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    def control(self, body):
        path = self.path
        if path == "/_control/requests":
            with LOCK:
                return self.answer(200, STATE["requests"])
        req = json.loads(body or b"{}")
        with LOCK:
            if path == "/_control/queue":
                for r in req["responses"]:
                    STATE["queues"].append((req["match"], r))
            elif path == "/_control/default":
                if req.get("response") is None:
                    STATE["defaults"].pop(req["match"], None)
                else:
                    STATE["defaults"][req["match"]] = req["response"]
            elif path == "/_control/reset":
                STATE.update(requests=[], queues=[], defaults={})
            else:
                return self.answer(404, {"error": "no such control"})
        return self.answer(200, {"ok": True})

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if self.path.startswith("/_control/"):
            return self.control(body)
        try:
            doc = json.loads(body) if body else None
        except ValueError:
            doc = None
        chat_id = doc.get("chat_id") if isinstance(doc, dict) else None
        with LOCK:
            STATE["requests"].append({
                "time": time.time(), "method": self.command, "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"), "json": doc})
        r = pick(self.path, chat_id)
        if r is not None:
            time.sleep(min(float(r.get("delay", 0)), MAX_DELAY))
            if r.get("close"):
                self.close_connection = True
                return
            if "status" in r:
                return self.answer(r["status"], r.get("body", ""))
        if self.path.endswith("/sendMessage"):
            with LOCK:
                STATE["message_id"] += 1
                mid = STATE["message_id"]
            return self.answer(200, {"ok": True, "result": {
                "message_id": mid, "chat": {"id": chat_id}, "text": "..."}})
        if self.path.endswith("/getChat"):
            return self.answer(200, {"ok": True, "result": {
                "id": chat_id, "type": "supergroup", "title": "fake"}})
        if self.path.endswith("/getMe"):
            return self.answer(200, {"ok": True, "result": {
                "id": 1, "is_bot": True, "username": "fake_bot"}})
        if self.path.startswith("/api/v4/") and FIXTURES:
            rel = self.path.split("?")[0][len("/api/v4/"):]
            f = os.path.join(FIXTURES, rel + ".json")
            if ".." not in rel and os.path.isfile(f):
                with open(f, "rb") as fh:
                    return self.answer(200, fh.read())
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        return self.answer(404, {"ok": False, "error_code": 404,
                                 "description": "Not Found"})

    do_GET = do_POST = do_PATCH = do_HEAD = handle_any


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(str(server.server_address[1]))
    os.rename(tmp, sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
