/// A coding key for object members and array positions.
struct JSONCodingKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }

    init(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }

    /// The key for position `index` of an array, spelled like Foundation's (`Index 3`).
    init(index: Int) {
        stringValue = "Index \(index)"
        intValue = index
    }

    /// The key used by `superEncoder()` / `superDecoder()`.
    static let superKey = JSONCodingKey(stringValue: "super")
}

/// A coding path as a persistent linked list, so descending one level is O(1) and the array form
/// is only built when someone asks for it (typically for an error).
indirect enum CodingPathNode {
    case root
    case child(parent: CodingPathNode, key: any CodingKey)

    /// This path extended by `key`.
    func appending(_ key: any CodingKey) -> CodingPathNode {
        .child(parent: self, key: key)
    }

    /// This path extended by the key for array position `index`.
    func appending(index: Int) -> CodingPathNode {
        .child(parent: self, key: JSONCodingKey(index: index))
    }

    /// The keys from the root down.
    var keys: [any CodingKey] {
        var result: [any CodingKey] = []
        var node = self
        while case .child(let parent, let key) = node {
            result.append(key)
            node = parent
        }
        result.reverse()
        return result
    }
}

/// Implemented by our `Encoder` so ``JSONValue`` (and ``JSONObject``, ``JSONNumber``) can hand
/// themselves over directly instead of being re-encoded through containers.
protocol JSONValueSink: AnyObject {
    /// Stores `value` as what was encoded at this encoder's path; returns `false` (storing
    /// nothing) when pass-through is disabled and the caller must use containers instead.
    func storeJSONValue(_ value: JSONValue) -> Bool
}

/// Implemented by our `Decoder` so ``JSONValue`` (and ``JSONObject``, ``JSONNumber``) can take the
/// value being decoded directly instead of rebuilding it through containers.
protocol JSONValueSource {
    /// The value at this decoder's path, or `nil` when pass-through is disabled.
    var passThroughValue: JSONValue? { get }
}

/// Settings shared by every encoder/decoder created for one top-level call.
struct JSONCodingOptions {
    /// The user's context for `Encodable`/`Decodable` implementations.
    var userInfo: [CodingUserInfoKey: Any]
    /// Whether ``JSONValue`` and friends may bypass containers (always on outside tests, which
    /// turn it off to exercise the container path that foreign coders use).
    var passThrough: Bool
}
