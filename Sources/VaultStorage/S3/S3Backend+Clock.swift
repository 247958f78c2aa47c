import Foundation
import Glibc
import VaultCore

// The S3 server's clock: `LastModified` in listings and the `Date` header of every response
// come from it, so an object's age is measured without trusting this host's clock.
extension S3Backend: StoreClock, WriteRefusalDetecting {
    public func storeNow() throws -> Date {
        let r = try client.send("HEAD", key: nil, what: "reading the S3 server's clock").response
        guard let header = r.headers["date"], let date = S3Clock.httpDate(header) else {
            throw VaultError(
                .storageFailure, "the S3 server at \(location) sent no usable Date header",
                hint: "lock ages then fall back to this host's clock; check the server or proxy")
        }
        return date
    }

    /// 403 on a write: read-only credentials or a bucket policy that forbids writes here.
    public func isWriteRefusal(_ error: Error) -> Bool {
        guard let e = error as? VaultError else { return false }
        return (e.cause as? S3ErrorResponse)?.code == "AccessDenied" || e.message.contains(": forbidden at ")
    }
}

enum S3Clock {
    /// `2026-12-01T10:15:30.000Z` (ListObjectsV2 `LastModified`); fractions are optional.
    static func isoDate(_ text: String?) -> Date? {
        guard let text else { return nil }
        let u = Array(text.utf8)
        guard u.count >= 20, u[4] == UInt8(ascii: "-"), u[10] == UInt8(ascii: "T") else { return nil }
        func n(_ r: Range<Int>) -> Int32? { Int32(String(decoding: u[r], as: UTF8.self)) }
        guard let y = n(0..<4), let mo = n(5..<7), let d = n(8..<10), let h = n(11..<13), let mi = n(14..<16),
            let s = n(17..<19)
        else { return nil }
        var fraction = 0.0
        if u[19] == UInt8(ascii: "."), let end = u.firstIndex(of: UInt8(ascii: "Z")), end > 20 {
            fraction = Double("0." + String(decoding: u[20..<end], as: UTF8.self)) ?? 0
        }
        return date(y, mo, d, h, mi, s).map { $0 + fraction }
    }

    /// RFC 7231 IMF-fixdate, `Tue, 01 Dec 2026 10:15:30 GMT`, the only form S3 sends.
    static func httpDate(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count == 6, let d = Int32(parts[1]), let mo = months.firstIndex(of: String(parts[2])),
            let y = Int32(parts[3])
        else { return nil }
        let hms = parts[4].split(separator: ":").compactMap { Int32($0) }
        guard hms.count == 3 else { return nil }
        return date(y, Int32(mo + 1), d, hms[0], hms[1], hms[2])
    }

    private static func date(_ y: Int32, _ mo: Int32, _ d: Int32, _ h: Int32, _ mi: Int32, _ s: Int32) -> Date? {
        var t = tm()
        t.tm_year = y - 1900; t.tm_mon = mo - 1; t.tm_mday = d; t.tm_hour = h; t.tm_min = mi; t.tm_sec = s
        let seconds = timegm(&t)
        return seconds == -1 ? nil : Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}
