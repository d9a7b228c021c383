"""Loopback HTTP servers answering like GitHub, Notion and the web scrapers (documented shapes).

Each runs Werkzeug in a thread on 127.0.0.1; tests change their state (files, tokens, faults) directly.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class LoopbackServer:
    def __init__(self):
        self.requests: list[dict] = []
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        self.requests.append({"method": request.method, "path": request.path, "headers": dict(request.headers),
                              "args": request.args.to_dict(), "body": request.get_data(as_text=True)})
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:  # pragma: no cover - overridden
        return Response(status=404)


def _json(data, status=200, headers=None):
    return Response(json.dumps(data), status=status, mimetype="application/json", headers=headers or {})


def git_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeGithub(LoopbackServer):
    """GET /repos/{o}/{n}/git/trees/{branch}?recursive=true and GET /repos/{o}/{n}/git/blobs/{sha}.

    Faults: `fail_blobs_after` (serve that many blobs, then 500), `rate_limit` (requests left; the
    header counts down and 403 "API rate limit exceeded" follows), `blob_delay` seconds per blob,
    `hold_tree` (an Event the tree request waits for)."""

    def __init__(self):
        self.repos: dict[tuple[str, str, str], dict[str, bytes]] = {}
        self.tokens: set[str] = set()
        self.fail_blobs_after: int | None = None
        self.rate_limit: int | None = None
        self.blob_delay = 0.0
        self.hold_tree: threading.Event | None = None
        self.tree_requests = threading.Event()
        self.blobs_served = 0
        self._lock = threading.Lock()
        super().__init__()

    def handle(self, request):
        token = request.headers.get("Authorization", "")
        if not token.startswith("token ") or token[6:] not in self.tokens:
            return _json({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, 401)
        headers = {}
        if self.rate_limit is not None:
            with self._lock:
                if self.rate_limit <= 0:
                    return _json({"message": "API rate limit exceeded for user."}, 403,
                                 {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 3600)})
                self.rate_limit -= 1
                headers = {"X-RateLimit-Remaining": str(self.rate_limit), "X-RateLimit-Limit": "5000",
                           "X-RateLimit-Reset": str(int(time.time()) + 3600)}
        parts = request.path.strip("/").split("/")
        if len(parts) >= 6 and parts[0] == "repos" and parts[3] == "git":
            owner, name, kind, ref = parts[1], parts[2], parts[4], "/".join(parts[5:])
            if kind == "trees":
                self.tree_requests.set()
                if self.hold_tree is not None:
                    self.hold_tree.wait(30)
                files = self.repos.get((owner, name, ref))
                if files is None:
                    return _json({"message": "Not Found"}, 404, headers)
                return _json(self._tree(owner, name, files, request.args.get("recursive") == "true"), 200, headers)
            if kind == "blobs":
                for (o, n, _), files in self.repos.items():
                    if (o, n) != (owner, name):
                        continue
                    for data in files.values():
                        if git_sha(data) == ref:
                            return self._blob(request, data, headers)
                return _json({"message": "Not Found"}, 404, headers)
        return _json({"message": "Not Found"}, 404, headers)

    def _blob(self, request, data, headers):
        with self._lock:
            if self.fail_blobs_after is not None and self.blobs_served >= self.fail_blobs_after:
                return _json({"message": "Server Error"}, 500, headers)
            self.blobs_served += 1
        if self.blob_delay:
            time.sleep(self.blob_delay)
        if request.headers.get("Accept") != "application/vnd.github.v3.raw":
            return _json({"message": "raw only in this fake"}, 415, headers)
        return Response(data, mimetype="application/octet-stream", headers=headers)

    def _tree(self, owner, name, files, recursive):
        tree, folders = [], set()
        for path, data in sorted(files.items()):
            parts = path.split("/")
            for i in range(1, len(parts)):
                folders.add("/".join(parts[:i]))
            sha = git_sha(data)
            tree.append({"path": path, "mode": "100644", "type": "blob", "sha": sha, "size": len(data),
                         "url": f"{self.url}/repos/{owner}/{name}/git/blobs/{sha}"})
        tree += [{"path": f, "mode": "040000", "type": "tree", "sha": hashlib.sha1(f.encode()).hexdigest(),
                  "url": f"{self.url}/repos/{owner}/{name}/git/trees/x"} for f in sorted(folders)]
        if not recursive:
            tree = [t for t in tree if "/" not in t["path"]]
        return {"sha": "0" * 40, "url": f"{self.url}/repos/{owner}/{name}/git/trees/x", "tree": tree,
                "truncated": False}


class FakeNotion(LoopbackServer):
    """POST /v1/search, GET /v1/pages/{id}, GET /v1/blocks/{id}/children — two results per page of
    answers so pagination cursors are exercised."""

    PAGE = 2

    def __init__(self):
        self.tokens: set[str] = set()
        self.pages: dict[str, dict] = {}      # id -> {"title", "blocks": [block ...]}
        self.databases: dict[str, str] = {}   # id -> title
        self.fail_status: int | None = None
        super().__init__()

    def handle(self, request):
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return _json({"object": "error", "status": 401, "code": "unauthorized",
                          "message": "API token is invalid."}, 401)
        if not request.headers.get("Notion-Version"):
            return _json({"object": "error", "status": 400, "code": "missing_version"}, 400)
        if self.fail_status:
            return _json({"object": "error", "status": self.fail_status}, self.fail_status)
        path = request.path
        if path == "/v1/search" and request.method == "POST":
            body = request.get_json()
            items = [self._page_obj(pid) for pid in self.pages] + [
                {"object": "database", "id": did, "title": [{"plain_text": title}]}
                for did, title in self.databases.items()]
            return self._paginate(items, body.get("start_cursor"))
        if path.startswith("/v1/pages/"):
            pid = path.rsplit("/", 1)[1]
            if pid not in self.pages:
                return _json({"object": "error", "status": 404, "code": "object_not_found"}, 404)
            return _json(self._page_obj(pid))
        if path.startswith("/v1/blocks/") and path.endswith("/children"):
            bid = path.split("/")[3]
            children = self._children(bid)
            if children is None:
                return _json({"object": "error", "status": 404, "code": "object_not_found"}, 404)
            return self._paginate(children, request.args.get("start_cursor"))
        return _json({"object": "error", "status": 404}, 404)

    def _page_obj(self, pid):
        return {"object": "page", "id": pid, "url": f"https://www.notion.so/Page-{pid.replace('-', '')}",
                "properties": {"Name": {"id": "title", "type": "title",
                                        "title": [{"plain_text": self.pages[pid]["title"]}]}}}

    def _children(self, bid):
        if bid in self.pages:
            return [self._strip(b) for b in self.pages[bid]["blocks"]]
        def find(blocks):
            for b in blocks:
                if b["id"] == bid:
                    return [self._strip(c) for c in b.get("children", [])]
                found = find(b.get("children", []))
                if found is not None:
                    return found
            return None
        for page in self.pages.values():
            found = find(page["blocks"])
            if found is not None:
                return found
        return None

    @staticmethod
    def _strip(block):
        kind = block["type"]
        return {"object": "block", "id": block["id"], "type": kind, "has_children": bool(block.get("children")),
                kind: {"rich_text": [{"type": "text", "plain_text": block["text"]}]}}

    def _paginate(self, items, cursor):
        start = int(cursor) if cursor else 0
        chunk = items[start:start + self.PAGE]
        more = start + self.PAGE < len(items)
        return _json({"object": "list", "results": chunk, "has_more": more,
                      "next_cursor": str(start + self.PAGE) if more else None})


def block(bid, text, kind="paragraph", children=None):
    return {"id": bid, "type": kind, "text": text, "children": children or []}


class FakeScrapers(LoopbackServer):
    """Firecrawl (/firecrawl/v2/scrape), Olostep (/olostep), Exa (/exa/contents), Jina (/jina/<url>)
    and plain pages (/pages/<name>) on one server. `down` holds the names answering 500."""

    def __init__(self):
        self.down: set[str] = set()
        self.keys = {"firecrawl": "fc-key", "olostep": "ol-key", "exa": "exa-key"}
        self.pages = {"article.html": ("text/html", "<html><head><title>Loopback article</title>"
                                       "<style>p{}</style></head><body><h1>Gardening</h1>"
                                       "<p>Tomatoes like sun &amp; water.</p><script>x()</script></body></html>")}
        super().__init__()

    def handle(self, request):
        path = request.path
        name = path.strip("/").split("/")[0]
        if name in self.down:
            return _json({"error": "down"}, 500)
        auth = request.headers.get("Authorization", "")
        if path == "/firecrawl/v2/scrape":
            if auth != f"Bearer {self.keys['firecrawl']}":
                return _json({"success": False}, 401)
            body = request.get_json()
            return _json({"success": True, "data": {"markdown": f"# Firecrawled\n\nContent of {body['url']}",
                                                    "metadata": {"title": "Firecrawl title"}}})
        if path == "/olostep":
            if auth != f"Bearer {self.keys['olostep']}":
                return _json({}, 401)
            return _json({"markdown_content": f"Olostep content of {request.args['url']}"})
        if path == "/exa/contents":
            if request.headers.get("x-api-key") != self.keys["exa"]:
                return _json({}, 401)
            body = request.get_json()
            return _json({"results": [{"url": body["urls"][0], "title": "Exa title",
                                       "text": f"Exa text of {body['urls'][0]}"}]})
        if path.startswith("/jina/"):
            return Response(f"Title: Jina title\n\nJina markdown of {path[len('/jina/'):]}", mimetype="text/plain")
        if path.startswith("/pages/"):
            page = self.pages.get(path[len("/pages/"):])
            if page is None:
                return Response("missing", status=404)
            return Response(page[1], mimetype=page[0])
        if path == "/redirect-to-private":
            return Response(status=302, headers={"Location": "http://127.0.0.1:9/secret"})
        return Response("not found", status=404)
