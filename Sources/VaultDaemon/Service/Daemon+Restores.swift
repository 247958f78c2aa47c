import Foundation
import Glibc
import VaultCore
import VaultEngine

extension Daemon {
    struct RestoreBody: Decodable { let policy: String; let snapshot: String?; let target: String; let mode: String? }

    /// `POST /v1/restores`. A restore over a live node directory (mode delta or force into a
    /// non-empty target) is the action `restore-live` and may wait for approvals; any other starts now.
    func requestRestore(_ r: APIRequest) -> HTTPResponse {
        guard let caller = r.caller else { return HTTPResponse(status: 401, text: "a valid bearer token is required") }
        guard let body = try? JSONDecoder().decode(RestoreBody.self, from: Data(r.http.body)) else {
            return HTTPResponse(
                status: 400,
                text:
                    "expected JSON {\"policy\": …, \"target\": …, \"snapshot\": \"latest\", \"mode\": \"force\"|\"delta\"}"
            )
        }
        let parameters = [
            "policy": body.policy, "snapshot": body.snapshot ?? "latest", "target": body.target,
            "mode": body.mode ?? "new"
        ]
        if case .failure(let refused) = restorePlan(parameters) { return refused.response }
        if parameters["mode"] != "new" && Self.isNonEmptyDirectory(body.target) {
            return submit(.restoreLive, parameters, caller: caller)
        }
        return startRestore(parameters, actor: caller.actor, detail: [:])
    }

    struct Refusal: Error { let response: HTTPResponse }

    /// The restore options for these parameters, or the answer that refuses them. Run when a
    /// restore is requested and again when it starts, approved or not.
    func restorePlan(_ parameters: [String: String]) -> Result<(RestoreOptions, String), Refusal> {
        func refuse(_ status: Int, _ text: String) -> Result<(RestoreOptions, String), Refusal> {
            .failure(Refusal(response: HTTPResponse(status: status, text: text)))
        }
        let name = parameters["policy"] ?? "", target = parameters["target"] ?? ""
        guard let policy = policies[name] else { return refuse(404, "no policy \(name)") }
        guard target.hasPrefix("/"), !target.split(separator: "/").contains("..") else {
            return refuse(400, "target must be an absolute path without '..'")
        }
        if let refused = restoreTarget(policy).refusal(target) { return refuse(403, refused) }
        var options = RestoreOptions(snapshot: parameters["snapshot"] ?? "latest", target: target)
        switch parameters["mode"] ?? "new" {
        case "new": options.requireEmpty = true
        case "force": options.force = true
        case "delta": options.delta = true
        default: return refuse(400, "mode must be new, force or delta")
        }
        options.protect = (policy.protect ?? []) + RestoreOptions.alwaysProtected
        return .success((options, name))
    }

    func startRestore(_ parameters: [String: String], actor: String, detail: [String: String]) -> HTTPResponse {
        switch restorePlan(parameters) {
        case .failure(let refused): return refused.response
        case .success(let (options, policy)):
            let id = enqueue(
                .restore(request: Hex.encode(SecureRandom.bytes(6))), actor: actor, restore: options,
                policy: policy, detail: detail)
            return json(202, ["job": id])
        }
    }

    /// Whether `path` is a directory with at least one entry (a live node's data). One readdir
    /// of at most three entries: cheap enough for the HTTP thread.
    static func isNonEmptyDirectory(_ path: String) -> Bool {
        guard let dir = opendir(path) else { return false }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name != [46] && name != [46, 46] { return true }
        }
        return false
    }
}
