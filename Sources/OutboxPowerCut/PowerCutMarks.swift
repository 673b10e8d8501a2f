import PowerCutVFS

/// Markers in the operation log, between the file operations around them.
enum PowerCutMarks {
    static func write(_ text: String) {
        power_cut_vfs_mark(text)
    }
}
