"""The matrix contract as a plain WSGI application (PEP 3333) for gunicorn.

GET / answers "Hello, World!" as text/plain, GET /json answers
{"message":"Hello, World!"} as application/json, POST /upload reads the
whole body and answers its length in bytes. No framework: the column
measures gunicorn itself.
"""

import json

HELLO = b"Hello, World!"


def app(environ, start_response):
    method = environ["REQUEST_METHOD"]
    path = environ["PATH_INFO"]
    if path == "/" and method == "GET":
        return respond(start_response, "200 OK", "text/plain", HELLO)
    if path == "/json" and method == "GET":
        # Serialised per request, as a real handler would, without spaces.
        body = json.dumps({"message": "Hello, World!"}, separators=(",", ":"))
        return respond(start_response, "200 OK", "application/json", body.encode())
    if path == "/upload" and method == "POST":
        # gunicorn's wsgi.input ends at the body's end (Content-Length or
        # the last chunk): read it all, in 64 KiB pieces, keeping none.
        body = environ["wsgi.input"]
        n = 0
        while True:
            chunk = body.read(65536)
            if not chunk:
                break
            n += len(chunk)
        return respond(start_response, "200 OK", "text/plain", str(n).encode())
    return respond(start_response, "404 Not Found", "text/plain", b"not found\n")


def respond(start_response, status, ctype, body):
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]
