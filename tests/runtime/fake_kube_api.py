#!/usr/bin/env python3
"""A scriptable stand-in for the Kubernetes API server, for the agent's watch tests.

Serves LIST (paged with limit/continue) and WATCH (chunked, one JSON event per line, with
BOOKMARKs when asked) of namespaces, pods, nodes and default/endpointslices over plain HTTP
on 127.0.0.1, checking a bearer token read from --token-file on every request. A single
Node can be read (GET /api/v1/nodes/NAME) and patched (PATCH, a JSON merge patch: objects
merge, lists such as spec.taints are replaced whole, null deletes, as the strategic merge
patch `kubectl taint` sends treats the taint list), which makes a MODIFIED event. With
--netns PATH (repeatable) the same server also listens on 127.0.0.1 inside each of those
network namespaces (one agent per simulated node reaches it on its own loopback). Tests
script it through POST /_control with one JSON command:
  {"op": "put", "resource": "pods", "object": {...}}      ADDED or MODIFIED
  {"op": "delete", "resource": "pods", "key": "ns/name"}  DELETED ("silent": true: no
                         event, as if it fell into history the server no longer holds)
  {"op": "bookmark"}     every open watch gets a BOOKMARK at the current resourceVersion
  {"op": "expire"}       history before now is gone: open watches get ERROR 410, and so does
                         any watch from an older resourceVersion
  {"op": "drop"}         open watches are cut without the chunked terminator
  {"op": "down"} / {"op": "up"}   while down, every API request is answered by closing the
                         connection (an outage); "down" also cuts open watches
  {"op": "stats"}        {"lists": {...}, "watches": {...}} counts per resource
  {"op": "patches"}      {"patches": [{"key": "node-3", "patch": {...}, "unix_ms": N}, ...]}
                         every PATCH applied so far, in order
Only for tests: nothing here is Kubernetes code.
"""
import argparse
import ctypes
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PATHS = {
    "/api/v1/namespaces": "namespaces",
    "/api/v1/pods": "pods",
    "/api/v1/nodes": "nodes",
    "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices": "endpointslices",
}


class State:
    def __init__(self):
        self.cond = threading.Condition()
        self.rv = 100
        self.objects = {r: {} for r in PATHS.values()}
        self.events = []  # (rv, resource, type, object)
        self.window = 0  # watches from a resourceVersion below this get 410
        self.bookmarks = 0
        self.cuts = 0  # bumped by drop / down / expire: open watches end
        self.expired = 0
        self.down = False
        self.lists = {r: 0 for r in PATHS.values()}
        self.watches = {r: 0 for r in PATHS.values()}
        self.patches = []  # {"key", "patch", "unix_ms"} per PATCH applied


S = State()


def key_of(obj):
    m = obj.get("metadata", {})
    return (m["namespace"] + "/" if m.get("namespace") else "") + m["name"]


def merge_patch(target, patch):
    """RFC 7386: objects merge key by key, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def store(res, obj):
    """Caller holds S.cond: obj becomes the current version (ADDED or MODIFIED event)."""
    S.rv += 1
    obj.setdefault("metadata", {})["resourceVersion"] = str(S.rv)
    k = key_of(obj)
    typ = "MODIFIED" if k in S.objects[res] else "ADDED"
    S.objects[res][k] = obj
    S.events.append((S.rv, res, typ, obj))


def control(cmd):
    with S.cond:
        op = cmd["op"]
        if op == "put":
            store(cmd["resource"], cmd["object"])
        elif op == "delete":
            res, k = cmd["resource"], cmd["key"]
            obj = S.objects[res].pop(k)
            S.rv += 1
            obj["metadata"]["resourceVersion"] = str(S.rv)
            if not cmd.get("silent"):
                S.events.append((S.rv, res, "DELETED", obj))
        elif op == "bookmark":
            S.bookmarks += 1
        elif op == "expire":
            S.window = S.rv + 1
            S.events = []
            S.expired += 1
        elif op == "drop":
            S.cuts += 1
        elif op == "down":
            S.down = True
            S.cuts += 1
        elif op == "up":
            S.down = False
        elif op == "stats":
            return {"lists": S.lists, "watches": S.watches, "rv": S.rv}
        elif op == "patches":
            return {"patches": S.patches}
        else:
            return {"error": "unknown op " + op}
        S.cond.notify_all()
        return {"rv": S.rv}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, code, doc):
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        if self.path != "/_control":
            return self.send_json(404, {})
        n = int(self.headers.get("Content-Length", "0"))
        self.send_json(200, control(json.loads(self.rfile.read(n))))

    def refused(self):
        """True (and answered) when the request must not be served: outage or bad token."""
        if S.down:
            self.close_connection = True
            return True  # no response at all: the client sees an empty reply
        with open(self.server.token_file) as f:
            token = f.read().strip()
        if self.headers.get("Authorization") != "Bearer " + token:
            self.send_json(401, {"kind": "Status", "code": 401, "message": "Unauthorized"})
            return True
        return False

    def one_node(self, path):
        """The node name of /api/v1/nodes/NAME, else None."""
        prefix = "/api/v1/nodes/"
        name = path[len(prefix):] if path.startswith(prefix) else ""
        return name if name and "/" not in name else None

    def do_PATCH(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        if self.refused():
            return
        name = self.one_node(urlparse(self.path).path)
        if name is None:
            return self.send_json(405, {"kind": "Status", "code": 405})
        ctype = self.headers.get("Content-Type", "")
        if ctype not in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            return self.send_json(415, {"kind": "Status", "code": 415, "message": "unsupported patch type " + ctype})
        patch = json.loads(body)
        with S.cond:
            cur = S.objects["nodes"].get(name)
            if cur is None:
                return self.send_json(404, {"kind": "Status", "code": 404, "message": "nodes \"%s\" not found" % name})
            obj = merge_patch(json.loads(json.dumps(cur)), patch)
            obj["metadata"]["name"] = name
            store("nodes", obj)
            S.patches.append({"key": name, "patch": patch, "unix_ms": int(time.time() * 1000)})
            S.cond.notify_all()
            doc = json.loads(json.dumps(obj))
        self.send_json(200, doc)

    def do_GET(self):
        if self.refused():
            return
        u = urlparse(self.path)
        name = self.one_node(u.path)
        if name is not None:
            with S.cond:
                obj = S.objects["nodes"].get(name)
                doc = json.loads(json.dumps(obj)) if obj else None
            if doc is None:
                return self.send_json(404, {"kind": "Status", "code": 404, "message": "nodes \"%s\" not found" % name})
            return self.send_json(200, doc)
        res = PATHS.get(u.path)
        if res is None:
            return self.send_json(404, {"kind": "Status", "code": 404})
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if q.get("watch") in ("1", "true"):
            return self.watch(res, q)
        with S.cond:
            S.lists[res] += 1
            items = sorted(S.objects[res].values(), key=key_of)
            rv = S.rv
        start = int(q.get("continue", "0") or "0")
        limit = int(q.get("limit", "0") or "0") or len(items)
        page = [dict(o) for o in items[start:start + limit]]
        for o in page:
            o.pop("kind", None)  # list items come without kind, as from the API server
        meta = {"resourceVersion": str(rv)}
        if start + limit < len(items):
            meta["continue"] = str(start + limit)
        self.send_json(200, {"kind": "List", "apiVersion": "v1", "metadata": meta, "items": page})

    def chunk(self, doc):
        data = (json.dumps(doc) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, res, q):
        since = int(q.get("resourceVersion", "0") or "0")
        deadline = time.time() + int(q.get("timeoutSeconds", "300"))
        with S.cond:
            S.watches[res] += 1
            cuts, bookmarks, expired = S.cuts, S.bookmarks, S.expired
            too_old = since and since < S.window - 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            if too_old:
                self.chunk({"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}})
                self.wfile.write(b"0\r\n\r\n")
                return
            pos = since
            while time.time() < deadline:
                with S.cond:
                    S.cond.wait(0.2)
                    if S.cuts != cuts:
                        self.close_connection = True
                        return  # cut: no terminating chunk
                    if S.expired != expired:
                        out = [("ERROR", {"kind": "Status", "code": 410, "reason": "Expired"})]
                    else:
                        out = [(t, o) for (rv, r, t, o) in S.events if r == res and rv > pos]
                        pos = max([pos] + [rv for (rv, r, t, o) in S.events if r == res])
                        if S.bookmarks != bookmarks:
                            bookmarks = S.bookmarks
                            out.append(("BOOKMARK", {"kind": "Bookmark", "metadata": {"resourceVersion": str(S.rv)}}))
                for t, o in out:
                    self.chunk({"type": t, "object": o})
                if out and out[0][0] == "ERROR":
                    break
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients cut connections on purpose (stop, stale watch): not worth a traceback


def in_netns(path, make):
    """Runs make() inside the network namespace at path: a socket keeps the namespace it was
    created in, so the server can listen in several (setns through libc: Python 3.11 has no
    os.setns)."""
    libc = ctypes.CDLL(None, use_errno=True)
    clone_newnet = 0x40000000
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(target, clone_newnet) != 0:
            raise OSError(ctypes.get_errno(), "setns " + path)
        try:
            return make()
        finally:
            if libc.setns(home, clone_newnet) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(home)
        os.close(target)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--netns", action="append", default=[],
                    help="also listen on 127.0.0.1 (same port) inside this network namespace")
    a = ap.parse_args()
    srv = Server(("127.0.0.1", a.port), Handler)
    port = srv.server_address[1]
    servers = [srv] + [in_netns(p, lambda: Server(("127.0.0.1", port), Handler)) for p in a.netns]
    for s in servers:
        s.token_file = a.token_file
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
