# A small HTTP/1.1 backend for the haproxy case (harness/haproxy.sh):
# answers every request with 200 and, for a request with a body, the body
# itself; without one, which Content-Length header it received.
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        cl = self.headers.get_all("Content-Length")
        body = b""
        if cl and len(cl) == 1 and cl[0].strip().isdigit():
            body = self.rfile.read(int(cl[0]))
        if not body:
            seen = "none" if cl is None else ",".join("'%s'" % v for v in cl)
            body = ("backend saw content-length %s" % seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = answer
    do_POST = answer

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
