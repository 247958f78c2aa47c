import Testing
@testable import VaultDaemon

/// The HTTP routes are one table (method, path pattern, role): each route is found by its own
/// method and path, a known path with another method is 405 with the methods it has, and
/// anything else is 404. The roles themselves are checked end to end (`DaemonAccessTests`).
struct RouteTableTests {
    /// The route's pattern with each `{name}` segment filled in.
    func concrete(_ route: APIRoute) -> String {
        "/" + route.pattern.map { $0.hasPrefix("{") ? "abc123" : $0 }.joined(separator: "/")
    }

    @Test func everyRouteIsFoundByItsMethodAndPathAndNamesItsSegments() {
        for route in Daemon.routes {
            guard case .found(let found, let named) = Daemon.resolve(route.method, concrete(route)) else {
                Issue.record("\(route.method) \(concrete(route)) not found")
                continue
            }
            #expect(found.method == route.method && found.pattern == route.pattern && found.role == route.role)
            #expect(
                named.values.allSatisfy { $0 == "abc123" }
                    && named.count == route.pattern.filter { $0.hasPrefix("{") }.count)
        }
        guard case .found(let head, _) = Daemon.resolve("HEAD", "/metrics") else {
            Issue.record("HEAD /metrics"); return
        }
        #expect(head.method == "GET", "HEAD is answered by the GET route")
    }

    @Test func aKnownPathWithAnotherMethodNamesTheMethodsItHasAndAnUnknownPathIsNotFound() {
        let cases: [(String, String, [String])] = [
            ("POST", "/livez", ["GET", "HEAD"]), ("DELETE", "/v1/status", ["GET", "HEAD"]),
            ("GET", "/v1/prune", ["POST"]), ("GET", "/v1/policies/node/backup", ["POST"]),
            ("PUT", "/v1/approvals", ["GET", "HEAD"]), ("GET", "/v1/approvals/abc", ["POST"])
        ]
        for (method, path, allowed) in cases {
            guard case .methodNotAllowed(let methods) = Daemon.resolve(method, path) else {
                Issue.record("\(method) \(path) is not a 405")
                continue
            }
            #expect(methods == allowed, "\(method) \(path)")
        }
        for (method, path) in [
            ("GET", "/nope"), ("POST", "/v1/policies/node"), ("GET", "/v1/jobs"),
            ("GET", "/v1/policies/node/backup/extra"), ("GET", "/")
        ] {
            guard case .notFound = Daemon.resolve(method, path) else {
                Issue.record("\(method) \(path) is not a 404"); continue
            }
        }
    }
}
