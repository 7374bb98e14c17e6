"""The local web app: the page, its static files and the JSON API, on Starlette.

Routes: `GET /` the page; `GET /static/…` its scripts, styles and the vendored
KaTeX; `POST /api/derive` a derivation (the schema-1 document plus the page's
layout and the other formats) or 400 with the one-line error; `GET
/api/examples` the gallery; `GET /api/health`. Every response carries a
Content-Security-Policy that allows nothing but this server's own scripts
(no inline event handlers, no remote loads); bodies above `MAX_BODY` bytes
are refused before they are read; only JSON is accepted, so a form on another
site cannot post here; the Host header must name this machine (DNS
rebinding) unless the server is bound elsewhere on purpose.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .examples import examples_document
from .pool import Busy, DerivePool
from .request import RequestError, parse_request

STATIC = Path(__file__).resolve().parent / "static"
#: a request body above this is refused unread (the parser's own limit is 50 000 characters of text)
MAX_BODY = 2 * 1024 * 1024
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; "
       "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {"content-security-policy": CSP, "x-content-type-options": "nosniff",
                    "referrer-policy": "no-referrer", "x-frame-options": "DENY",
                    "cross-origin-opener-policy": "same-origin", "cross-origin-resource-policy": "same-origin"}
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


class _TooLarge(Exception):
    pass


def _error(message: str, status: int, field: str = "text") -> JSONResponse:
    return JSONResponse({"error": message, "field": field, "column": None, "caret": None,
                         "exit_status": 2}, status_code=status)


async def _body(request: Request) -> bytes:
    """The request body, refused as soon as it passes `MAX_BODY` (the declared length is not trusted)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise _TooLarge()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise _TooLarge()
    return bytes(body)


class SecurityHeaders:
    """Pure ASGI middleware: the security headers on every response (errors and static files too)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.decode("latin-1").lower() not in SECURITY_HEADERS]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(pool: DerivePool | None = None, allowed_hosts: Sequence[str] | None = LOCAL_HOSTS) -> Starlette:
    """The app; `allowed_hosts=None` accepts any Host header (only for a server bound beyond localhost)."""
    pool = pool or DerivePool()

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    async def derive_endpoint(request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return _error("send the request as JSON (Content-Type: application/json)", 415)
        try:
            raw = await _body(request)
        except _TooLarge:
            return _error(f"the request is larger than {MAX_BODY} bytes", 413)
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _error("the request is not valid JSON", 400)
        try:
            question = parse_request(body)
        except RequestError as exc:
            return _error(" ".join(str(exc).split()), 400, exc.field)
        try:
            status, text = await pool.derive(question)
        except Busy:
            return _error("the server is busy; try again in a moment", 503)
        return Response(text, status_code=status, media_type="application/json")

    async def examples(request: Request) -> Response:
        return JSONResponse(examples_document())

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes = [
        Route("/", page),
        Route("/api/derive", derive_endpoint, methods=["POST"]),
        Route("/api/examples", examples),
        Route("/api/health", health),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(SecurityHeaders)]
    if allowed_hosts is not None:
        hosts = [h.strip("[]") for h in allowed_hosts] + list(allowed_hosts)
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=sorted(set(hosts))))
    return Starlette(routes=routes, middleware=middleware)


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 2, timeout: float = 20.0) -> None:
    """`derive serve`: warm the imports, then run uvicorn until interrupted."""
    import uvicorn

    from .pool import warm_up

    warm_up()
    local = host in LOCAL_HOSTS
    app = create_app(DerivePool(workers=workers, timeout=timeout), allowed_hosts=LOCAL_HOSTS if local else None)
    print(f"matcalc-sym: open http://{'localhost' if local else host}:{port}/  (Ctrl-C stops the server)",
          flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", limit_concurrency=200)
