/// The mapping from meter global ids (the upload URL's) to Zuora's numeric
/// meter ids (the audit trail's), from `--meter-id GLOBAL=ID` (repeatable),
/// `OUTBOX_METER_IDS="g1=101,g2=102"` and the config file's
/// `"meter-ids": {"g1": 101}`, merged meter by meter: for each meter, a
/// flag's id wins over the environment's, which wins over the file's.
enum MeterIDs {
    static func parse(pair text: String) -> (meter: String, id: Int64)? {
        let parts = text.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, !parts[0].isEmpty, let id = Int64(parts[1]), id > 0 else { return nil }
        return (parts[0], id)
    }

    static func fromFile(_ value: ConfigValue) -> [String: Int64]? {
        guard case .object(let object) = value else { return nil }
        var ids: [String: Int64] = [:]
        for (meter, value) in object {
            guard case .number(let number) = value, number.rounded() == number, number > 0, number < 1e15 else { return nil }
            ids[meter] = Int64(number)
        }
        return ids
    }

    static func resolve(flags: [String], file: ConfigFile, record: SettingsRecord? = nil) throws -> [String: Resolved<Int64>] {
        var ids: [String: Resolved<Int64>] = [:]
        if let raw = file.raw(Settings.meterIDsKey), let fromFile = fromFile(raw) {
            for (meter, id) in fromFile { ids[meter] = Resolved(value: id, source: .file) }
        }
        if let text = Environment.string(Settings.meterIDsEnvironment) {
            for item in text.split(separator: ",") where !item.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let (meter, id) = parse(pair: String(item)) else {
                    throw CommandFailure(
                        "\(Settings.meterIDsEnvironment) holds \"\(item)\", not GLOBAL=ID with a numeric meter id",
                        hint: "write it like \(Settings.meterIDsEnvironment)=\"api-calls=101,storage=102\"", exitCode: Exit.usage)
                }
                ids[meter] = Resolved(value: id, source: .environment)
            }
        }
        for flag in flags {
            guard let (meter, id) = parse(pair: flag) else {
                throw CommandFailure(
                    "--meter-id \(flag) is not GLOBAL=ID with a numeric meter id", hint: "write it like --meter-id api-calls=101",
                    exitCode: Exit.usage)
            }
            ids[meter] = Resolved(value: id, source: .flag)
        }
        if let record {
            let text = ids.isEmpty ? "(none)" : ids.keys.sorted().map { "\($0)=\(ids[$0]!.value)" }.joined(separator: ",")
            let sources = Set(ids.values.map(\.source))
            record.note(Settings.meterIDsKey, text, sources.count == 1 ? sources.first! : (ids.isEmpty ? .default : .flag))
        }
        return ids
    }
}
