"""The bare baseline for bench_events.py: the same stack as `ccbridge serve` and nothing else.

uvicorn + uvloop + httptools + FastAPI/Starlette, one route `POST /api/v2/eventbridge/events` that
reads the body, parses it with orjson and answers 201 with a small JSON ack (no auth, no store), and
`GET /healthz` for readiness. uvicorn is configured as `ccbridge.serve.uvicorn_config` does.

    .venv/bin/python bench/bare_server.py --port 8099
"""

from __future__ import annotations

import argparse

import orjson
import uvicorn
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

app = FastAPI(docs_url=None, redoc_url=None)


@app.post("/api/v2/eventbridge/events", status_code=201)
async def publish(request: Request) -> Response:
    body = orjson.loads(await request.body())
    ack = {"eventType": body.get("eventType"), "accepted": True}
    return Response(orjson.dumps(ack), status_code=201, media_type="application/json")


@app.get("/healthz")
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = uvicorn.Config(
        app,
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
