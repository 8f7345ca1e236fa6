extension JSONValue: Codable {
    /// Encodes the value. With ``JSONValueEncoder`` the value is inserted as-is; with other
    /// encoders it is written through single-value, unkeyed and keyed containers.
    public func encode(to encoder: any Encoder) throws {
        if let sink = encoder as? any JSONValueSink, sink.storeJSONValue(self) { return }
        switch self {
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case .bool(let bool):
            var container = encoder.singleValueContainer()
            try container.encode(bool)
        case .number(let number):
            try number.encode(to: encoder)
        case .string(let string):
            var container = encoder.singleValueContainer()
            try container.encode(string)
        case .array(let elements):
            var container = encoder.unkeyedContainer()
            for element in elements {
                try container.encode(element)
            }
        case .object(let object):
            try object.encode(to: encoder)
        }
    }

    /// Decodes any value. With ``JSONValueDecoder`` the value is taken as-is; with other decoders
    /// it is probed as null, boolean, number, string, object and array, in that order.
    public init(from decoder: any Decoder) throws {
        if let source = decoder as? any JSONValueSource, let value = source.passThroughValue {
            self = value
            return
        }
        if let container = try? decoder.singleValueContainer() {
            if container.decodeNil() {
                self = .null
                return
            }
            if let bool = try? container.decode(Bool.self) {
                self = .bool(bool)
                return
            }
            if let number = try? JSONNumber(from: decoder) {
                self = .number(number)
                return
            }
            if let string = try? container.decode(String.self) {
                self = .string(string)
                return
            }
        }
        if let container = try? decoder.container(keyedBy: JSONCodingKey.self) {
            self = .object(try JSONObject(members: container))
            return
        }
        if var container = try? decoder.unkeyedContainer() {
            var elements: [JSONValue] = []
            elements.reserveCapacity(container.count ?? 0)
            while !container.isAtEnd {
                elements.append(try container.decode(JSONValue.self))
            }
            self = .array(elements)
            return
        }
        throw DecodingError.dataCorrupted(DecodingError.Context(
            codingPath: decoder.codingPath,
            debugDescription: "The value is not representable as JSON."
        ))
    }
}

extension JSONObject: Codable {
    /// Encodes the object. With ``JSONValueEncoder`` it is inserted as-is; with other encoders it
    /// is written through a keyed container, member by member in order.
    public func encode(to encoder: any Encoder) throws {
        if let sink = encoder as? any JSONValueSink, sink.storeJSONValue(.object(self)) { return }
        var container = encoder.container(keyedBy: JSONCodingKey.self)
        for (key, value) in self {
            try container.encode(value, forKey: JSONCodingKey(stringValue: key))
        }
    }

    /// Decodes an object. With ``JSONValueDecoder`` it is taken as-is; with other decoders it is
    /// read through a keyed container (member order is whatever that decoder reports).
    public init(from decoder: any Decoder) throws {
        if let source = decoder as? any JSONValueSource, case .object(let object)? = source.passThroughValue {
            self = object
            return
        }
        try self.init(members: decoder.container(keyedBy: JSONCodingKey.self))
    }

    /// Reads every member of a keyed container.
    init(members container: KeyedDecodingContainer<JSONCodingKey>) throws {
        self.init()
        let keys = container.allKeys
        reserveCapacity(keys.count)
        for key in keys {
            self[key.stringValue] = try container.decode(JSONValue.self, forKey: key)
        }
    }
}

extension JSONNumber: Codable {
    /// Encodes the number. With ``JSONValueEncoder`` the literal text is kept; with other encoders
    /// integral numbers that fit `Int64`/`UInt64` are encoded as such and all others as `Double`.
    public func encode(to encoder: any Encoder) throws {
        if let sink = encoder as? any JSONValueSink, sink.storeJSONValue(.number(self)) { return }
        var container = encoder.singleValueContainer()
        if isInteger {
            if let value = exactInteger(Int64.self) {
                try container.encode(value)
                return
            }
            if let value = exactInteger(UInt64.self) {
                try container.encode(value)
                return
            }
        }
        try container.encode(doubleValue)
    }

    /// Decodes a number. With ``JSONValueDecoder`` the literal text is kept; with other decoders
    /// it is read as `Int64`, `UInt64` or (finite) `Double`, in that order.
    public init(from decoder: any Decoder) throws {
        if let source = decoder as? any JSONValueSource, case .number(let number)? = source.passThroughValue {
            self = number
            return
        }
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int64.self) {
            self.init(value)
        } else if let value = try? container.decode(UInt64.self) {
            self.init(value)
        } else {
            let value = try container.decode(Double.self)
            guard value.isFinite else {
                throw DecodingError.dataCorrupted(DecodingError.Context(
                    codingPath: container.codingPath,
                    debugDescription: "must be a finite number"
                ))
            }
            self.init(value)
        }
    }
}
