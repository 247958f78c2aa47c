import Foundation
import VaultCore

/// When a job runs: every interval, or at a UTC time each day or each week. Times are UTC so a
/// daylight-saving change never skips or doubles a backup.
public enum Schedule: Sendable, Equatable, CustomStringConvertible {
    case every(seconds: Double)
    case daily(minuteOfDay: Int)
    case weekly(weekday: Int, minuteOfDay: Int)  // weekday 0 = Sunday

    static let weekdays = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    public static func parse(_ spec: Policy.ScheduleSpec, field: String = "schedule") throws -> Schedule {
        let given = [spec.every != nil, spec.daily != nil, spec.weekly != nil].filter { $0 }
        guard given.count == 1 else {
            throw PolicyProblem(
                field: field,
                message: "give exactly one of \"every\" (\"6h\"), \"daily\" (\"03:30\") or \"weekly\" (\"sun 04:00\")")
        }
        if let every = spec.every {
            let seconds = try reframe(field + ".every") { try every.parsed() }
            guard seconds >= 1 else { throw PolicyProblem(field: field + ".every", message: "must be at least 1s") }
            return .every(seconds: seconds)
        }
        if let daily = spec.daily { return .daily(minuteOfDay: try minuteOfDay(daily, field: field + ".daily")) }
        let parts = spec.weekly!.lowercased().split(separator: " ")
        guard parts.count == 2, let day = weekdays.firstIndex(of: String(parts[0].prefix(3))) else {
            throw PolicyProblem(
                field: field + ".weekly",
                message: "'\(spec.weekly!)' is not a weekly time; write a day and a UTC time: \"sun 04:00\"")
        }
        return .weekly(weekday: day, minuteOfDay: try minuteOfDay(String(parts[1]), field: field + ".weekly"))
    }

    static func reframe<T>(_ field: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch var p as PolicyProblem { p.field = field; throw p }
    }

    static func minuteOfDay(_ text: String, field: String) throws -> Int {
        let parts = text.split(separator: ":").map { Int($0) }
        guard parts.count == 2, let h = parts[0], let m = parts[1], (0..<24).contains(h), (0..<60).contains(m) else {
            throw PolicyProblem(
                field: field, message: "'\(text)' is not a time of day; write HH:MM in UTC, e.g. \"03:30\"")
        }
        return h * 60 + m
    }

    /// The longest gap between two runs.
    public var period: Double {
        switch self {
        case .every(let s): return s
        case .daily: return 86_400
        case .weekly: return 604_800
        }
    }

    /// The first run time strictly after `last` (interval schedules) or after `now` (calendar ones).
    public func next(after date: Date) -> Date {
        switch self {
        case .every(let s):
            return date.addingTimeInterval(s)
        case .daily(let minute):
            let dayStart = floor(date.timeIntervalSince1970 / 86_400) * 86_400
            var t = dayStart + Double(minute * 60)
            if t <= date.timeIntervalSince1970 { t += 86_400 }
            return Date(timeIntervalSince1970: t)
        case .weekly(let weekday, let minute):
            let dayStart = floor(date.timeIntervalSince1970 / 86_400) * 86_400
            // 1970-01-01 was a Thursday (weekday 4).
            let today = (Int(dayStart / 86_400) + 4) % 7
            var t = dayStart + Double(((weekday - today + 7) % 7) * 86_400 + minute * 60)
            if t <= date.timeIntervalSince1970 { t += 604_800 }
            return Date(timeIntervalSince1970: t)
        }
    }

    public var description: String {
        switch self {
        case .every(let s): return "every " + DurationText.format(s)
        case .daily(let m): return String(format: "daily %02d:%02d UTC", m / 60, m % 60)
        case .weekly(let d, let m):
            return String(format: "weekly %@ %02d:%02d UTC", Schedule.weekdays[d], m / 60, m % 60)
        }
    }
}
