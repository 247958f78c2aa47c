import Foundation
import VaultCore

/// One request as a handler sees it: the HTTP request, the path's named segments and the caller
/// (nil on open routes).
struct APIRequest {
    let http: HTTPRequest
    let path: [String: String]
    let caller: APICaller?

    subscript(_ name: String) -> String { path[name] ?? "" }
}

/// A route: method, path pattern (`{name}` matches one segment), the role it needs (nil: open,
/// as health and metrics must be for probes on loopback) and its handler. `GET` routes answer
/// `HEAD` too.
struct APIRoute: Sendable {
    let method: String
    let pattern: [String]
    let role: APIRole?
    let handler: @Sendable (Daemon, APIRequest) -> HTTPResponse

    init(_ method: String, _ pattern: String, _ role: APIRole?, _ handler: @escaping @Sendable (Daemon, APIRequest) -> HTTPResponse) {
        self.method = method
        self.pattern = pattern.split(separator: "/").map(String.init)
        self.role = role
        self.handler = handler
    }

    /// The named segments when `segments` fits the pattern.
    func match(_ segments: [String]) -> [String: String]? {
        guard segments.count == pattern.count else { return nil }
        var out: [String: String] = [:]
        for (p, s) in zip(pattern, segments) {
            if p.hasPrefix("{") { out[String(p.dropFirst().dropLast())] = s } else if p != s { return nil }
        }
        return out
    }
}

extension Daemon {
    /// Every route of the health and API server: the one place that decides who may call what.
    static let routes: [APIRoute] = [
        APIRoute("GET", "/livez", nil) { d, _ in d.liveness() },
        APIRoute("GET", "/healthz", nil) { d, _ in d.liveness() },
        APIRoute("GET", "/readyz", nil) { d, r in d.readinessResponse(r.http) },
        APIRoute("GET", "/metrics", nil) { d, _ in d.metricsResponse() },
        // Policies, jobs and their errors: the monitor role's (issue 14); `chainvault health`
        // presents a monitor token. Probes and Prometheus keep the open routes above.
        APIRoute("GET", "/v1/status", .monitor) { d, _ in d.json(200, d.status()) },
        APIRoute("GET", "/v1/jobs/{id}", .monitor) { d, r in d.jobResponse(r["id"]) },
        APIRoute("POST", "/v1/policies/{name}/backup", .operator) { d, r in d.trigger("backup", r) },
        APIRoute("POST", "/v1/policies/{name}/verify", .operator) { d, r in d.trigger("verify", r) },
        APIRoute("POST", "/v1/restores", .restorer) { d, r in d.requestRestore(r) },
        APIRoute("POST", "/v1/policies/{name}/forget", .admin) { d, r in d.requestForget(r) },
        APIRoute("POST", "/v1/prune", .admin) { d, r in d.requestPrune(r) },
        APIRoute("POST", "/v1/policies/{name}/disable", .admin) { d, r in d.requestDisable(r) },
        APIRoute("POST", "/v1/policies/{name}/enable", .admin) { d, r in d.enablePolicy(r) },
        APIRoute("POST", "/v1/keys/{id}/remove", .admin) { d, r in d.requestKeyRemoval(r) },
        APIRoute("GET", "/v1/approvals", .admin) { d, _ in d.listApprovals() },
        APIRoute("POST", "/v1/approvals/{id}", .admin) { d, r in d.approve(r) },
    ]

    /// Every route as "METHOD /pattern role" (role "open" when it needs none): tests check that
    /// they exercise each one.
    public static var routeSummary: [String] {
        routes.map { "\($0.method) /\($0.pattern.joined(separator: "/")) \($0.role?.rawValue ?? "open")" }
    }

    /// Routes one request: match, authenticate, authorise, then the handler. Runs on the HTTP
    /// thread: only memory (and the small approvals file), never the repository.
    func handle(_ request: HTTPRequest) -> HTTPResponse {
        let segments = request.path.split(separator: "/").map(String.init)
        let candidates = Self.routes.compactMap { route in route.match(segments).map { (route, $0) } }
        guard !candidates.isEmpty else { return HTTPResponse(status: 404, text: "not found; try /livez, /readyz, /metrics, /v1/status") }
        let method = request.method == "HEAD" ? "GET" : request.method
        guard let (route, path) = candidates.first(where: { $0.0.method == method }) else {
            return HTTPResponse(status: 405, text: "use \(candidates[0].0.method)")
        }
        guard let required = route.role else { return route.handler(self, APIRequest(http: request, path: path, caller: nil)) }
        let tokens = lock.withLock { apiTokens }
        guard !tokens.isEmpty else {
            return HTTPResponse(status: 401, text: "the API is disabled: no token configured (apiTokenFile, tokens, or the credential api.token)")
        }
        guard let header = request.header("Authorization"), header.hasPrefix("Bearer "),
              let caller = tokens.authenticate(Array(header.dropFirst(7).utf8)) else {
            return HTTPResponse(status: 401, contentType: "text/plain; charset=utf-8", body: Array("a valid bearer token is required\n".utf8),
                                extraHeaders: [("WWW-Authenticate", "Bearer")])
        }
        guard caller.role.permits(required) else {
            return HTTPResponse(status: 403, text: "token \(caller.name) has the role \(caller.role.rawValue); \(method) \(request.path) needs \(required.rawValue)")
        }
        return route.handler(self, APIRequest(http: request, path: path, caller: caller))
    }
}
