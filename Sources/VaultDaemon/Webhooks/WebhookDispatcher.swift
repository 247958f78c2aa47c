import Dispatch
import Foundation
import Synchronization
import VaultCore
import VaultStorage

/// Delivers webhook calls, each webhook from its own bounded queue on its own thread, so a slow,
/// hanging or failing receiver never delays a job, nor another webhook: `post` only appends
/// (and drops the queue's oldest call when it is full, counted). Each call is tried up to
/// 1 + `retries` times on a network error, 429 or 5xx, 1 s, 2 s, 4 s … apart (at most 30 s);
/// every attempt has the hook's timeout. URLs are secrets: logs and metrics name the webhook only.
public final class WebhookDispatcher: Sendable {
    public struct Target: Sendable {
        public var spec: WebhookSpec
        public var url: URL
        public init(spec: WebhookSpec, url: URL) { self.spec = spec; self.url = url }
    }

    struct Call: Sendable {
        var webhook: String
        var url: URL
        var body: [UInt8]
        var contentType: String
        var timeout: Double
        var retries: Int
    }

    public struct Counters: Sendable {
        public var delivered = 0
        public var failures = 0
        public var retries = 0
        public var dropped = 0
        public var queued = 0
    }

    public static let capacity = 256
    private let lanes = Mutex<[String: WebhookLane]>([:])
    private let targets = Mutex<[Target]>([])
    let logger: DaemonLogger
    private let host = ProcessInfo.processInfo.hostName

    public init(logger: DaemonLogger) { self.logger = logger }

    /// Replaces the webhooks (start and reload): a lane (queue, thread, counters) stays for a name
    /// that stays; removed ones stop after their current call.
    public func configure(_ new: [Target]) {
        targets.withLock { $0 = new }
        let names = Set(new.map(\.spec.name))
        let stopped = lanes.withLock { lanes -> [WebhookLane] in
            for name in names where lanes[name] == nil {
                let lane = WebhookLane(name: name, logger: logger)
                lanes[name] = lane
                lane.start()
            }
            let gone = lanes.keys.filter { !names.contains($0) }
            return gone.compactMap { lanes.removeValue(forKey: $0) }
        }
        stopped.forEach { $0.stop() }
    }

    /// Per webhook name, sorted.
    public var counters: [(String, Counters)] {
        lanes.withLock { $0.map { ($0.key, $0.value.counters) } }.sorted { $0.0 < $1.0 }
    }

    /// Queues the event for every webhook that wants it. Never blocks on the network.
    public func post(
        event: String, policy: String?, job: String?, kind: String?, outcome: String? = nil,
        error: String? = nil, snapshot: String? = nil, seconds: Double? = nil
    ) {
        let e = WebhookEvent(
            event: event, policy: policy, job: job, kind: kind, outcome: outcome,
            time: DaemonLogger.timestamp(Date()), host: host, error: error, snapshot: snapshot, seconds: seconds)
        for t in targets.withLock({ $0 }) where t.spec.wantedEvents.contains(event) {
            if let only = t.spec.policies, !only.contains(policy ?? "") { continue }
            guard let call = Self.call(for: e, to: t) else { continue }
            lanes.withLock { $0[t.spec.name] }?.append(call)
        }
    }

    static func call(for e: WebhookEvent, to t: Target) -> Call? {
        let timeout = t.spec.timeout?.seconds ?? 10
        let retries = max(0, t.spec.retries ?? 3)
        guard t.spec.kind == "healthchecks" else {
            return Call(
                webhook: t.spec.name, url: t.url, body: e.json(), contentType: "application/json",
                timeout: timeout, retries: retries)
        }
        guard let suffix = e.healthchecksSuffix() else { return nil }
        let base = t.url.absoluteString.hasSuffix("/") ? String(t.url.absoluteString.dropLast()) : t.url.absoluteString
        guard let url = URL(string: base + suffix) else { return nil }
        // The ping's body is shown in healthchecks' event log: the error, if any.
        let text = (e.error ?? "\(e.kind ?? "job") \(e.event)") + (e.job.map { " (job \($0))" } ?? "")
        return Call(
            webhook: t.spec.name, url: url, body: Array(text.utf8.prefix(10_000)),
            contentType: "text/plain; charset=utf-8", timeout: timeout, retries: retries)
    }

    public func stop() { lanes.withLock { $0.values.forEach { $0.stop() } } }

    /// At SIGTERM: every lane goes on delivering its queue (retries included) until it is empty or
    /// `seconds` have passed, then all stop. Returns, per webhook, the calls left undelivered
    /// (still queued, or sent and not answered), so the daemon can say what it dropped.
    public func flush(within seconds: Double) -> [(webhook: String, undelivered: Int)] {
        let deadline = DispatchTime.now() + seconds
        let all = lanes.withLock { Array($0.values) }.sorted { $0.name < $1.name }
        let left = all.map { (webhook: $0.name, undelivered: $0.drain(until: deadline)) }
        all.forEach { $0.stop() }
        return left
    }
}

/// One webhook's queue and delivery thread.
final class WebhookLane: Sendable {
    struct State {
        var queue: [WebhookDispatcher.Call] = []
        var counters = WebhookDispatcher.Counters()
        var stopped = false
        /// A call taken off the queue and not yet finished (delivered, failed or given up).
        var inFlight = false
        var unfinished: Int { queue.count + (inFlight ? 1 : 0) }
    }

    let name: String
    private let logger: DaemonLogger
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    /// Signalled each time a call finishes: what `drain` waits on, rather than on time.
    private let finished = DispatchSemaphore(value: 0)

    init(name: String, logger: DaemonLogger) { self.name = name; self.logger = logger }

    var counters: WebhookDispatcher.Counters {
        state.withLock { s in
            var c = s.counters; c.queued = s.queue.count; return c
        }
    }

    func append(_ call: WebhookDispatcher.Call) {
        let dropped = state.withLock { s -> Bool in
            var dropped = false
            if s.queue.count >= WebhookDispatcher.capacity {
                s.queue.removeFirst(); s.counters.dropped += 1; dropped = true
            }
            s.queue.append(call)
            return dropped
        }
        if dropped { logger.log(4, "webhook_dropped", [("webhook", name), ("reason", "queue full")]) }
        wake.signal()
    }

    func start() {
        let t = Thread { [self] in
            while true {
                _ = wake.wait(timeout: .now() + 1)
                // Spelled out: a ternary `empty ? nil : call` would make `.some(nil)` of an empty
                // queue, read as "stopped", and the lane would end after its first quiet moment.
                enum Next { case stop, idle, deliver(WebhookDispatcher.Call) }
                let next = state.withLock { s -> Next in
                    if s.stopped { return .stop }
                    if s.queue.isEmpty { return .idle }
                    s.inFlight = true
                    return .deliver(s.queue.removeFirst())
                }
                switch next {
                case .stop: return
                case .idle: continue
                case .deliver(let call):
                    deliver(call)
                    state.withLock { $0.inFlight = false }
                    finished.signal()
                }
            }
        }
        t.name = "webhook"
        t.start()
    }

    func stop() {
        state.withLock { $0.stopped = true }
        wake.signal()
    }

    /// Waits until the queue is empty and no call is under way, or until `deadline`; returns how
    /// many calls were still unfinished then (0: all delivered or finally failed).
    func drain(until deadline: DispatchTime) -> Int {
        while true {
            let left = state.withLock { $0.unfinished }
            if left == 0 { return 0 }
            if finished.wait(timeout: deadline) == .timedOut { return state.withLock { $0.unfinished } }
        }
    }

    func deliver(_ call: WebhookDispatcher.Call) {
        let transport = HTTP1Transport(connections: 1, timeout: call.timeout)
        var attempt = 0
        while true {
            var problem: String
            var retryable = true
            do {
                let r = try transport.send(
                    method: "POST", url: call.url,
                    headers: [
                        ("Content-Type", call.contentType),
                        ("User-Agent", "chainvault/\(Daemon.version)")
                    ],
                    body: .bytes(call.body), responseLimit: 64 << 10)
                if (200..<300).contains(r.status) {
                    state.withLock { $0.counters.delivered += 1 }
                    logger.log(
                        7, "webhook",
                        [
                            ("webhook", name), ("result", "delivered"), ("status", "\(r.status)"),
                            ("attempts", "\(attempt + 1)")
                        ])
                    return
                }
                problem = "HTTP \(r.status)"
                retryable = r.status == 429 || r.status >= 500
            } catch {
                problem = Self.scrub("\(error)", call.url)
            }
            if !retryable || attempt >= call.retries || state.withLock({ $0.stopped }) {
                state.withLock { $0.counters.failures += 1 }
                logger.log(
                    4, "webhook",
                    [
                        ("webhook", name), ("result", "failed"), ("attempts", "\(attempt + 1)"),
                        ("error", problem)
                    ])
                return
            }
            state.withLock { $0.counters.retries += 1 }
            // Backoff between attempts of this one webhook; no job and no other webhook waits on it.
            Thread.sleep(forTimeInterval: min(30, Double(1 << min(attempt, 5))))
            attempt += 1
        }
    }

    /// A transport error may quote the URL; the URL may be the secret.
    static func scrub(_ text: String, _ url: URL) -> String {
        var t = text.replacingOccurrences(of: url.absoluteString, with: "<url>")
        if url.path.count > 1 { t = t.replacingOccurrences(of: url.path, with: "<path>") }
        if let q = url.query { t = t.replacingOccurrences(of: q, with: "<query>") }
        return t
    }
}
