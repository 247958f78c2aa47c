import Foundation
import VaultCore
import VaultRepository

extension Daemon {
    /// Runs `action` at once when no approval rule covers it (the requester's word alone), else
    /// records it as pending and answers 202 with its id and the parameters' digest.
    func submit(_ action: ApprovalAction, _ parameters: [String: String], caller: APICaller) -> HTTPResponse {
        guard let rule = config.approvals?[action.rawValue] else {
            return execute(action, parameters, actor: caller.actor, approvers: [])
        }
        let now = approvalClock.now.timeIntervalSince1970
        var request = PendingRequest(
            id: Hex.encode(SecureRandom.bytes(8)), action: action, parameters: parameters,
            digest: PendingRequest.digest(action, parameters), requester: caller.name, created: now,
            expires: now + rule.windowSeconds, required: rule.required)
        request.eligible = rule.of
        let saved: Error? = approvals.withLock { approvals in
            approvals[request.id] = request
            do { try approvals.save(); return nil } catch { approvals[request.id] = nil; return error }
        }
        if let saved {
            return HTTPResponse(
                status: 500, text: "cannot record the request: \((saved as? VaultError)?.message ?? "\(saved)")")
        }
        _ = try? audit.append(
            actor: caller.actor, action: "approval-request", subject: "\(action.rawValue) \(request.id)",
            result: "pending",
            details: parameters.merging(["digest": request.digest, "required": "\(rule.required)"]) { a, _ in a })
        return json(
            202,
            [
                "pending": request.id, "digest": request.digest, "action": action.rawValue,
                "required": "\(rule.required)",
                "expires": Timestamp.format(Date(timeIntervalSince1970: request.expires))
            ])
    }

    struct ApprovalBody: Decodable { let digest: String }

    /// `POST /v1/approvals/{id}` with `{"digest": "…"}`: one admin's approval. The M-th distinct
    /// eligible admin's approval within the window runs the request, once.
    func approve(_ r: APIRequest) -> HTTPResponse {
        guard let caller = r.caller else { return HTTPResponse(status: 401, text: "a valid bearer token is required") }
        let id = r["id"]
        guard let body = try? JSONDecoder().decode(ApprovalBody.self, from: Data(r.http.body)) else {
            return HTTPResponse(status: 400, text: "expected JSON {\"digest\": \"<the digest the request answered>\"}")
        }
        let now = approvalClock.now.timeIntervalSince1970
        // Decided and recorded under the lock: two approvals arriving together cannot both be the M-th.
        let (response, decision, request): (HTTPResponse?, String, PendingRequest?) = approvals.withLock { approvals in
            guard var p = approvals[id] else {
                return (HTTPResponse(status: 404, text: "no pending request \(id)"), "unknown", nil)
            }
            func refuse(_ status: Int, _ why: String) -> (HTTPResponse?, String, PendingRequest?) {
                (HTTPResponse(status: status, text: "request \(id) (\(p.action.rawValue)): \(why)"), why, nil)
            }
            if p.state != "pending" { return refuse(409, "already \(p.state)" + (p.job.map { " (job \($0))" } ?? "")) }
            if now > p.expires {
                p.state = "expired"
                approvals[id] = p
                try? approvals.save()
                return refuse(
                    410,
                    "expired at \(Timestamp.format(Date(timeIntervalSince1970: p.expires))); it will never run, request it again"
                )
            }
            guard constantTimeEqual(Array(body.digest.utf8), Array(p.digest.utf8)) else {
                return refuse(
                    409, "the digest does not match the request's parameters; approve only what GET /v1/approvals shows"
                )
            }
            if caller.name == p.requester {
                return refuse(403, "\(caller.name) requested it and cannot approve it too")
            }
            if p.approvals.contains(where: { $0.name == caller.name }) {
                return refuse(409, "\(caller.name) approved it already")
            }
            if let eligible = p.eligible, !eligible.contains(caller.name) {
                return refuse(403, "\(caller.name) is not one of its approvers (\(eligible.joined(separator: ", ")))")
            }
            p.approvals.append(.init(name: caller.name, time: now))
            if p.approvals.count >= p.required { p.state = "executed" }
            approvals[id] = p
            do { try approvals.save() } catch {
                return (
                    HTTPResponse(
                        status: 500,
                        text: "cannot record the approval: \((error as? VaultError)?.message ?? "\(error)")"),
                    "unsaved", nil
                )
            }
            return (nil, "accepted", p)
        }
        _ = try? audit.append(
            actor: caller.actor, action: "approve", subject: "\(request?.action.rawValue ?? "request") \(id)",
            result: request == nil ? "refused" : "accepted",
            details: ["digest": body.digest, "reason": decision])
        if let response { return response }
        guard let p = request else { return HTTPResponse(status: 500, text: "lost request \(id)") }
        guard p.state == "executed" else {
            return json(202, ["pending": p.id, "approvals": "\(p.approvals.count)", "required": "\(p.required)"])
        }
        let approvers = p.approvals.map(\.name)
        let result = execute(p.action, p.parameters, actor: "api:\(p.requester)", approvers: approvers)
        let job = (try? JSONDecoder().decode([String: String].self, from: Data(result.body)))?["job"]
        approvals.withLock { approvals in
            approvals[id]?.job = job
            if !(200..<300).contains(result.status) { approvals[id]?.state = "failed" }
            try? approvals.save()
        }
        _ = try? audit.append(
            actor: "api:\(p.requester)", action: "approved-run", subject: "\(p.action.rawValue) \(id)",
            result: result.status == 202 ? "started" : (200..<300).contains(result.status) ? "done" : "failed",
            details: [
                "approvedBy": approvers.joined(separator: ","), "job": job ?? "",
                "status": "\(result.status)", "digest": p.digest
            ])
        return result
    }

    func listApprovals() -> HTTPResponse {
        json(200, approvals.withLock { $0.requests.values.sorted { $0.created < $1.created } })
    }

    /// Runs an action with its recorded parameters: the same code whether it was approved or
    /// needed no approval. Every check is made again (a reload may have removed the policy).
    func execute(_ action: ApprovalAction, _ parameters: [String: String], actor: String, approvers: [String])
        -> HTTPResponse
    {
        let detail = approvers.isEmpty ? [:] : ["approvedBy": approvers.joined(separator: ",")]
        let name = parameters["policy"] ?? ""
        switch action {
        case .restoreLive:
            return startRestore(parameters, actor: actor, detail: detail)
        case .forget:
            guard policies[name] != nil else { return HTTPResponse(status: 404, text: "no policy \(name)") }
            if let refused = appendOnlyRefusal("forget") { return refused }
            return json(202, ["job": enqueue(.forget(policy: name), actor: actor, detail: detail)])
        case .prune:
            if let refused = appendOnlyRefusal("prune") { return refused }
            return json(202, ["job": enqueue(.prune, actor: actor, detail: detail)])
        case .policyDisable:
            return setPolicy(name, disabled: true, actor: actor, detail: detail)
        case .keyRemove:
            if let refused = appendOnlyRefusal("key removal") { return refused }
            return removeKey(parameters["key"] ?? "", actor: actor, detail: detail)
        }
    }

    func appendOnlyRefusal(_ what: String) -> HTTPResponse? {
        config.appendOnly == true
            ? HTTPResponse(
                status: 409, text: "this daemon is append-only: it never runs \(what); run it on the pruning host")
            : nil
    }

    func requestForget(_ r: APIRequest) -> HTTPResponse {
        guard let caller = r.caller else { return HTTPResponse(status: 401, text: "a valid bearer token is required") }
        guard policies[r["name"]] != nil else { return HTTPResponse(status: 404, text: "no policy \(r["name"])") }
        return submit(.forget, ["policy": r["name"]], caller: caller)
    }

    func requestPrune(_ r: APIRequest) -> HTTPResponse {
        guard let caller = r.caller else { return HTTPResponse(status: 401, text: "a valid bearer token is required") }
        return submit(.prune, [:], caller: caller)
    }

    /// `POST /v1/keys/{id}/remove`: the id (or a unique prefix) as `chainvault key list` shows it.
    func requestKeyRemoval(_ r: APIRequest) -> HTTPResponse {
        guard let caller = r.caller else { return HTTPResponse(status: 401, text: "a valid bearer token is required") }
        let id = r["id"]
        guard (4...64).contains(id.utf8.count),
            id.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
        else {
            return HTTPResponse(
                status: 400, text: "a key id is 4 to 64 lowercase hex digits (see 'chainvault key list')")
        }
        return submit(.keyRemove, ["key": id], caller: caller)
    }

    /// Removes a key under the exclusive lock, with the checks of `chainvault key remove` (never the
    /// last key, never the one the daemon opened the repository with). Runs on the request.
    func removeKey(_ id: String, actor: String, detail: [String: String]) -> HTTPResponse {
        let outcome: (status: Int, text: String)
        do {
            let repo = try openForJob()
            let held = try repo.lock(exclusive: true, command: "daemon key remove")
            defer { held.release() }
            try repo.removeKey(id)
            outcome = (200, "")
        } catch let e as VaultError {
            // No such key: 404; the last key or the daemon's own, or the repository busy: 409.
            let status = e.code == .usage ? (e.message.hasPrefix("no key") ? 404 : 409) : e.code == .locked ? 409 : 500
            outcome = (status, e.message + (e.hint.map { "; " + $0 } ?? ""))
        } catch {
            outcome = (500, "\(error)")
        }
        _ = try? audit.append(
            actor: actor, action: "key-remove", subject: "key \(id)",
            result: outcome.status == 200 ? "succeeded" : "failed",
            details: outcome.status == 200 ? detail : detail.merging(["error": outcome.text]) { a, _ in a })
        guard outcome.status == 200 else { return HTTPResponse(status: outcome.status, text: outcome.text) }
        return json(200, ["key": id, "state": "removed"])
    }

    func requestDisable(_ r: APIRequest) -> HTTPResponse {
        guard let caller = r.caller else { return HTTPResponse(status: 401, text: "a valid bearer token is required") }
        guard policies[r["name"]] != nil else { return HTTPResponse(status: 404, text: "no policy \(r["name"])") }
        return submit(.policyDisable, ["policy": r["name"]], caller: caller)
    }

    /// Enabling puts a policy's jobs back on schedule: nothing is lost by it, so it needs no approval.
    func enablePolicy(_ r: APIRequest) -> HTTPResponse {
        guard policies[r["name"]] != nil else { return HTTPResponse(status: 404, text: "no policy \(r["name"])") }
        return setPolicy(r["name"], disabled: false, actor: r.caller?.actor ?? "api", detail: [:])
    }

    /// A disabled policy runs no scheduled or API backup, verify or drill (kept in state.json).
    func setPolicy(_ name: String, disabled: Bool, actor: String, detail: [String: String]) -> HTTPResponse {
        guard policies[name] != nil else { return HTTPResponse(status: 404, text: "no policy \(name)") }
        let saved: Error? = state.update { state in
            var set = Set(state.disabledPolicies ?? [])
            if disabled { set.insert(name) } else { set.remove(name) }
            state.disabledPolicies = set.isEmpty ? nil : set.sorted()
            do { try state.save(stateDirectory + "/state.json"); return nil } catch { return error }
        }
        if let saved {
            return HTTPResponse(
                status: 500, text: "cannot save the state: \((saved as? VaultError)?.message ?? "\(saved)")")
        }
        schedule()
        _ = try? audit.append(
            actor: actor, action: disabled ? "policy-disable" : "policy-enable", subject: "policy \(name)",
            result: "succeeded", details: detail)
        return json(200, ["policy": name, "state": disabled ? "disabled" : "enabled"])
    }
}
