import Foundation
import Glibc
import VaultCore

/// A small HTTP/1.1 server for health, metrics and the API, on one thread with poll(2): memory
/// and threads stay bounded however many clients connect, and slow clients (slowloris) cannot
/// starve well-behaved ones. One request per connection; every response closes it. Handlers run
/// on the loop thread and must be quick: they answer from memory.
///
/// @unchecked: `connectionCount` and `acceptFailures` are shared with other threads only under
/// `countLock`; `listenFD`, `wakePipe`, `port` and `thread` are set by `start()` before the loop
/// thread exists and cleared by `stop()` after it ended (the semaphore orders both); everything
/// else the loop thread alone touches.
public final class HTTPServer: @unchecked Sendable {
    public struct Options: Sendable {
        public var limits = HTTPLimits()
        /// A client must send its whole request within this time (slowloris defence).
        public var requestDeadline: TimeInterval = 5
        /// Connections held at once. At the cap, a new connection displaces the oldest one still
        /// waiting for its request: a probe that sends at once is answered however many idle
        /// clients hold sockets, and those idle clients cannot take the daemon's descriptors.
        public var maxConnections = 1024
        /// How long accepting pauses after `accept` failed for want of descriptors (EMFILE,
        /// ENFILE): the pending connection keeps the socket readable, so polling it again at
        /// once would spin.
        public var acceptBackoff: TimeInterval = 0.25
        public init() {}
    }

    public typealias Handler = @Sendable (HTTPRequest) -> HTTPResponse

    private let host: String
    private let requestedPort: UInt16
    private let options: Options
    private let handler: Handler
    private var listenFD: Int32 = -1
    private var wakePipe: [Int32] = [-1, -1]
    private var thread: Thread?
    private let stopped = DispatchSemaphore(value: 0)
    public private(set) var port: UInt16 = 0
    private let countLock = NSLock()
    private var connectionCount = 0
    private var acceptPausedUntil = Date.distantPast
    private var acceptFailures = 0
    private var nextSequence = 0

    /// Times `accept` failed for want of descriptors (each one followed by a pause).
    public var descriptorShortages: Int { countLock.withLock { acceptFailures } }

    /// Client connections the server holds right now (each one descriptor).
    public var openConnections: Int { countLock.withLock { connectionCount } }

    public init(host: String = "127.0.0.1", port: UInt16, options: Options = Options(), handler: @escaping Handler) {
        self.host = host; self.requestedPort = port; self.options = options; self.handler = handler
    }

    /// Binds and starts serving; returns the port (useful with port 0).
    @discardableResult
    public func start() throws -> UInt16 {
        listenFD = socket(
            AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard listenFD >= 0 else { throw Posix.error("create a socket for", "\(host):\(requestedPort)") }
        var one: Int32 = 1
        setsockopt(listenFD, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = requestedPort.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close(listenFD)
            throw VaultError(
                .usage, "listen address \(host) is not an IPv4 address", hint: "use for example 127.0.0.1:9797")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listenFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(listenFD, 512) == 0 else {
            let e = Posix.error("listen on", "\(host):\(requestedPort)")
            close(listenFD)
            throw VaultError(
                e.code, e.message, cause: e.cause, hint: "another process may hold the port; change the listen address")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listenFD, $0, &length) }
        }
        port = UInt16(bigEndian: actual.sin_port)
        guard pipe(&wakePipe) == 0 else { throw Posix.error("create a pipe for", "the HTTP server") }
        let t = Thread { [self] in
            loop(); stopped.signal()
        }
        t.name = "http"
        thread = t
        t.start()
        return port
    }

    public func stop() {
        guard thread != nil else { return }
        var byte: UInt8 = 1
        _ = write(wakePipe[1], &byte, 1)
        stopped.wait()
        thread = nil
        close(wakePipe[0]); close(wakePipe[1])
    }

    private final class Connection {
        let fd: Int32
        var input: [UInt8] = []
        var output: [UInt8] = []
        var written = 0
        let deadline: Date
        /// Accept order: the oldest idle connection is the one a new one displaces at the cap.
        let sequence: Int
        var responding: Bool { !output.isEmpty }
        init(fd: Int32, deadline: Date, sequence: Int) {
            self.fd = fd; self.deadline = deadline; self.sequence = sequence
        }
    }

    private func loop() {
        var connections: [Int32: Connection] = [:]
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        defer {
            for c in connections.values { close(c.fd) }
            close(listenFD)
        }
        while true {
            // poll ignores a negative descriptor: that is how accepting pauses after EMFILE.
            let listening = acceptPausedUntil <= Date() ? listenFD : -1
            var fds = [
                pollfd(fd: wakePipe[0], events: Int16(POLLIN), revents: 0),
                pollfd(fd: listening, events: Int16(POLLIN), revents: 0)
            ]
            for c in connections.values {
                fds.append(pollfd(fd: c.fd, events: Int16(c.responding ? POLLOUT : POLLIN), revents: 0))
            }
            var nearest = connections.values.map(\.deadline).min().map { max(0, $0.timeIntervalSinceNow) } ?? 1
            if listening < 0 { nearest = min(nearest, max(0, acceptPausedUntil.timeIntervalSinceNow)) }
            countLock.withLock { connectionCount = connections.count }
            let ready = poll(&fds, nfds_t(fds.count), Int32(min(nearest, 1) * 1000) + 1)
            if ready < 0 && errno != EINTR { return }
            if fds[0].revents != 0 { return }
            if fds[1].revents & Int16(POLLIN) != 0 { acceptAll(&connections, &buffer) }
            for p in fds.dropFirst(2) where p.revents != 0 {
                guard let c = connections[p.fd] else { continue }
                if c.responding { flush(c, &connections) } else { receive(c, &buffer, &connections) }
            }
            let now = Date()
            for c in connections.values where c.deadline < now {
                if c.responding {
                    // A client that does not read its response gets a second deadline, then is dropped.
                    if c.deadline.addingTimeInterval(options.requestDeadline) < now {
                        close(c.fd); connections[c.fd] = nil
                    }
                    continue
                }
                respond(
                    c, HTTPResponse(status: 408, text: "request not received within \(Int(options.requestDeadline)) s"),
                    headOnly: false)
                flush(c, &connections)
            }
        }
    }

    private func acceptAll(_ connections: inout [Int32: Connection], _ buffer: inout [UInt8]) {
        while true {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                guard errno == EMFILE || errno == ENFILE else { return }
                countLock.withLock { acceptFailures += 1 }
                // An idle client's descriptor is worth less than a new request: free one and try
                // again. With none to free (jobs hold them), pause instead of spinning.
                if connections.values.contains(where: { !$0.responding }) { evictOldestIdle(&connections); continue }
                acceptPausedUntil = Date().addingTimeInterval(options.acceptBackoff)
                return
            }
            do {
                try Posix.addStatusFlags(fd, O_NONBLOCK, path: "a client connection")
                try Posix.setCloseOnExec(fd, path: "a client connection")
            } catch {
                // A blocking descriptor would stall the one loop that serves everyone: drop it.
                close(fd)
                continue
            }
            if connections.count >= options.maxConnections { evictOldestIdle(&connections) }
            nextSequence += 1
            let c = Connection(
                fd: fd, deadline: Date().addingTimeInterval(options.requestDeadline), sequence: nextSequence)
            connections[fd] = c
            if connections.count > options.maxConnections {
                // Every held connection is sending a response: this one waits for none of them.
                respond(c, HTTPResponse(status: 503, text: "too many connections"), headOnly: false)
                flush(c, &connections)
            } else {
                // A probe's request is usually there already: answer it in this pass, not after
                // one more poll over every other connection.
                receive(c, &buffer, &connections)
            }
        }
    }

    /// Closes the connection accepted longest ago that has not sent a whole request.
    private func evictOldestIdle(_ connections: inout [Int32: Connection]) {
        guard let oldest = connections.values.filter({ !$0.responding }).min(by: { $0.sequence < $1.sequence }) else {
            return
        }
        close(oldest.fd)
        connections[oldest.fd] = nil
    }

    private func receive(_ c: Connection, _ buffer: inout [UInt8], _ connections: inout [Int32: Connection]) {
        let n = buffer.withUnsafeMutableBytes { read(c.fd, $0.baseAddress, $0.count) }
        if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) {
            close(c.fd)
            connections[c.fd] = nil
            return
        }
        if n < 0 { return }
        c.input += buffer[0..<n]
        switch HTTPParser.parse(c.input, limits: options.limits) {
        case .incomplete:
            return
        case .error(let status, let reason):
            respond(c, HTTPResponse(status: status, text: reason), headOnly: false)
        case .request(let request):
            respond(c, handler(request), headOnly: request.method == "HEAD")
        }
        c.input = []
        flush(c, &connections)
    }

    private func respond(_ c: Connection, _ response: HTTPResponse, headOnly: Bool) {
        c.output = response.serialized(headOnly: headOnly)
        c.written = 0
    }

    private func flush(_ c: Connection, _ connections: inout [Int32: Connection]) {
        while c.written < c.output.count {
            let n = c.output.withUnsafeBytes {
                send(c.fd, $0.baseAddress! + c.written, $0.count - c.written, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { return }  // wait for POLLOUT
                break
            }
            c.written += n
        }
        // Done (or the client went away): close. Half-close first so the client reads everything.
        shutdown(c.fd, Int32(SHUT_WR))
        close(c.fd)
        connections[c.fd] = nil
    }
}
