import VaultCore

extension S3Backend {
    /// The continuation token of a ListObjectsV2 page, or nil on the last page. A listing that
    /// cannot be proven complete is an error, never a shorter list: callers delete and choose on
    /// it (prune, `latest`). A page that says it is truncated but names no next token would end
    /// the listing early; a token seen before would loop for ever.
    static func nextToken(_ xml: String, seen: inout Set<String>, what: String) throws -> String? {
        // Without its closing tag the document was cut; without IsTruncated nothing says it is the last page.
        guard xml.contains("</ListBucketResult>"), let truncated = S3XML.value("IsTruncated", in: xml) else {
            throw incomplete(what, "the answer is not a complete ListBucketResult with an IsTruncated element")
        }
        guard truncated == "true" else { return nil }
        guard let token = S3XML.value("NextContinuationToken", in: xml), !token.isEmpty else {
            throw incomplete(what, "a page says more keys follow (IsTruncated=true) but gives no NextContinuationToken")
        }
        guard seen.insert(token).inserted else {
            throw incomplete(what, "the server returned the continuation token \(token.prefix(16)) a second time")
        }
        return token
    }

    private static func incomplete(_ what: String, _ problem: String) -> VaultError {
        VaultError(
            .storageFailure, "\(what) cannot be proven complete: \(problem)",
            hint:
                "the S3 server (or a proxy in front of it) answered a listing wrongly; nothing was deleted or chosen on it; check the server and run the command again"
        )
    }
}
