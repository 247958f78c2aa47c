import Foundation
import Glibc

/// A local HTTP server (Python's standard library) that records every request as a JSON line:
/// `/hang…` holds the request until `release()` (it records the request first, so a test can
/// see it is being held), `/flaky…` answers 500 to its first two requests and 200 after, any
/// other path 200. It prints its port to a file once it listens.
final class WebhookReceiver {
    let dir: String
    let process = Process()
    private(set) var port: UInt16 = 0

    static let script = #"""
        import http.server, json, os, sys, threading, time
        d = sys.argv[1]
        lock = threading.Lock()
        flaky = [0]
        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a): pass
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
                rec = {"path": self.path, "method": self.command, "body": body.decode('utf-8', 'replace'),
                       "type": self.headers.get('Content-Type', '')}
                with lock:
                    with open(os.path.join(d, 'requests.jsonl'), 'a') as f: f.write(json.dumps(rec) + "\n")
                status = 200
                if self.path.startswith('/hang'):
                    deadline = time.time() + 120
                    while not os.path.exists(os.path.join(d, 'release')) and time.time() < deadline: time.sleep(0.05)
                elif self.path.startswith('/flaky'):
                    with lock:
                        flaky[0] += 1
                        status = 500 if flaky[0] <= 2 else 200
                self.send_response(status)
                self.send_header('Content-Length', '2')
                self.end_headers()
                self.wfile.write(b'ok')
        s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
        s.daemon_threads = True
        with open(os.path.join(d, 'port.tmp'), 'w') as f: f.write(str(s.server_address[1]))
        os.rename(os.path.join(d, 'port.tmp'), os.path.join(d, 'port'))
        s.serve_forever()
        """#

    init(directory: String) throws {
        dir = directory
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Self.script.write(toFile: dir + "/receiver.py", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [dir + "/receiver.py", dir]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: dir + "/port", encoding: .utf8), let p = UInt16(text) {
                port = p; return
            }
            usleep(50_000)
        }
        throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "the webhook receiver did not start"])
    }

    deinit {
        release()
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }

    func release() { _ = FileManager.default.createFile(atPath: dir + "/release", contents: nil) }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Every request so far: path, method, body, content type.
    var requests: [[String: String]] {
        guard let text = try? String(contentsOfFile: dir + "/requests.jsonl", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: String]
        }
    }

    func bodies(_ prefix: String) -> [[String: Any]] {
        requests.filter { $0["path"]?.hasPrefix(prefix) == true }
            .compactMap { (try? JSONSerialization.jsonObject(with: Data(($0["body"] ?? "").utf8))) as? [String: Any] }
    }
}
