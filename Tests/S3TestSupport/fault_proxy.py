"""A fault-injecting HTTP proxy between chainvault and moto_server, for the tests.

usage: python3 fault_proxy.py PARENT_PID UPSTREAM_PORT SEED FAULT_RATE [MODE [CERT KEY]]

Listens on a free port of 127.0.0.1 (printed as one line) and forwards each request to the
upstream unchanged (Host included, so signatures still match). With probability FAULT_RATE a
request meets one fault, chosen by a seeded random generator:
  - 503 SlowDown or 500 InternalError without forwarding,
  - forwarded, then the response cut off mid-body and the connection closed,
  - forwarded after a delay of 0.3 s.
With MODE `reset-uploads` the only fault is different: each PUT with a body is read up to a
random offset of that body and then its connection is reset (RST), once or twice per object key
(the number drawn per key), so that a client must send the whole body again from its first byte.
With CERT and KEY (PEM files) the proxy speaks TLS to its clients (plain HTTP to the upstream):
a TLS-terminating front for moto.
Commands on stdin, one a line, each answered with one line 'ok' on stdout once it applies:
  down / up               every request fails (connection closed) until 'up'
  truncate-list           ListObjectsV2 answers lose their second half of keys and say
                          IsTruncated=true with no NextContinuationToken
  repeat-token            ListObjectsV2 answers say IsTruncated=true with the same token each
                          time; a request with that token gets the first page again
  fail SUBSTRING          every request whose path contains SUBSTRING gets 503 SlowDown
  flip-once SUBSTRING     the next GET whose path contains SUBSTRING gets one bit of its body
                          flipped (once)
  flip-connection SUBSTRING
                          the connection that carries the next GET whose path contains SUBSTRING
                          goes bad: every GET of such a path on it gets the same bit flipped (a
                          middlebox or connection state that damages what one connection carries)
  flip-after N SUBSTRING  like flip-once, but the first N matching GETs pass unchanged
  flip-always SUBSTRING   every GET whose path contains SUBSTRING gets one bit flipped (damage
                          that every read sees, as stored damage is)
  gets                    answered with every GET so far as one JSON line: a list of
                          [path, range, connection number, flipped]
  clear                   all of the above off
  counts                  answered with the counts of each fault as one JSON line instead
Counts of each fault are also printed on stderr when the proxy stops.
"""
import http.client, json, os, random, re, socket, ssl, struct, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parent, upstream, seed, rate = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
mode = sys.argv[5] if len(sys.argv) > 5 else "mixed"
rng = random.Random(seed)
lock = threading.Lock()
counts = {"forwarded": 0, "503": 0, "500": 0, "cut": 0, "delay": 0, "down": 0, "reset": 0}
state = {"down": False, "truncate": False, "repeat": False, "fail": None, "flip": None, "page": None,
         "flip_connection": None, "bad_connection": None, "flip_always": None, "flip_after": None}
gets = []  # [path, range, connection, flipped] of every GET, for tests that look at connections
connections = [0]  # connections accepted so far; each handler (one per connection) takes the next number
REPEATED = "chainvault-test-repeated-token"
resets_left = {}  # object path -> resets still to do (reset-uploads mode)


def reset_offset(path, length):
    """In reset-uploads mode: the body offset at which to reset this PUT, or None to forward it."""
    with lock:
        if mode != "reset-uploads" or length == 0:
            return None
        left = resets_left.setdefault(path, rng.choice([1, 2]))
        if left == 0:
            return None
        resets_left[path] = left - 1
        counts["reset"] += 1
        return rng.randrange(0, length)


def choose():
    with lock:
        if state["down"]:
            counts["down"] += 1
            return "down"
        if mode != "mixed" or rng.random() >= rate:
            counts["forwarded"] += 1
            return "ok"
        fault = rng.choice(["503", "500", "cut", "delay"])
        counts[fault] += 1
        return fault


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        with lock:
            connections[0] += 1
            self.connection_number = connections[0]
            counts["connections"] = counts.get("connections", 0) + 1

    def flips(self):
        """Whether this GET's body gets a bit flipped; called with the lock held."""
        if self.command != "GET":
            return False
        flip = state["flip"] is not None and state["flip"] in self.path
        if flip:
            state["flip"] = None
        if state["flip_always"] is not None and state["flip_always"] in self.path:
            flip = True
        if state["flip_after"] is not None and state["flip_after"][1] in self.path:
            if state["flip_after"][0] == 0:
                state["flip_after"] = None
                flip = True
            else:
                state["flip_after"][0] -= 1
        if state["flip_connection"] is not None and state["flip_connection"] in self.path:
            if state["bad_connection"] is None:
                state["bad_connection"] = self.connection_number
            flip = flip or state["bad_connection"] == self.connection_number
        return flip

    def send_error_document(self, status, code, text):
        payload = f"<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>{text}</Message></Error>".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def handle_one(self):
        length = int(self.headers.get("Content-Length") or 0)
        cut = reset_offset(self.path, length) if self.command == "PUT" else None
        if cut is not None:
            self.rfile.read(cut)
            # SO_LINGER with a zero timeout: close() sends RST, as a dying middlebox or server does.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        body = self.rfile.read(length) if length else None
        is_list = self.command == "GET" and "list-type=2" in self.path
        with lock:
            failing = state["fail"] is not None and state["fail"] in self.path
            flip = self.flips()
            if flip:
                counts["flipped"] = counts.get("flipped", 0) + 1
            if self.command == "GET":
                gets.append([self.path, self.headers.get("Range"), self.connection_number, flip])
            repeat_page = state["page"] if state["repeat"] and is_list and REPEATED in self.path else None
        if failing:
            with lock:
                counts["failed"] = counts.get("failed", 0) + 1
            self.send_error_document(503, "SlowDown", "Please reduce your request rate.")
            return
        if repeat_page is not None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(repeat_page)))
            self.end_headers()
            self.wfile.write(repeat_page)
            return
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
        if is_list and response.status == 200:
            data = self.rewrite_listing(data)
        if flip and response.status in (200, 206) and data:
            data = bytearray(data)
            data[len(data) // 2] ^= 0x10
            data = bytes(data)
        self.send_response(response.status)
        for k, v in response.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        # A HEAD answer has no body but the object's length, which the client reads as its size.
        length = response.getheader("Content-Length") if self.command == "HEAD" else None
        self.send_header("Content-Length", length if length is not None else str(len(data)))
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

    def rewrite_listing(self, data):
        text = data.decode()
        with lock:
            truncate, repeat = state["truncate"], state["repeat"]
        if truncate:
            blocks = re.findall(r"<Contents>.*?</Contents>", text, flags=re.S)
            for block in blocks[(len(blocks) + 1) // 2:]:
                text = text.replace(block, "", 1)
            text = text.replace("<IsTruncated>false</IsTruncated>", "<IsTruncated>true</IsTruncated>")
            with lock:
                counts["truncated"] = counts.get("truncated", 0) + 1
        if repeat:
            text = text.replace("<IsTruncated>false</IsTruncated>",
                                f"<IsTruncated>true</IsTruncated><NextContinuationToken>{REPEATED}</NextContinuationToken>")
            with lock:
                state["page"] = text.encode()
        return text.encode()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one


server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
server.daemon_threads = True
if len(sys.argv) > 7:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(sys.argv[6], sys.argv[7])
    # The handshake runs in the handler's thread: a client that rejects the certificate fails
    # its own connection only.
    server.socket = tls.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()


def commands():
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        with lock:
            if words[0] == "counts":
                print(json.dumps(counts), flush=True)
                continue
            if words[0] == "gets":
                print(json.dumps(gets), flush=True)
                continue
            if words[0] in ("down", "up"):
                state["down"] = words[0] == "down"
            elif words[0] == "truncate-list":
                state["truncate"] = True
            elif words[0] == "repeat-token":
                state["repeat"] = True
            elif words[0] == "fail":
                state["fail"] = words[1]
            elif words[0] == "flip-once":
                state["flip"] = words[1]
            elif words[0] == "flip-connection":
                state.update(flip_connection=words[1], bad_connection=None)
            elif words[0] == "flip-after":
                state["flip_after"] = [int(words[1]), words[2]]
            elif words[0] == "flip-always":
                state["flip_always"] = words[1]
            elif words[0] == "clear":
                state.update(down=False, truncate=False, repeat=False, fail=None, flip=None, page=None,
                             flip_connection=None, bad_connection=None, flip_always=None, flip_after=None)
        print("ok", flush=True)


threading.Thread(target=commands, daemon=True).start()
while os.getppid() == parent:
    time.sleep(0.5)
print(counts, file=sys.stderr)
