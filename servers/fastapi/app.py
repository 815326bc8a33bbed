"""The matrix contract on FastAPI, served by an ASGI server (run.sh).

GET / answers "Hello, World!" as text/plain, GET /json answers
{"message":"Hello, World!"} as application/json, POST /upload reads the
whole body and answers its length in bytes.
"""

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

app = FastAPI()


@app.get("/", response_class=PlainTextResponse)
async def hello() -> str:
    return "Hello, World!"


@app.get("/json")
async def json() -> dict:
    # Serialised per request by FastAPI's JSONResponse, which writes no
    # spaces between tokens: {"message":"Hello, World!"}.
    return {"message": "Hello, World!"}


@app.post("/upload", response_class=PlainTextResponse)
async def upload(request: Request) -> str:
    # Count the body as the ASGI server hands it over, chunk by chunk:
    # every byte is read, none is kept.
    n = 0
    async for chunk in request.stream():
        n += len(chunk)
    return str(n)
