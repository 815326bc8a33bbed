"""The matrix contract on aiohttp's web server, run by gunicorn's arbiter
with aiohttp's own worker class (run.sh).

GET / answers "Hello, World!" as text/plain, GET /json answers
{"message":"Hello, World!"} as application/json, POST /upload reads the
whole body and answers its length in bytes.
"""

import json

from aiohttp import web

HELLO = b"Hello, World!"


async def hello(request):
    return web.Response(body=HELLO, content_type="text/plain")


async def hello_json(request):
    # Serialised per request, as a real handler would, without spaces.
    body = json.dumps({"message": "Hello, World!"}, separators=(",", ":"))
    return web.Response(text=body, content_type="application/json")


async def upload(request):
    # Count the body chunk by chunk as it arrives: every byte is read,
    # none is kept.
    n = 0
    async for chunk in request.content.iter_any():
        n += len(chunk)
    return web.Response(text=str(n), content_type="text/plain")


async def app():
    a = web.Application()
    a.router.add_get("/", hello)
    a.router.add_get("/json", hello_json)
    a.router.add_post("/upload", upload)
    return a
