public import RolloutCore

/// Method handlers by name; handlers are attached by method type.
public struct MethodRegistry: Sendable {
    struct Entry: Sendable {
        var isMutating: Bool
        var reportsProgress: Bool
        var ignoresIdempotencyKey: Bool
        var run: @Sendable (JSONObject, RequestContext) async throws -> JSONValue
    }

    private(set) var entries: [String: Entry] = [:]

    /// An empty registry.
    public init() {}

    /// Attaches `handler` to `method`; params are decoded by name, unknown params rejected.
    public mutating func register<M: RPCMethod>(
        _ method: M.Type, handler: @escaping @Sendable (M.Params, RequestContext) async throws -> M.Result
    ) {
        entries[M.name] = Entry(isMutating: M.isMutating, reportsProgress: M.reportsProgress, ignoresIdempotencyKey: M.ignoresIdempotencyKey) { object, context in
            let params = try ParamsDecoding.decode(M.Params.self, from: object)
            let result = try await handler(params, context)
            return try JSONValueEncoder().encode(result)
        }
    }

    /// Attaches a handler that refuses `method` with `error` whatever its params (a capability
    /// the running provider does not have).
    public mutating func registerUnavailable<M: RPCMethod>(_ method: M.Type, error: RolloutError) {
        entries[M.name] = Entry(isMutating: M.isMutating, reportsProgress: M.reportsProgress, ignoresIdempotencyKey: M.ignoresIdempotencyKey) { _, _ in
            throw error
        }
    }

    /// The registered method names, sorted.
    public var names: [String] { entries.keys.sorted() }
}

/// Decoding of params objects into method params types.
enum ParamsDecoding {
    static func decode<P: Codable>(_ type: P.Type, from object: JSONObject) throws(RolloutError) -> P {
        if P.self == JSONObject.self, let object = object as? P {
            return object
        }
        let params: P
        do {
            params = try JSONValueDecoder().decode(P.self, from: .object(object))
        } catch let error as DecodingError {
            throw .invalidParams(describeDecodingError(error))
        } catch let error as RolloutError {
            throw error
        } catch {
            throw .invalidParams("invalid params: \(error)")
        }
        // Members the type does not know are typos (`ifNonMatch`), not extensions: reject them.
        // Whatever survives a decode/encode round trip is known; nulls count as absent.
        if !object.isEmpty, let encoded = try? JSONValueEncoder().encode(params),
            let unknown = firstUnknownMember(.object(object), known: encoded, path: "")
        {
            throw .invalidParams("unknown param '\(unknown)'")
        }
        return params
    }

    private static func firstUnknownMember(_ given: JSONValue, known: JSONValue, path: String) -> String? {
        switch (given, known) {
        case (.object(let given), .object(let known)):
            for (key, value) in given where value != .null {
                let child = path.isEmpty ? key : "\(path).\(key)"
                guard let knownValue = known[key] else { return child }
                if let unknown = firstUnknownMember(value, known: knownValue, path: child) { return unknown }
            }
        case (.array(let given), .array(let known)) where given.count == known.count:
            for (index, (value, knownValue)) in zip(given, known).enumerated() {
                if let unknown = firstUnknownMember(value, known: knownValue, path: "\(path)[\(index)]") { return unknown }
            }
        default:
            break
        }
        return nil
    }
}
