import Foundation

/// The disk under a power cut, rebuilt from an `OperationLog`: for each
/// file, what a sync made durable, and every version of each page written
/// since (the kernel may have written a page back at any moment, then seen
/// it change again). At a cut, each such page is on the platter as one of
/// its versions, or not at all, at random; one page being written back may
/// be torn at a 512-byte sector; the write in flight lands as a prefix of
/// its sectors; a size change since
/// the last sync may or may not have reached the disk; an unlink whose
/// directory was not synced may be undone, until the next sync of any
/// file (ext4 and XFS commit their metadata in order, so an fsync carries
/// every earlier unlink with it).
///
/// Pure: no file is touched; `CutImage` holds the bytes of each file.
struct DiskModel {
    static let pageSize = 4096
    static let sectorSize = 512
    /// Versions kept per page since its file's last sync: the first ones
    /// and the latest, enough to stand for every moment of writeback.
    static let versionsKept = 8

    struct FileState {
        var durable = Data()
        var current = Data()
        /// Each page (`offset / pageSize`) written since the last sync: its
        /// contents after each write, oldest first.
        var versions: [Int: [Data]] = [:]
        var sizeChanged = false
        /// Unlinked: for good (the directory was synced) or maybe.
        var deleted = false
        var deletionDurable = false

        mutating func noteVersion(of page: Int) {
            var kept = versions[page, default: []]
            kept.append(DiskModel.page(page, of: current))
            // The first versions and the latest ones.
            if kept.count > DiskModel.versionsKept { kept.remove(at: DiskModel.versionsKept / 2) }
            versions[page] = kept
        }
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
            for page in Self.pages(offset: offset, count: bytes.count) { files[name]!.noteVersion(of: page) }
            files[name]!.sizeChanged = files[name]!.sizeChanged || files[name]!.current.count != files[name]!.durable.count
        case .truncate(let file, let size):
            guard let name = names[file] else { return }
            Self.resize(&files[name, default: FileState()].current, to: size)
            files[name]!.sizeChanged = true
        case .sync(let file):
            for (other, state) in files where state.deleted && !state.deletionDurable { files[other]!.deletionDurable = true }
            guard let name = names[file], var state = files[name] else { return }
            state.durable = state.current
            state.versions = [:]
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
            var versions = state.versions
            // The write under way reached the page cache a sector at a time.
            if case .write(let file, let offset, let bytes) = inFlight, names[file] == name {
                let sectors = (bytes.count + Self.sectorSize - 1) / Self.sectorSize
                let landed = min(bytes.count, Int.random(in: 0...sectors, using: &random) * Self.sectorSize)
                if landed > 0 {
                    var current = state.current
                    Self.write(bytes.prefix(landed), at: offset, into: &current)
                    for page in Self.pages(offset: offset, count: landed) { versions[page, default: []].append(Self.page(page, of: current)) }
                }
            }
            var bytes = state.durable
            let sizeLanded = !state.sizeChanged || Bool.random(using: &random)
            if sizeLanded { Self.resize(&bytes, to: state.current.count) }
            // With the new size on disk, nothing lands past it.
            let limit = sizeLanded ? state.current.count : Int.max
            func clipped(_ version: Data, page: Int) -> Data { version.prefix(max(0, limit - page * Self.pageSize)) }
            for page in versions.keys.sorted() where Double.random(in: 0..<1, using: &random) < keepProbability {
                let candidates = versions[page]!
                // Mostly the latest; any earlier one as often as all others.
                let version = Bool.random(using: &random) ? candidates.last! : candidates.randomElement(using: &random)!
                Self.place(clipped(version, page: page), page: page, into: &bytes)
            }
            // One page on its way to the disk, torn after some sectors.
            if keepProbability > 0, Bool.random(using: &random), let page = versions.keys.randomElement(using: &random) {
                let version = versions[page]!.randomElement(using: &random)!
                let sectors = Int.random(in: 1...max(1, version.count / Self.sectorSize), using: &random)
                Self.place(clipped(version.prefix(sectors * Self.sectorSize), page: page), page: page, into: &bytes)
            }
            result[name] = bytes
        }
        return result
    }

    /// A page's bytes (shorter at the end of the file).
    static func page(_ page: Int, of data: Data) -> Data {
        let start = page * pageSize
        guard start < data.count else { return Data() }
        return data.subdata(in: start..<min(start + pageSize, data.count))
    }

    /// Writes a page's version in place; a page past the durable size lands
    /// with the size it implies.
    static func place(_ version: Data, page: Int, into bytes: inout Data) {
        guard !version.isEmpty else { return }
        write(Data(version), at: page * pageSize, into: &bytes)
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
