import Foundation
import Glibc

/// A new directory of its own under $TMPDIR, made with `mkdtemp` (unique even when tests run in
/// parallel, and never an existing directory); the caller removes it (`defer`).
public func temporaryDirectory(_ prefix: String = "cv-test") -> String {
    var template = Array((NSTemporaryDirectory() + "/" + prefix + "-XXXXXX").utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        fatalError("mkdtemp failed under \(NSTemporaryDirectory()): \(String(cString: strerror(errno)))")
    }
    return String(cString: made)
}
