#!/usr/bin/env python3
"""The squid case's origin server: GET /obj/N answers "object N\n" (the load
checks every body), anything else 404. usage: origin.py PORT"""
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if not self.path.startswith("/obj/"):
            self.send_error(404)
            return
        body = ("object %s\n" % self.path[5:]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
