public import RolloutCore

extension LocalObjectStore {
    /// Lists keys under `prefix` in byte order, `limit` (1–1000) at a time. The cursor is the
    /// last key of the previous page, encoded opaquely; it is returned only when more keys
    /// remain.
    public func list(prefix: String?, cursor: String?, limit: Int) async throws -> ObjectListing {
        guard (1...1000).contains(limit) else {
            throw RolloutError.invalidParams("param 'limit' must be 1–1000 (got \(limit))")
        }
        let after = try cursor.map(ListCursor.key(after:)) ?? ""
        let prefix = prefix ?? ""
        let upperBound = Self.upperBound(ofPrefix: prefix)
        let rows = try await index.list(after: after, prefix: prefix, upperBound: upperBound, limit: limit + 1).map { row in
            ObjectSummary(key: row.key, size: row.size, etag: row.etag, lastModified: RFC3339.format(milliseconds: row.lastModified))
        }
        let page = Array(rows.prefix(limit))
        let next = rows.count > limit ? page.last.map { ListCursor.make(after: $0.key) } : nil
        return ObjectListing(objects: page, cursor: next)
    }

    /// The least string greater than every string that starts with `prefix` (nil when there
    /// is none, e.g. for the empty prefix): `prefix` with its last scalar incremented. UTF-8
    /// byte order is scalar order, so `prefix <= key < bound` selects exactly the keys that
    /// start with `prefix`.
    private static func upperBound(ofPrefix prefix: String) -> String? {
        var scalars = Array(prefix.unicodeScalars)
        while let last = scalars.popLast() {
            // Skip the surrogate block, which holds no scalars.
            let next = last.value == 0xD7FF ? 0xE000 : last.value + 1
            if let scalar = Unicode.Scalar(next) {
                var bound = String.UnicodeScalarView()
                bound.append(contentsOf: scalars)
                bound.append(scalar)
                return String(bound)
            }
        }
        return nil
    }
}
