import Foundation

/// A store that keeps objects from deletion for a while (S3 Object Lock retention) and can lengthen
/// that time on objects still needed: prune does it for everything kept snapshots reference, so a
/// kept backup never becomes deletable early (FORMAT.md §1, "Object Lock").
public protocol RetentionExtending {
    /// How long new objects are kept (the configured period), nil when the store sets none.
    var retentionPeriod: TimeInterval? { get }
    /// The object's retain-until date, nil when it has none.
    func retainUntil(_ handle: ObjectHandle) throws -> Date?
    /// Sets the object's retain-until date (only ever later: the store refuses shorter ones).
    func extendRetention(_ handle: ObjectHandle, until: Date) throws
}

/// A store where a DELETE may only hide an object (a versioned bucket adds a delete marker and
/// keeps the object's versions, and their cost): it counts such deletes so none is reported as
/// space given back.
public protocol DeleteMarkerCounting {
    /// Deletes so far that only added a delete marker.
    var deletesHidden: Int { get }
}
