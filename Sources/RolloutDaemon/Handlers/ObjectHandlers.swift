import RolloutCore
import RolloutRPC

extension Services {
    func registerObjects(into registry: inout MethodRegistry) {
        registry.register(ObjectPut.self) { params, context in try await putObject(params, context) }
        registry.register(ObjectGet.self) { params, context in try await getObject(params, context) }
        registry.register(ObjectHead.self) { params, _ in
            try ObjectKey.validate(params.key)
            let store = try require(objects, "ObjectStore")
            return try await health.track(.objectStore) { try await store.head(key: params.key) }
        }
        registry.register(ObjectDelete.self) { params, _ in
            try ObjectKey.validate(params.key)
            let store = try require(objects, "ObjectStore")
            try await health.track(.objectStore) { try await store.delete(key: params.key) }
            return ObjectDelete.Result(key: params.key)
        }
        registry.register(ObjectList.self) { params, _ in
            if let prefix = params.prefix { try ObjectKey.validatePrefix(prefix) }
            let limit = params.limit ?? 1000
            guard (1...1000).contains(limit) else {
                throw RolloutError.invalidParams("param 'limit' must be an integer between 1 and 1000 (got \(limit))")
            }
            let store = try require(objects, "ObjectStore")
            return try await health.track(.objectStore) {
                try await store.list(prefix: params.prefix, cursor: params.cursor, limit: limit)
            }
        }
    }

    private func putObject(_ params: ObjectPut.Params, _ context: RequestContext) async throws -> PutObjectResult {
        try ObjectKey.validate(params.key)
        let sources = [params.data != nil, params.text != nil, params.path != nil].filter { $0 }.count
        guard sources == 1 else {
            throw RolloutError.invalidParams("exactly one of params 'data', 'text' and 'path' is required (got \(sources))")
        }
        if let ifNoneMatch = params.ifNoneMatch, ifNoneMatch != "*" {
            throw RolloutError.invalidParams("param 'ifNoneMatch' must be \"*\"")
        }
        let source: ObjectSource
        if let data = params.data {
            guard Int64(data.utf8.count) / 4 * 3 <= Self.inlineLimit + 3 else {
                throw RolloutError(.tooLarge, "inline data is over 8 MiB; pass a 'path' inside file_roots instead")
            }
            guard let bytes = Base64.decode(data) else {
                throw RolloutError.invalidParams("param 'data' must be base64")
            }
            guard Int64(bytes.count) <= Self.inlineLimit else {
                throw RolloutError(.tooLarge, "inline data is \(bytes.count) bytes, over 8 MiB; pass a 'path' inside file_roots instead")
            }
            source = .bytes(bytes)
        } else if let text = params.text {
            guard Int64(text.utf8.count) <= Self.inlineLimit else {
                throw RolloutError(.tooLarge, "inline text is \(text.utf8.count) bytes, over 8 MiB; pass a 'path' inside file_roots instead")
            }
            source = .bytes(Array(text.utf8))
        } else {
            source = .file(try await files.openForReading(params.path ?? ""))
        }
        let store = try require(objects, "ObjectStore")
        let request = PutObjectRequest(
            key: params.key, source: source, contentType: params.contentType, metadata: params.metadata ?? [:],
            ifNoneMatch: params.ifNoneMatch != nil, ifMatch: params.ifMatch
        )
        let result = try await health.track(.objectStore) { try await store.put(request, progress: context.progress) }
        ProviderMetrics.uploaded(result.size)
        return result
    }

    private func getObject(_ params: ObjectGet.Params, _ context: RequestContext) async throws -> ObjectGet.Result {
        try ObjectKey.validate(params.key)
        if let range = params.range, range.start < 0 || range.end < range.start {
            throw RolloutError.invalidParams("param 'range' must have 0 <= start <= end (got \(range.start)-\(range.end))")
        }
        let destination: ObjectDestination
        if let path = params.path {
            destination = .file(try await files.openTarget(path))
        } else {
            destination = .memory(limit: Self.inlineLimit)
        }
        let store = try require(objects, "ObjectStore")
        let request = GetObjectRequest(key: params.key, range: params.range, ifMatch: params.ifMatch, destination: destination)
        let result = try await health.track(.objectStore) { try await store.get(request, progress: context.progress) }
        let returned: Int64
        if let data = result.data {
            returned = Int64(data.count)
        } else if let range = params.range {
            returned = max(0, min(range.end, result.info.size - 1) - range.start + 1)
        } else {
            returned = result.info.size
        }
        ProviderMetrics.downloaded(returned)
        return ObjectGet.Result(info: result.info, size: returned, data: result.data.map { Base64.encode($0) })
    }
}
