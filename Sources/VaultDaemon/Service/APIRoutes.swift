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

    init(
        _ method: String, _ pattern: String, _ role: APIRole?,
        _ handler: @escaping @Sendable (Daemon, APIRequest) -> HTTPResponse
    ) {
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
        APIRoute("POST", "/v1/policies/{name}/backup", .operator) { d, r in d.trigger(JobKind.backup(policy:), r) },
        APIRoute("POST", "/v1/policies/{name}/verify", .operator) { d, r in d.trigger(JobKind.verify(policy:), r) },
        APIRoute("POST", "/v1/restores", .restorer) { d, r in d.requestRestore(r) },
        APIRoute("POST", "/v1/policies/{name}/forget", .admin) { d, r in d.requestForget(r) },
        APIRoute("POST", "/v1/prune", .admin) { d, r in d.requestPrune(r) },
        APIRoute("POST", "/v1/policies/{name}/disable", .admin) { d, r in d.requestDisable(r) },
        APIRoute("POST", "/v1/policies/{name}/enable", .admin) { d, r in d.enablePolicy(r) },
        APIRoute("POST", "/v1/keys/{id}/remove", .admin) { d, r in d.requestKeyRemoval(r) },
        APIRoute("GET", "/v1/approvals", .admin) { d, _ in d.listApprovals() },
        APIRoute("POST", "/v1/approvals/{id}", .admin) { d, r in d.approve(r) }
    ]

    /// Every route as "METHOD /pattern role" (role "open" when it needs none): tests check that
    /// they exercise each one.
    public static var routeSummary: [String] {
        routes.map { "\($0.method) /\($0.pattern.joined(separator: "/")) \($0.role?.rawValue ?? "open")" }
    }

    /// What the table says about a method and path: the route and its named segments, or why none.
    enum RouteMatch {
        case found(APIRoute, [String: String])
        case notFound
        /// The path is known, the method is not one of its routes': the methods that are (`HEAD`
        /// with `GET`), for the 405's `Allow` header.
        case methodNotAllowed([String])
    }

    static func resolve(_ method: String, _ path: String) -> RouteMatch {
        let segments = path.split(separator: "/").map(String.init)
        let candidates = routes.compactMap { route in route.match(segments).map { (route, $0) } }
        guard !candidates.isEmpty else { return .notFound }
        let wanted = method == "HEAD" ? "GET" : method
        if let (route, named) = candidates.first(where: { $0.0.method == wanted }) { return .found(route, named) }
        var allowed: [String] = []
        for (route, _) in candidates where !allowed.contains(route.method) {
            allowed.append(route.method)
            if route.method == "GET" { allowed.append("HEAD") }
        }
        return .methodNotAllowed(allowed)
    }

    /// Routes one request: match, authenticate, authorise, then the handler. Runs on the HTTP
    /// thread: only memory (and the small approvals file), never the repository.
    func handle(_ request: HTTPRequest) -> HTTPResponse {
        let method = request.method == "HEAD" ? "GET" : request.method
        let (route, path): (APIRoute, [String: String])
        switch Self.resolve(request.method, request.path) {
        case .notFound:
            return HTTPResponse(status: 404, text: "not found; try /livez, /readyz, /metrics, /v1/status")
        case .methodNotAllowed(let allowed):
            return HTTPResponse(
                status: 405, contentType: "text/plain; charset=utf-8", body: Array("use \(allowed[0])\n".utf8),
                extraHeaders: [("Allow", allowed.joined(separator: ", "))])
        case .found(let r, let named):
            (route, path) = (r, named)
        }
        guard let required = route.role else {
            return route.handler(self, APIRequest(http: request, path: path, caller: nil))
        }
        let tokens = apiTokens
        guard !tokens.isEmpty else {
            return HTTPResponse(
                status: 401,
                text: "the API is disabled: no token configured (apiTokenFile, tokens, or the credential api.token)")
        }
        guard let header = request.header("Authorization"), header.hasPrefix("Bearer "),
            let caller = tokens.authenticate(Array(header.dropFirst(7).utf8))
        else {
            return HTTPResponse(
                status: 401, contentType: "text/plain; charset=utf-8",
                body: Array("a valid bearer token is required\n".utf8),
                extraHeaders: [("WWW-Authenticate", "Bearer")])
        }
        guard caller.role.permits(required) else {
            return HTTPResponse(
                status: 403,
                text:
                    "token \(caller.name) has the role \(caller.role.rawValue); \(method) \(request.path) needs \(required.rawValue)"
            )
        }
        return route.handler(self, APIRequest(http: request, path: path, caller: caller))
    }
}
