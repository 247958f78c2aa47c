import S3TestSupport
import Testing

/// The store of one test case; a store whose programs are not installed skips the case, saying why.
func s3Server(_ kind: S3StoreKind) throws -> any S3Server {
    do { return try kind.server() } catch let missing as S3ServerUnavailable {
        try Test.cancel(Comment(rawValue: missing.description))
    }
}
