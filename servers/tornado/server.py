"""The matrix contract on Tornado's HTTP server, one process per CPU.

GET / answers "Hello, World!" as text/plain, GET /json answers
{"message":"Hello, World!"} as application/json, POST /upload reads the
whole body and answers its length in bytes. It listens on $HOST:$PORT
(HOST empty: every interface); "server.py -version" prints
"tornado <version>".
"""

import json
import os
import signal
import sys

import tornado
import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.process
import tornado.web


class Hello(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", "text/plain")
        self.finish(b"Hello, World!")


class Json(tornado.web.RequestHandler):
    def get(self):
        # Serialised per request, as a real handler would, without spaces.
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": "Hello, World!"}, separators=(",", ":")))


class Upload(tornado.web.RequestHandler):
    def post(self):
        # Tornado has read the whole body (up to max_body_size, 100 MB by
        # default) before calling the handler.
        self.set_header("Content-Type", "text/plain")
        self.finish(str(len(self.request.body)))


def main():
    if "-version" in sys.argv[1:] or "--version" in sys.argv[1:]:
        print("tornado", tornado.version)
        return
    port = int(os.environ["PORT"])
    host = os.environ.get("HOST") or None
    workers = int(os.environ.get("TORNADO_WORKERS") or len(os.sched_getaffinity(0)))
    sockets = tornado.netutil.bind_sockets(port, host)
    print(f"tornado {tornado.version} on {host or '*'}:{port}, {workers} processes", file=sys.stderr)
    # Tornado's own multi-process mode: one process per CPU, each with its
    # event loop, all accepting on the sockets bound above. The parent only
    # waits for its children (and restarts one that dies); on SIGTERM it
    # ends them and exits.
    parent = os.getpid()
    signal.signal(signal.SIGTERM, lambda *_: stop(parent))
    tornado.process.fork_processes(workers)
    # A child: SIGTERM ends it at once (nothing to drain for this app).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    app = tornado.web.Application([(r"/", Hello), (r"/json", Json), (r"/upload", Upload)])
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    tornado.ioloop.IOLoop.current().start()


def stop(parent):
    # The parent's SIGTERM handler: it ends its children, found by their
    # parent in /proc (fork_processes keeps their ids to itself), then
    # exits. A child that got SIGTERM before resetting the handler exits.
    if os.getpid() != parent:
        os._exit(0)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for pid in children(parent):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    os._exit(0)


def children(parent):
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            pids.append(int(name))
    return pids


if __name__ == "__main__":
    main()
