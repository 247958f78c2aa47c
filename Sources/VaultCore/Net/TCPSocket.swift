import Glibc

/// A connected, non-blocking TCP socket that closes itself. Every wait goes through `poll` with
/// the connection's timeout, so a silent peer costs at most that long per call, never for ever.
final class TCPSocket {
    let fd: Int32
    let timeoutMilliseconds: Int32
    let peer: String

    private init(fd: Int32, timeoutMilliseconds: Int32, peer: String) {
        self.fd = fd; self.timeoutMilliseconds = timeoutMilliseconds; self.peer = peer
    }

    deinit { Glibc.close(fd) }

    /// Resolves `host` and tries each address in turn (IPv6 and IPv4, as the resolver orders
    /// them) with a non-blocking connect bounded by `timeout` seconds.
    /// The corresponding C functions are `getaddrinfo`, `socket` and `connect`.
    static func connect(host: String, port: Int, timeout: Double) throws -> TCPSocket {
        let milliseconds = Int32(clamping: Int((timeout * 1000).rounded(.up)))
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw NetError(.resolve, "host name \(host) not found (\(String(cString: gai_strerror(rc))))")
        }
        defer { freeaddrinfo(first) }
        var problem = "no address"
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let ai = next {
            next = ai.pointee.ai_next
            let fd = socket(
                ai.pointee.ai_family,
                Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
                    | Int32(SOCK_NONBLOCK.rawValue), 0)
            if fd < 0 { problem = String(cString: strerror(errno)); continue }
            let candidate = TCPSocket(fd: fd, timeoutMilliseconds: milliseconds, peer: "\(host):\(port)")
            if Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 || errno == EINPROGRESS {
                switch candidate.wait(for: Int16(POLLOUT)) {
                case true:
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    if error == 0 {
                        var one: Int32 = 1  // requests are written head then body: do not wait for ACKs
                        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                        return candidate
                    }
                    problem = String(cString: strerror(error)).lowercased()
                case false:
                    problem = "no answer within \(Int(timeout)) s"
                }
            } else {
                problem = String(cString: strerror(errno)).lowercased()
            }
        }
        throw NetError(.connect, "cannot connect to \(host):\(port): \(problem)")
    }

    /// Waits until the socket is ready for `events`; false when the timeout passed first.
    func wait(for events: Int16) -> Bool {
        var p = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let n = poll(&p, 1, timeoutMilliseconds)
            if n < 0 && errno == EINTR { continue }
            return n != 0  // an error or hang-up also counts as ready: the next call reports it
        }
    }

    /// Reads what is available (waiting for it); 0 at the peer's orderly end of stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n >= 0 { return n }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK:
                if !wait(for: Int16(POLLIN)) { throw timedOut("reading from") }
            default: throw failure("reading from")
            }
        }
    }

    /// Writes all of `buffer`. MSG_NOSIGNAL: a peer gone mid-body is an error to retry, not SIGPIPE.
    func write(_ buffer: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            let n = send(fd, buffer.baseAddress! + done, buffer.count - done, Int32(MSG_NOSIGNAL))
            if n >= 0 { done += n; continue }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK:
                if !wait(for: Int16(POLLOUT)) { throw timedOut("writing to") }
            default: throw failure("writing to")
            }
        }
    }

    /// An idle pooled connection is reusable only while nothing is readable on it: a readable
    /// idle socket means the server closed it (or sent bytes nobody asked for).
    var isIdleAndOpen: Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) == 0
    }

    func timedOut(_ what: String) -> NetError {
        NetError(.timeout, "timed out \(what) \(peer) (no progress for \(timeoutMilliseconds / 1000) s)")
    }

    func failure(_ what: String, errno e: Int32 = errno) -> NetError {
        let reason = String(cString: strerror(e)).lowercased()
        return NetError(e == ECONNRESET || e == EPIPE ? .reset : .connect, "\(reason) while \(what) \(peer)")
    }
}
