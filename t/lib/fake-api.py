#!/usr/bin/env python3
"""A fake Telegram Bot API and AmoCRM API for the tests, speaking real HTTP.

    fake-api.py PORTFILE [FIXTURES_DIR]

Listens on 127.0.0.1 (a free port, written to PORTFILE), records every
request, and answers:
  POST .../bot<TOKEN>/sendMessage   {"ok":true,"result":{"message_id":N}}
  POST .../bot<TOKEN>/editMessageText {"ok":true,"result":{"message_id":N}}
  GET  /api/v4/leads/<id>, /api/v4/contacts/<id>
                                    FIXTURES_DIR/leads/<id>.json, or 204
  and, once a test set an account with POST /_control/amocrm, that
  account's state: GET /api/v4/leads?filter[...] (ids, statuses, updated_at
  from; pages of "page_size", _links.next while more), /api/v4/leads/<id>
  and /api/v4/webhooks,
unless the test scripted something else through the control endpoints:
  POST /_control/queue    {"match": "sendMessage", "responses": [R, ...]}
                          answers for the next matching requests, in order
  POST /_control/default  {"match": "...", "response": R}  (null: clear)
  GET  /_control/requests the requests so far, as a JSON list
  POST /_control/release  {"name": "..."}: lets the requests held under
                          that name go on (R's "hold")
  GET  /_control/held     {"name": n}: how many requests each name holds
  POST /_control/reset
  POST /_control/amocrm   {"leads": {id: lead}, "hooks": [...], "page_size": N}
                          replaces the account's state (each key given);
                          {"lead": lead} adds or replaces one lead (a
                          deleted one comes back: a lead_restored event),
                          {"delete": id} removes one (a lead_deleted event;
                          with "silent": true none, as when the token's
                          user cannot see it),
                          {"misbehave": {...}} makes the account's list
                          answers lie the ways a real one can:
                            "by_id": "204" | "empty" | "short" (half the
                              ids, no next link) | "ok"
                            "hide": [ids] left out of every list
                            "nostatus": [ids] without status_id and
                              pipeline_id in every answer
  GET /api/v4/events?filter[entity_id][]=..&filter[type][]=..
                          the account's lead_deleted / lead_restored events
  POST /_control/facebook {"accounts": {"act_1": {"currency": "USD",
                          "rows": [{"date_start", "campaign_id",
                          "campaign_name", "spend", ...}]}}, "page_size": N,
                          "throttle": N (answer the next N insights
                          requests 429 and code 80004, or "throttle_code"
                          with 400), "expired": bool
                          (every request: code 190)}
  GET  /v21.0/act_ID/insights?...time_range={"since","until"}&after=K
                          the account's rows of those days, a page at a
                          time, paging.next carrying an access_token (a
                          request whose URL holds one is refused: the
                          token belongs in the Authorization header)
  POST /_control/rates    {"DD.MM.YYYY": {"USD": ["474.2", 1]}, ...}
  GET  /rss/get_rates.cfm?fdate=DD.MM.YYYY
                          the NBK's XML of that day; a day not given has
                          no items (a weekend)
where R is {"status": 429, "body": {...} or "text", "delay": seconds,
"headers": {"Retry-After": 2},
"chat_id": only for this chat, "close": true to drop the connection,
"hold": "name" to keep the request open (in flight) until a release of
that name, at most MAX_DELAY seconds, then answer it as R says}.
"match" is a substring of the request path.  Every delay is bounded.
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

LOCK = threading.Lock()
STATE = {"requests": [], "queues": [], "defaults": {}, "message_id": 0,
         "amo": None, "gates": {}, "held": {}, "fb": None, "rates": {}}
FIXTURES = sys.argv[2] if len(sys.argv) > 2 else None
MAX_DELAY = 30


def gate(name):
    """The event a held request waits on (callers hold LOCK)."""
    return STATE["gates"].setdefault(name, threading.Event())


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

    def answer(self, status, body, headers=None):
        data = body if isinstance(body, bytes) else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode())
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
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
        if path == "/_control/held":
            with LOCK:
                return self.answer(200, STATE["held"])
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
            elif path == "/_control/facebook":
                fb = STATE["fb"] or {"accounts": {}, "page_size": 100,
                                     "throttle": 0, "expired": False}
                fb.update(req)
                STATE["fb"] = fb
            elif path == "/_control/rates":
                STATE["rates"].update(req)
            elif path == "/_control/release":
                gate(req["name"]).set()
            elif path == "/_control/reset":
                STATE.update(requests=[], queues=[], defaults={})
            elif path == "/_control/amocrm":
                amo = STATE["amo"] or {"leads": {}, "hooks": [],
                                       "page_size": 250}
                if "leads" in req:
                    amo["leads"] = {str(k): v for k, v in req["leads"].items()}
                if "hooks" in req:
                    amo["hooks"] = req["hooks"]
                if "page_size" in req:
                    amo["page_size"] = int(req["page_size"])
                amo.setdefault("events", [])
                amo.setdefault("misbehave", {})
                amo.setdefault("gone", [])
                if "misbehave" in req:
                    amo["misbehave"] = req["misbehave"] or {}
                if "lead" in req:
                    lid = str(req["lead"]["id"])
                    if lid in amo["gone"]:
                        amo["gone"].remove(lid)
                        amo["events"].append({
                            "type": "lead_restored", "entity_id": int(lid),
                            "entity_type": "lead",
                            "created_at": int(req.get("at", time.time()))})
                    amo["leads"][lid] = req["lead"]
                if "delete" in req:
                    lid = str(req["delete"])
                    amo["leads"].pop(lid, None)
                    if not req.get("silent"):
                        amo["gone"].append(lid)
                        amo["events"].append({
                            "type": "lead_deleted", "entity_id": int(lid),
                            "entity_type": "lead",
                            "created_at": int(req.get("at", time.time()))})
                STATE["amo"] = amo
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
        if r is not None and r.get("hold"):
            name = r["hold"]
            with LOCK:
                g = gate(name)
                STATE["held"][name] = STATE["held"].get(name, 0) + 1
            g.wait(MAX_DELAY)
            with LOCK:
                STATE["held"][name] -= 1
        if r is not None:
            time.sleep(min(float(r.get("delay", 0)), MAX_DELAY))
            if r.get("close"):
                self.close_connection = True
                return
            if "status" in r:
                return self.answer(r["status"], r.get("body", ""),
                                   r.get("headers"))
        if self.path.endswith("/sendMessage"):
            with LOCK:
                STATE["message_id"] += 1
                mid = STATE["message_id"]
            return self.answer(200, {"ok": True, "result": {
                "message_id": mid, "chat": {"id": chat_id}, "text": "..."}})
        if self.path.endswith("/editMessageText"):
            return self.answer(200, {"ok": True, "result": {
                "message_id": doc.get("message_id") if doc else None,
                "chat": {"id": chat_id}, "text": "..."}})
        if "/insights" in self.path and STATE["fb"] is not None:
            return self.insights()
        if self.path.startswith("/rss/get_rates.cfm"):
            return self.rates()
        if self.path.startswith("/api/v4/") and STATE["amo"] is not None:
            r = self.account()
            if r is not None:
                status, body = r
                if status == 204:
                    self.send_response(204)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                return self.answer(status, body)
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

    def insights(self):
        """The Graph API's insights of one ad account, paged."""
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        act = url.path.rstrip("/").split("/")[-2]
        with LOCK:
            fb = STATE["fb"]
            if "access_token" in q:
                return self.answer(400, {"error": {
                    "message": "token in the URL", "code": 999}})
            if fb.get("expired"):
                return self.answer(400, {"error": {
                    "message": "Error validating access token: Session has "
                               "expired", "type": "OAuthException",
                    "code": 190, "error_subcode": 463}})
            if fb.get("throttle", 0) > 0:
                fb["throttle"] -= 1
                usage = json.dumps({act: [{
                    "type": "ads_insights", "call_count": 100,
                    "estimated_time_to_regain_access": 0}]})
                code = fb.get("throttle_code", 80004)
                return self.answer(429 if code == 80004 else 400, {"error": {
                    "message": "User request limit reached",
                    "code": code}}, {"x-business-use-case-usage": usage,
                                     "Retry-After": "1"})
            account = fb["accounts"].get(act)
            if account is None:
                return self.answer(400, {"error": {
                    "message": "Unsupported get request. Object with ID "
                               "'%s' does not exist" % act,
                    "type": "GraphMethodException", "code": 100}})
            tr = json.loads(q.get("time_range", "{}"))
            rows = [dict(r, account_currency=account["currency"])
                    for r in account["rows"]
                    if tr.get("since", "") <= r["date_start"]
                    <= tr.get("until", "9999")]
            size = int(fb.get("page_size", 100))
        after = int(q.get("after", 0))
        page = rows[after:after + size]
        body = {"data": page, "paging": {"cursors": {"after": str(after)}}}
        if after + size < len(rows):
            q["after"] = str(after + size)
            q["access_token"] = "LEAKED-IF-FOLLOWED"
            body["paging"]["next"] = "http://%s%s?%s" % (
                self.headers.get("Host"), url.path, urlencode(q))
        return self.answer(200, body)

    def rates(self):
        """The NBK's XML rates of a day."""
        day = parse_qs(urlsplit(self.path).query).get("fdate", [""])[0]
        with LOCK:
            cur = STATE["rates"].get(day, {})
        items = "".join(
            "<item><fullname>%s</fullname><title>%s</title><description>%s"
            "</description><quant>%d</quant><index>UP</index><change>+0.1"
            "</change></item>" % (c, c, v[0], v[1])
            for c, v in sorted(cur.items()))
        xml = ('<?xml version="1.0" encoding="utf-8"?><rates><generator>'
               'fake</generator><title>Official exchange rates</title>'
               '<date>%s</date>%s</rates>' % (day, items))
        data = xml.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def account(self):
        """The account's answer to an API request, or None (fixtures)."""
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        with LOCK:
            amo = json.loads(json.dumps(STATE["amo"]))
        if url.path == "/api/v4/webhooks":
            return 200, {"_embedded": {"webhooks": amo["hooks"]}}
        bad = amo.get("misbehave") or {}
        nostatus = {str(i) for i in bad.get("nostatus", [])}
        hidden = {str(i) for i in bad.get("hide", [])}

        def shown(lead):
            if str(lead["id"]) in nostatus:
                lead = {k: v for k, v in lead.items()
                        if k not in ("status_id", "pipeline_id")}
            return lead
        if url.path == "/api/v4/events":
            ids = {int(i) for i in q.get("filter[entity_id][]", [])}
            types = set(q.get("filter[type][]", []))
            evs = [e for e in amo.get("events", [])
                   if (not ids or e["entity_id"] in ids)
                   and (not types or e["type"] in types)]
            size = min(int(q.get("limit", ["100"])[0]), amo["page_size"])
            page = int(q.get("page", ["1"])[0])
            chunk = evs[(page - 1) * size:page * size]
            if not chunk:
                return 204, None
            links = {"self": {"href": self.path}}
            if page * size < len(evs):
                links["next"] = {"href": "/api/v4/events?page=%d" % (page + 1)}
            return 200, {"_page": page, "_links": links,
                         "_embedded": {"events": chunk}}
        if url.path.startswith("/api/v4/leads/"):
            lead = amo["leads"].get(url.path.rsplit("/", 1)[1])
            return (200, shown(lead)) if lead else (204, None)
        if url.path != "/api/v4/leads":
            return None
        leads = sorted(amo["leads"].values(), key=lambda l: int(l["id"]))
        leads = [l for l in leads if str(l["id"]) not in hidden]
        ids = q.get("filter[id][]")
        if ids:
            mode = bad.get("by_id", "ok")
            if mode == "204":
                return 204, None
            if mode == "empty":
                return 200, {"_page": 1, "_links": {"self": {
                    "href": self.path}}, "_embedded": {"leads": []}}
            leads = [l for l in leads if str(l["id"]) in ids]
            if mode == "short":
                leads = leads[:len(leads) // 2]
        pipe = q.get("filter[statuses][0][pipeline_id]")
        stat = q.get("filter[statuses][0][status_id]")
        if pipe and stat:
            leads = [l for l in leads if str(l.get("pipeline_id")) == pipe[0]
                     and str(l.get("status_id")) == stat[0]]
        since = q.get("filter[updated_at][from]")
        if since:
            leads = [l for l in leads if int(l.get("updated_at", 0))
                     >= int(since[0])]
        size = min(int(q.get("limit", ["250"])[0]), amo["page_size"])
        page = int(q.get("page", ["1"])[0])
        chunk = [shown(l) for l in leads[(page - 1) * size:page * size]]
        if not chunk:
            return 204, None
        links = {"self": {"href": self.path}}
        if page * size < len(leads):
            links["next"] = {"href": "/api/v4/leads?page=%d" % (page + 1)}
        return 200, {"_page": page, "_links": links,
                     "_embedded": {"leads": chunk}}

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
