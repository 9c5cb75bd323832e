"""The bare baseline for the HTTP benches: the same stack as `ccbridge serve` and nothing else.

uvicorn + uvloop + httptools serving one route `POST /api/v2/eventbridge/events` that reads the
body, parses it with orjson and answers 201 with a small JSON ack (no auth, no store), and `GET
/healthz` for readiness; uvicorn is configured as `ccbridge.serve.uvicorn_config` does. The route is
a FastAPI one (`--framework fastapi`, bench_events.py's baseline) or a plain Starlette one
(`--framework starlette`, issue 15's baseline: FastAPI's routing is a slower, easier one to beat).
`--server granian` serves the same app with granian (ASGI, one worker, uvloop) for the comparison.

    .venv/bin/python bench/bare_server.py --port 8099 [--framework starlette] [--server granian]
"""

from __future__ import annotations

import argparse

import orjson
import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def publish(request: Request) -> Response:
    body = orjson.loads(await request.body())
    ack = {"eventType": body.get("eventType"), "accepted": True}
    return Response(orjson.dumps(ack), status_code=201, media_type="application/json")


async def healthz(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


def fastapi_app() -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None)
    app.add_api_route("/api/v2/eventbridge/events", publish, methods=["POST"], status_code=201)
    app.add_api_route("/healthz", healthz, methods=["GET"])
    return app


def starlette_app() -> Starlette:
    return Starlette(
        routes=[Route("/api/v2/eventbridge/events", publish, methods=["POST"]), Route("/healthz", healthz)]
    )


APPS = {"fastapi": fastapi_app, "starlette": starlette_app}
app = fastapi_app()  # `bare_server:app` for an ASGI server given a module path (granian)
starlette = starlette_app()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--framework", choices=sorted(APPS), default="fastapi")
    parser.add_argument("--server", choices=["uvicorn", "granian"], default="uvicorn")
    args = parser.parse_args()
    if args.server == "granian":
        from granian import Granian  # type: ignore[import-not-found]

        target = "bare_server:app" if args.framework == "fastapi" else "bare_server:starlette"
        Granian(target, address=args.host, port=args.port, interface="asgi", workers=1, loop="uvloop").serve()
        return
    config = uvicorn.Config(
        APPS[args.framework](),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
