import Foundation

/// The disk under a power cut, rebuilt from an `OperationLog`: for each
/// file, what a sync made durable, and what the page cache held on top of
/// it. At a cut, every page written since the file's last sync is either
/// on the platter (its latest content) or not, at random; the write in
/// flight lands as a prefix of its 512-byte sectors; a size change since
/// the last sync may or may not have reached the disk; an unlink whose
/// directory was not synced may be undone, until the next sync of any
/// file (ext4 and XFS commit their metadata in order, so an fsync carries
/// every earlier unlink with it).
///
/// Pure: no file is touched; `CutImage` holds the bytes of each file.
struct DiskModel {
    static let pageSize = 4096
    static let sectorSize = 512

    struct FileState {
        var durable = Data()
        var current = Data()
        /// Pages (`offset / pageSize`) written since the last sync.
        var dirtyPages = Set<Int>()
        var sizeChanged = false
        /// Unlinked: for good (the directory was synced) or maybe.
        var deleted = false
        var deletionDurable = false
    }

    /// Every file seen so far, by name.
    private(set) var files: [String: FileState] = [:]
    private var names: [Int: String] = [:]

    /// Applies one operation, as the file system saw it.
    mutating func apply(_ operation: OperationLog.Operation) {
        switch operation {
        case .open(let file, let name):
            names[file] = name
            if files[name] == nil || files[name]!.deleted { files[name] = FileState() }
        case .write(let file, let offset, let bytes):
            guard let name = names[file] else { return }
            Self.write(bytes, at: offset, into: &files[name, default: FileState()].current)
            for page in Self.pages(offset: offset, count: bytes.count) { files[name]!.dirtyPages.insert(page) }
            files[name]!.sizeChanged = files[name]!.sizeChanged || files[name]!.current.count != files[name]!.durable.count
        case .truncate(let file, let size):
            guard let name = names[file] else { return }
            Self.resize(&files[name, default: FileState()].current, to: size)
            files[name]!.sizeChanged = true
        case .sync(let file):
            for (other, state) in files where state.deleted && !state.deletionDurable { files[other]!.deletionDurable = true }
            guard let name = names[file], var state = files[name] else { return }
            state.durable = state.current
            state.dirtyPages = []
            state.sizeChanged = false
            files[name] = state
        case .delete(let name, let durable):
            files[name]?.deleted = true
            files[name]?.deletionDurable = durable
        case .mark:
            break
        }
    }

    /// The bytes of each file after a cut just before `inFlight` (the
    /// operation that was under way, or nil), choosing with `random`. A
    /// file absent from the result does not exist after the cut.
    func image(inFlight: OperationLog.Operation?, keepProbability: Double, random: inout some RandomNumberGenerator) -> [String: Data] {
        var result: [String: Data] = [:]
        for (name, state) in files {
            if state.deleted && (state.deletionDurable || Bool.random(using: &random)) { continue }
            var current = state.current
            var dirty = state.dirtyPages
            // The write under way reached the page cache a sector at a time.
            if case .write(let file, let offset, let bytes) = inFlight, names[file] == name {
                let sectors = (bytes.count + Self.sectorSize - 1) / Self.sectorSize
                let landed = min(bytes.count, Int.random(in: 0...sectors, using: &random) * Self.sectorSize)
                if landed > 0 {
                    Self.write(bytes.prefix(landed), at: offset, into: &current)
                    for page in Self.pages(offset: offset, count: landed) { dirty.insert(page) }
                }
            }
            var bytes = state.durable
            let sizeLanded = !state.sizeChanged || Bool.random(using: &random)
            if sizeLanded { Self.resize(&bytes, to: current.count) }
            for page in dirty.sorted() where Double.random(in: 0..<1, using: &random) < keepProbability {
                let start = page * Self.pageSize
                guard start < current.count else { continue }
                let end = min(start + Self.pageSize, current.count)
                // A page past the durable size lands with the size it implies.
                if bytes.count < end { Self.resize(&bytes, to: end) }
                bytes.replaceSubrange(start..<end, with: current[start..<end])
            }
            result[name] = bytes
        }
        return result
    }

    static func pages(offset: Int, count: Int) -> ClosedRange<Int> {
        (offset / pageSize)...((offset + max(count, 1) - 1) / pageSize)
    }

    static func write(_ bytes: Data, at offset: Int, into data: inout Data) {
        if data.count < offset + bytes.count { resize(&data, to: offset + bytes.count) }
        data.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
    }

    static func resize(_ data: inout Data, to size: Int) {
        if data.count > size {
            data.removeSubrange(size..<data.count)
        } else if data.count < size {
            data.append(Data(count: size - data.count))
        }
    }
}
