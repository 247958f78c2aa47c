import Foundation
import Testing
import VaultCore
import VaultStorage

struct SigV4Case: Decodable, CustomTestStringConvertible {
    let name: String, access: String, secret: String, region: String, service: String, date: String
    let method: String, path: String, query: [[String]], headers: [[String]], payload: String
    let canonical_request: String, string_to_sign: String, signature: String
    var testDescription: String { name }

    var signer: SigV4 { SigV4(accessKeyID: access, secretAccessKey: secret, region: region, service: service) }
    var request: SigV4.Request {
        SigV4.Request(
            method: method, path: path, query: query.map { ($0[0], $0[1]) },
            headers: headers.map { ($0[0], $0[1]) }, payloadHash: payload)
    }

    static func load() -> [SigV4Case] {
        struct File: Decodable { let cases: [SigV4Case] }
        let url = Bundle.module.url(forResource: "Vectors/sigv4", withExtension: "json")!
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }
}

@Test(arguments: SigV4Case.load())
func sigV4CanonicalRequestMatchesAWS(_ c: SigV4Case) {
    #expect(c.signer.canonicalRequest(c.request) == c.canonical_request)
}

@Test(arguments: SigV4Case.load())
func sigV4StringToSignMatchesAWS(_ c: SigV4Case) {
    #expect(c.signer.stringToSign(canonicalRequest: c.canonical_request, amzDate: c.date) == c.string_to_sign)
}

@Test(arguments: SigV4Case.load())
func sigV4SignatureMatchesAWS(_ c: SigV4Case) {
    #expect(c.signer.signature(stringToSign: c.string_to_sign, amzDate: c.date) == c.signature)
    let header = c.signer.authorization(c.request, amzDate: c.date)
    #expect(
        header.hasPrefix(
            "AWS4-HMAC-SHA256 Credential=\(c.access)/\(c.date.prefix(8))/\(c.region)/\(c.service)/aws4_request, SignedHeaders="
        ))
    #expect(header.hasSuffix(", Signature=\(c.signature)"))
}

@Test func sigV4SigningKeyMatchesThePublishedDerivation() {
    // From the AWS "derive a signing key" example: secret of the test suite, 20150830, us-east-1, iam.
    let key = SigV4(
        accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region: "us-east-1",
        service: "iam"
    )
    .signingKey(date: "20150830")
    #expect(Hex.encode(key) == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9")
}

@Test func uriEncodingKeepsOnlyUnreservedCharacters() {
    #expect(SigV4.uriEncode("a-b_c.d~e") == "a-b_c.d~e")
    #expect(SigV4.uriEncode("a b/c+d=é") == "a%20b%2Fc%2Bd%3D%C3%A9")
    #expect(SigV4.uriEncode("/backups/node 1/ሴ", encodeSlash: false) == "/backups/node%201/%E1%88%B4")
    #expect(
        SigV4.canonicalQuery([("prefix", "data/"), ("list-type", "2"), ("continuation-token", "a+b=")])
            == "continuation-token=a%2Bb%3D&list-type=2&prefix=data%2F")
}
