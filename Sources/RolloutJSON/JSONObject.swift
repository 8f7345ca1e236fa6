/// A JSON object: string keys mapped to ``JSONValue``s, in insertion order.
///
/// Member order is kept for output (serialization and iteration follow it) but is not part of
/// equality: two objects are equal when they have the same keys with equal values.
///
/// Small objects are searched linearly; once an object grows past 16 members it also keeps a
/// hash index, so building and querying large objects stays amortized O(1) per member.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// A member of the object.
    public typealias Element = (key: String, value: JSONValue)

    /// The members, in order.
    private(set) var storage: OrderedStringMap<JSONValue>

    /// Creates an empty object.
    public init() {
        storage = OrderedStringMap()
    }

    /// Wraps already-built storage.
    init(storage: OrderedStringMap<JSONValue>) {
        self.storage = storage
    }

    /// Creates an object from a dictionary literal, keeping the literal's member order.
    ///
    /// If a key repeats, the last value wins and keeps the position of the first occurrence.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init()
        reserveCapacity(elements.count)
        for (key, value) in elements {
            storage.updateValue(value, forKey: key)
        }
    }

    /// The value for `key`, or `nil` if the object has no such member.
    ///
    /// Setting a value replaces an existing member in place (keeping its position) or appends a
    /// new member at the end; setting `nil` removes the member.
    public subscript(key: String) -> JSONValue? {
        get {
            storage[key]
        }
        set {
            if let newValue {
                storage.updateValue(newValue, forKey: key)
            } else {
                storage.removeValue(forKey: key)
            }
        }
    }

    /// The member names, in order.
    public var keys: [String] {
        storage.keys
    }

    /// The member values, in order.
    public var values: [JSONValue] {
        storage.values
    }

    /// The number of members.
    public var count: Int {
        storage.count
    }

    /// `true` if the object has no members.
    public var isEmpty: Bool {
        storage.count == 0
    }

    /// Removes the member named `key`, returning its value, or `nil` if there was none.
    /// The remaining members keep their order; like `Array.remove(at:)` this is O(n).
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        storage.removeValue(forKey: key)
    }

    /// Sets the value for `key` (replacing in place or appending) and returns the previous
    /// value, if any.
    @discardableResult
    public mutating func updateValue(_ value: JSONValue, forKey key: String) -> JSONValue? {
        storage.updateValue(value, forKey: key)
    }

    /// Reserves space for at least `minimumCapacity` members.
    public mutating func reserveCapacity(_ minimumCapacity: Int) {
        storage.reserveCapacity(minimumCapacity)
    }

    /// Returns an iterator over the members, in order.
    public func makeIterator() -> Iterator {
        Iterator(keys: storage.keys, values: storage.values)
    }

    /// The number of members.
    public var underestimatedCount: Int {
        storage.count
    }

    /// Iterates over the members of a ``JSONObject`` in order.
    public struct Iterator: IteratorProtocol {
        private let keys: [String]
        private let values: [JSONValue]
        private var position = 0

        init(keys: [String], values: [JSONValue]) {
            self.keys = keys
            self.values = values
        }

        /// Returns the next member, or `nil` after the last one.
        public mutating func next() -> Element? {
            guard position < keys.count else { return nil }
            defer { position += 1 }
            return (key: keys[position], value: values[position])
        }
    }

    /// Two objects are equal when they have the same set of keys and equal values for each key;
    /// member order is ignored.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.storage.keys == rhs.storage.keys {
            return lhs.storage.values == rhs.storage.values
        }
        for (key, value) in lhs where rhs[key] != value {
            return false
        }
        return true
    }

    /// Hashes the members independently of their order, consistent with `==`.
    public func hash(into hasher: inout Hasher) {
        var combined = 0
        for (key, value) in self {
            var memberHasher = Hasher()
            memberHasher.combine(key)
            memberHasher.combine(value)
            combined = combined &+ memberHasher.finalize()
        }
        hasher.combine(count)
        hasher.combine(combined)
    }
}

extension JSONObject: CustomStringConvertible {
    /// The compact JSON text of this object.
    public var description: String {
        JSONValue.object(self).jsonString
    }
}

/// An insertion-ordered map from strings to values: linear search while small, hash index once
/// it grows past ``indexThreshold`` entries.
struct OrderedStringMap<Value> {
    /// Above this many entries the map maintains `index`.
    static var indexThreshold: Int { 16 }

    /// The keys, in insertion order.
    private(set) var keys: [String] = []
    /// The values, parallel to `keys`.
    private(set) var values: [Value] = []
    /// Key → position, maintained only while `count > indexThreshold`.
    private var index: [String: Int]?

    /// Creates an empty map.
    init() {}

    /// The number of entries.
    var count: Int {
        keys.count
    }

    /// The position of `key`, if present.
    func position(of key: String) -> Int? {
        if let index {
            return index[key]
        }
        return keys.firstIndex(of: key)
    }

    /// The value for `key`, if present.
    subscript(key: String) -> Value? {
        guard let position = position(of: key) else { return nil }
        return values[position]
    }

    /// Replaces the value for `key` in place, or appends a new entry; returns the old value.
    @discardableResult
    mutating func updateValue(_ value: Value, forKey key: String) -> Value? {
        if let position = position(of: key) {
            let old = values[position]
            values[position] = value
            return old
        }
        keys.append(key)
        values.append(value)
        if index != nil {
            index?[key] = keys.count - 1
        } else if keys.count > Self.indexThreshold {
            rebuildIndex()
        }
        return nil
    }

    /// Removes the entry for `key`, keeping the order of the others; returns its value.
    /// O(n) like `Array.remove(at:)`: later entries shift down one position.
    @discardableResult
    mutating func removeValue(forKey key: String) -> Value? {
        guard let position = position(of: key) else { return nil }
        keys.remove(at: position)
        let old = values.remove(at: position)
        if keys.count <= Self.indexThreshold {
            index = nil
        } else if var newIndex = index {
            index = nil  // keep `newIndex` uniquely referenced while it is updated
            newIndex[key] = nil
            for shifted in position..<keys.count {
                newIndex[keys[shifted]] = shifted
            }
            index = newIndex
        }
        return old
    }

    /// Reserves space for at least `minimumCapacity` entries.
    mutating func reserveCapacity(_ minimumCapacity: Int) {
        keys.reserveCapacity(minimumCapacity)
        values.reserveCapacity(minimumCapacity)
    }

    /// A map with the same keys (and order) and transformed values.
    func mapValues<T>(_ transform: (Value) throws -> T) rethrows -> OrderedStringMap<T> {
        var result = OrderedStringMap<T>()
        result.keys = keys
        result.values = try values.map(transform)
        result.index = index
        return result
    }

    private mutating func rebuildIndex() {
        var newIndex = [String: Int](minimumCapacity: keys.count)
        for (position, key) in keys.enumerated() {
            newIndex[key] = position
        }
        index = newIndex
    }
}

extension OrderedStringMap: Sendable where Value: Sendable {}
