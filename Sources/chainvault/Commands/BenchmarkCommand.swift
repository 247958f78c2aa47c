enum BenchmarkCommand: Command {
    static let name = "benchmark"
    static let summary = "measure each stage's throughput on this machine"
    static let help = "Usage: chainvault benchmark"
    static let spec = ArgumentSpec(positionalsAllowed: 0...0)
    static func run(_ c: Context) throws -> Int32 { 0 }
}
