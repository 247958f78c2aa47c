import Foundation
import VaultRepository

/// What one verify worker reuses from pack to pack: the buffer a whole pack is read into and the
/// codec (GCM and zstd contexts, its decompression scratch) its blobs are opened with. Before
/// session 9 each pack got a fresh pack-sized buffer (zero-filled, new pages faulted in) and a
/// fresh codec whose scratch grew again blob by blob.
final class PackReadState {
    var buffer: [UInt8] = []
    let codec: BlobCodec
    init(codec: BlobCodec) { self.codec = codec }
}

/// At most one `PackReadState` per worker: a worker takes one for a pack and gives it back, so
/// verify holds `workers` pack buffers however many packs it reads. A buffer that grew past
/// `keepAtMost` (a pack far larger than this repository writes, which the read has already
/// bounded by `ObjectLimits`) is dropped rather than kept for the rest of the run.
///
/// @unchecked: `idle` and `made` are read and written only under `lock`; a `PackReadState` (not
/// thread-safe) is held by one worker at a time, between taking it and giving it back.
final class PackReadBuffers: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [PackReadState] = []
    private let make: () -> BlobCodec
    let keepAtMost: Int
    /// How many states were made: the most workers that read at once (tests check it).
    private(set) var made = 0

    init(keepAtMost: Int, make: @escaping () -> BlobCodec) {
        self.keepAtMost = keepAtMost
        self.make = make
    }

    func with<R>(_ body: (PackReadState) throws -> R) rethrows -> R {
        let state =
            lock.withLock { () -> PackReadState? in
                if let s = idle.popLast() { return s }
                made += 1
                return nil
            } ?? PackReadState(codec: make())
        defer {
            if state.buffer.capacity > keepAtMost { state.buffer = [] }
            lock.withLock { idle.append(state) }
        }
        return try body(state)
    }
}
