import Foundation

/// Test vectors live in `Vectors/*.json`, decoded into Codable structs and run table-driven.
struct VectorFile<Case: Decodable>: Decodable {
    let source: String
    let cases: [Case]

    static func load(_ name: String) -> [Case] {
        let url = Bundle.module.url(forResource: "Vectors/\(name)", withExtension: "json")!
        return try! JSONDecoder().decode(VectorFile<Case>.self, from: Data(contentsOf: url)).cases
    }
}

func hex(_ s: String) -> [UInt8] { Array(unhex(s)) }

func unhex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var chars = Array(s.utf8)[...]
    while chars.count >= 2 {
        out.append(UInt8(String(decoding: chars.prefix(2), as: UTF8.self), radix: 16)!)
        chars = chars.dropFirst(2)
    }
    return out
}
