import Foundation
import Glibc
import VaultCore

/// The root side of node hooks: one request per connection (systemd's `Accept=yes` hands the
/// connection over as stdin and stdout), checked against the policies, then `systemctl`. The
/// answer is one line, `ok` or `error: …`, which the client prints.
public enum NodeUnitHelper {
    /// Handles the request on `input`/`output` and returns the line it answered.
    @discardableResult
    public static func serve(
        input: Int32, output: Int32, configPath: String,
        systemctl: String = "/usr/bin/systemctl"
    ) -> String {
        let answer: String
        do {
            let request = try NodeUnitRequest(line: try readLine(input))
            let (_, policies) = try Daemon.loadConfiguration(configPath)
            guard NodeUnitRequest.permitted(by: Array(policies.values)).contains(request) else {
                throw VaultError(
                    .usage, "no policy in \(configPath) names '\(request.line)' as a hook",
                    hint:
                        "a policy's pre/post hook must be [\"chainvault\", \"node\", \"\(request.verb.rawValue)\", \"\(request.unit)\"]"
                )
            }
            let result = HookRunner.run([systemctl, request.verb.rawValue, "--", request.unit], timeout: 900)
            guard result.succeeded else {
                let tail = result.output.split(separator: "\n").last.map(String.init) ?? ""
                throw VaultError(.failure, "systemctl \(request.line) \(result.summary): \(tail)")
            }
            answer = "ok"
        } catch {
            answer =
                "error: " + ((error as? VaultError)?.message ?? "\(error)").replacingOccurrences(of: "\n", with: " ")
        }
        let bytes = Array((answer + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(output, $0.baseAddress, $0.count) }
        return answer
    }

    /// Reads up to the first newline (or the end), at most `NodeUnitRequest.maxLine` bytes.
    static func readLine(_ fd: Int32) throws -> String {
        var line: [UInt8] = [], byte: UInt8 = 0
        while line.count <= NodeUnitRequest.maxLine {
            let n = read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
        throw VaultError(.usage, "node unit request longer than \(NodeUnitRequest.maxLine) bytes")
    }
}
