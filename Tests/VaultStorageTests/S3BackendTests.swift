import Foundation
import Testing
import VaultCore
@_spi(Repository) import VaultStorage
import S3TestSupport

@Test func s3LocationsParse() throws {
    let a = try S3Location.parse("s3:http://127.0.0.1:9000/bucket-1/node/a", environment: [:])
    #expect(
        a.scheme == "http" && a.host == "127.0.0.1" && a.port == 9000 && a.bucket == "bucket-1" && a.prefix == "node/a")
    #expect(a.hostHeader() == "127.0.0.1:9000")
    #expect(a.path(forKey: a.key("data/ab/abc")) == "/bucket-1/node/a/data/ab/abc")
    let b = try S3Location.parse("s3:my.bucket/x", environment: ["AWS_REGION": "eu-west-1"])
    #expect(b.host == "s3.eu-west-1.amazonaws.com" && b.port == nil && b.region == "eu-west-1" && b.prefix == "x")
    let c = try S3Location.parse("s3:bkt", environment: ["AWS_ENDPOINT_URL": "https://minio.lan:9443/"])
    #expect(c.host == "minio.lan" && c.port == 9443 && c.prefix == "" && c.region == "us-east-1")
    let d = try S3Location.parse(
        "s3:https://s3.ap-south-1.amazonaws.com/bkt", environment: ["CHAINVAULT_S3_VIRTUAL_HOST": "1"])
    #expect(
        d.region == "ap-south-1" && d.hostHeader() == "bkt.s3.ap-south-1.amazonaws.com"
            && d.path(forKey: "config") == "/config")
    for bad in ["s3:", "s3:https://host", "s3:ftp://h/bkt", "s3:https://h:99999/bkt", "s3:Bad_Bucket", "s3:bkt/../x"] {
        let e = #expect(throws: VaultError.self) { try S3Location.parse(bad, environment: [:]) }
        #expect(e?.code == .usage, "\(bad)")
    }
}

@Test func s3CredentialsComeFromTheEnvironmentOrTheSharedFile() throws {
    let env = try S3Credentials.resolve(["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3cr3t"])
    #expect(env.accessKeyID == "AKID" && !"\(env)".contains("s3cr3t"))
    let dir = NSTemporaryDirectory() + "cv-aws-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let file = dir + "/credentials"
    _ = FileManager.default.createFile(
        atPath: file,
        contents: Data(
            """
            [default]
            aws_access_key_id = DEFAULTKEY
            aws_secret_access_key = defaultsecret
            # a comment
            [backup]
            aws_access_key_id=BACKUPKEY
            aws_secret_access_key=backupsecret
            aws_session_token = tok
            """.utf8), attributes: [.posixPermissions: 0o600])
    let backup = try S3Credentials.resolve(["AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "backup"])
    #expect(backup.accessKeyID == "BACKUPKEY" && backup.source.contains("[backup]"))
    #expect(try S3Credentials.resolve(["AWS_SHARED_CREDENTIALS_FILE": file]).accessKeyID == "DEFAULTKEY")
    let missing = #expect(throws: VaultError.self) {
        try S3Credentials.resolve(["AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "nope"])
    }
    #expect(missing?.code == .usage)
    chmod(file, 0o644)
    let open = #expect(throws: VaultError.self) { try S3Credentials.resolve(["AWS_SHARED_CREDENTIALS_FILE": file]) }
    #expect(open?.code == .insecureFile)
}

@Test func s3WrongSecretIsReportedAsSuch() throws {
    let moto = try MotoS3.shared()
    var env = moto.environment
    env["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
    let b = try S3Backend.open(moto.newRepository("wrong-secret"), environment: env)
    let error = #expect(throws: VaultError.self) { try b.create() }
    #expect(error?.message.contains("secret key is wrong") == true, "\(String(describing: error))")
    #expect((error?.cause as? S3ErrorResponse)?.code == "SignatureDoesNotMatch")
    #expect(!"\(String(describing: error))".contains("not-the-secret"), "the secret never appears in an error")
}

@Test func s3MissingBucketAndUnreachableEndpointAreClear() throws {
    let moto = try MotoS3.shared()
    let noBucket = try S3Backend.open("s3:\(moto.endpoint)/no-such-bucket-here/x", environment: moto.environment)
    let e1 = #expect(throws: VaultError.self) { try noBucket.create() }
    #expect(e1?.code == .notARepository && e1?.message.contains("does not exist") == true, "\(String(describing: e1))")

    var env = moto.environment
    env["CHAINVAULT_S3_RETRIES"] = "2"
    let nowhere = try S3Backend.open("s3:http://127.0.0.1:1/bkt/x", environment: env)
    let e2 = #expect(throws: VaultError.self) { try nowhere.list(.snapshot) }
    #expect(
        e2?.code == .storageFailure && e2?.message.contains("after 2 attempts") == true, "\(String(describing: e2))")
    #expect(e2?.hint?.contains("reachable") == true)
}

@Test func s3OperationsSurviveInjectedFaults() throws {
    let moto = try MotoS3.shared()
    let proxy = try FaultProxy(upstreamPort: moto.port, seed: 7, rate: 0.3)
    defer { proxy.stop() }
    var env = moto.environment
    env["CHAINVAULT_S3_RETRIES"] = "12"
    let b = try S3Backend.open(moto.newRepository("faults", endpoint: proxy.endpoint), environment: env)
    try b.create()
    var rng = SplitMix64(seed: 5)
    var objects: [ObjectHandle: [UInt8]] = [:]
    for i in 0..<20 {
        let bytes = rng.bytes(1000 + i * 5000)
        let h = ObjectHandle(.index, SHA256.hash(bytes).hex)
        try b.write(h, bytes)
        objects[h] = bytes
    }
    for (h, bytes) in objects {
        #expect(try b.read(h) == bytes)
        #expect(try b.read(h, range: 10..<900) == Array(bytes[10..<900]))
    }
    #expect(Set(try b.list(.index).map(\.name)) == Set(objects.keys.map(\.name)))
    #expect((b.client.retries) > 0, "the proxy injected faults, so some requests were retried")
}
