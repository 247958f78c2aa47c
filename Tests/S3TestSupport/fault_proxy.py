"""A fault-injecting HTTP proxy between chainvault and moto_server, for the tests.

usage: python3 fault_proxy.py PARENT_PID UPSTREAM_PORT SEED FAULT_RATE

Listens on a free port of 127.0.0.1 (printed as one line) and forwards each request to the
upstream unchanged (Host included, so signatures still match). With probability FAULT_RATE a
request meets one fault, chosen by a seeded random generator:
  - 503 SlowDown or 500 InternalError without forwarding,
  - forwarded, then the response cut off mid-body and the connection closed,
  - forwarded after a delay of 0.3 s.
Writing 'down' to stdin makes every request fail (connection closed) until 'up'.
Counts of each fault are printed on stderr when the proxy stops.
"""
import http.client, os, random, socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parent, upstream, seed, rate = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
rng = random.Random(seed)
lock = threading.Lock()
counts = {"forwarded": 0, "503": 0, "500": 0, "cut": 0, "delay": 0, "down": 0}
state = {"down": False}


def choose():
    with lock:
        if state["down"]:
            counts["down"] += 1
            return "down"
        if rng.random() >= rate:
            counts["forwarded"] += 1
            return "ok"
        fault = rng.choice(["503", "500", "cut", "delay"])
        counts[fault] += 1
        return fault


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_one(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        fault = choose()
        if fault == "down":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault in ("503", "500"):
            code, text = ("SlowDown", "Please reduce your request rate.") if fault == "503" else ("InternalError", "We encountered an internal error.")
            payload = f"<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>{text}</Message></Error>".encode()
            self.send_response(int(fault))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        if fault == "delay":
            time.sleep(0.3)
        conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items()}
        conn.request(self.command, self.path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        self.send_response(response.status)
        for k, v in response.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if fault == "cut" and len(data) > 1:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one


server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
server.daemon_threads = True
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()


def commands():
    for line in sys.stdin:
        with lock:
            state["down"] = line.strip() == "down"


threading.Thread(target=commands, daemon=True).start()
while os.getppid() == parent:
    time.sleep(0.5)
print(counts, file=sys.stderr)
