import ArgumentParser
import Foundation
import RolloutCore
import RolloutRPC
import RolloutSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `rolloutctl object put|get|head|rm|ls` → `object.*`.
struct ObjectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "object",
        abstract: "Store, fetch, inspect, delete and list objects (object.*).",
        subcommands: [Put.self, Get.self, Head.self, Remove.self, List.self]
    )

    /// The most bytes sent inline (stdin), as the daemon allows.
    static let inlineLimit = 8 * 1024 * 1024
}

extension ObjectCommand {
    /// `object put KEY (--file PATH | --text TEXT | --data-base64 B64 | -)`.
    struct Put: RunnableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store an object from a file, text, base64 data or stdin (object.put).",
            discussion: """
                A --file path is made absolute and read by the daemon itself: it must lie inside the \
                daemon's [server].file_roots. '-' reads the body from stdin, of any size with constant \
                memory: it is copied in chunks into a temporary file (mode 0600) in the first of the \
                configuration's file_roots that exists, which the daemon streams and which is removed \
                afterwards; with no such directory, stdin is sent inline (at most 8 MiB).
                """
        )

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Argument(help: "The object key.")
        var key: String

        @Argument(help: ArgumentHelp("'-' to read the body from stdin.", valueName: "-"))
        var stdin: String?

        @Option(help: ArgumentHelp("Upload this file (inside the daemon's file_roots).", valueName: "path"))
        var file: String?

        @Option(help: "Store this text (UTF-8).")
        var text: String?

        @Option(help: ArgumentHelp("Store these base64-encoded bytes.", valueName: "b64"))
        var dataBase64: String?

        @Option(help: "The object's content type.")
        var contentType: String?

        @Option(help: ArgumentHelp("User metadata; repeat for more entries.", valueName: "k=v"))
        var metadata: [String] = []

        @Flag(help: "Fail with PreconditionFailed if the key already exists.")
        var ifNoneMatch = false

        @Option(help: ArgumentHelp("Replace only the object with this etag.", valueName: "etag"))
        var ifMatch: String?

        @Option(help: "Make a retry of this put return the first result instead of storing again.")
        var idempotencyKey: String?

        func validate() throws {
            if let stdin, stdin != "-" {
                throw ValidationError("unexpected argument '\(stdin)': the only source argument is '-' (stdin)")
            }
            let sources = [file != nil, text != nil, dataBase64 != nil, stdin != nil].filter { $0 }.count
            guard sources == 1 else {
                throw ValidationError("give exactly one of --file, --text, --data-base64 and '-' (stdin)")
            }
            _ = try ArgumentValues.pairs(metadata, option: "--metadata")
        }

        func execute(in session: Session) async throws -> ExitStatus {
            var params = ObjectPut.Params(key: key, contentType: contentType, ifMatch: ifMatch)
            var spool: SpoolFile?
            if let file {
                params.path = file.absolutePath
            } else if let text {
                params.text = text
            } else if let dataBase64 {
                params.data = dataBase64
            } else if let root = session.spoolRoot() {
                spool = SpoolFile(root: root, suffix: "put")
            } else {
                params.data = Data(try Self.readStandardInput()).base64EncodedString()
            }
            defer { spool?.remove() }
            if let spool {
                _ = try await BlockingIO(label: "rolloutctl.stdin").run { _ in try spool.fill() }
                params.path = spool.path
            }
            if !metadata.isEmpty {
                params.metadata = try ArgumentValues.pairs(metadata, option: "--metadata")
            }
            if ifNoneMatch { params.ifNoneMatch = "*" }

            let bar = ProgressBar.make(session.console, enabled: params.path != nil)
            let put: ObjectPut.Result
            do {
                put = try await session.call(ObjectPut.self, params, idempotencyKey: idempotencyKey, progress: bar?.callback)
            } catch {
                bar?.finish()
                throw error
            }
            bar?.finish(completedBytes: put.size)
            let result = try JSONValue(encoding: put)
            session.console.emit(result) { HumanText.object(result) }
            return .success
        }

        /// All of stdin, refused beyond the inline limit.
        static func readStandardInput() throws -> [UInt8] {
            let bytes: [UInt8]?
            do {
                bytes = try FileDescriptor.standardInput.readToEnd(maxBytes: ObjectCommand.inlineLimit)
            } catch {
                throw RolloutError(.invalidParams, "cannot read stdin: \(SystemError.message(for: error.code))")
            }
            guard let bytes else {
                throw RolloutError(.tooLarge, "stdin is over 8 MiB and no file root exists to stream it through; create the first of [server].file_roots or use --file")
            }
            return bytes
        }
    }

    /// `object get KEY [--output PATH | -] [--range START-END] [--if-match ETAG]`.
    struct Get: RunnableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch an object to stdout or to a file (object.get).",
            discussion: """
                Without --output (or with '-' or '--output -') the bytes go to stdout, of any size with \
                constant memory: the daemon writes the object to a temporary file in the first of the \
                configuration's file_roots that exists, which is copied to stdout in chunks and removed; \
                with no such directory the object comes inline (at most 8 MiB). With --json the result \
                object (data in base64, at most 8 MiB) is printed instead. With --output PATH the daemon \
                writes the file itself, so PATH must lie inside its [server].file_roots.
                """
        )

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Argument(help: "The object key.")
        var key: String

        @Argument(help: ArgumentHelp("'-' to write the body to stdout (the default).", valueName: "-"))
        var stdout: String?

        @Option(name: [.short, .long], help: ArgumentHelp("Write the object to this file ('-': stdout).", valueName: "path"))
        var output: String?

        @Option(help: ArgumentHelp("Only these bytes, both offsets inclusive.", valueName: "start-end"))
        var range: String?

        @Option(help: ArgumentHelp("Fail with PreconditionFailed unless the object has this etag.", valueName: "etag"))
        var ifMatch: String?

        func validate() throws {
            if let range { _ = try ArgumentValues.byteRange(range) }
            if let stdout, stdout != "-" {
                throw ValidationError("unexpected argument '\(stdout)': the only target argument is '-' (stdout); use --output PATH")
            }
            if stdout != nil, let output, output != "-" {
                throw ValidationError("give one of '-' and --output")
            }
        }

        func execute(in session: Session) async throws -> ExitStatus {
            var params = ObjectGet.Params(key: key, range: try range.map(ArgumentValues.byteRange), ifMatch: ifMatch)
            guard let output, output != "-" else {
                if !session.console.json, let root = session.spoolRoot() {
                    let spool = SpoolFile(root: root, suffix: "get")
                    defer { spool.remove() }
                    params.path = spool.path
                    _ = try await Self.fetch(params, in: session)
                    _ = try await BlockingIO(label: "rolloutctl.stdout").run { _ in try spool.drain() }
                    return .success
                }
                let result = try await session.call(ObjectGet.self, params)
                if session.console.json {
                    session.console.printJSON(try JSONValue(encoding: result))
                } else {
                    guard let data = result.data.flatMap({ Data(base64Encoded: $0) }) else {
                        throw RolloutError(.internalError, "the daemon's object.get result has no base64 'data'")
                    }
                    StandardStream.output.write(bytes: [UInt8](data))
                }
                return .success
            }
            params.path = output.absolutePath
            let result = try JSONValue(encoding: await Self.fetch(params, in: session))
            session.console.emit(result) { HumanText.object(result) }
            return .success
        }

        /// `object.get` to `params.path`, with a progress bar.
        static func fetch(_ params: ObjectGet.Params, in session: Session) async throws -> ObjectGet.Result {
            let bar = ProgressBar.make(session.console)
            do {
                let result = try await session.call(ObjectGet.self, params, progress: bar?.callback)
                bar?.finish(completedBytes: result.size)
                return result
            } catch {
                bar?.finish()
                throw error
            }
        }
    }

    /// `object head KEY`.
    struct Head: RunnableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an object's size, etag and metadata (object.head).")

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Argument(help: "The object key.")
        var key: String

        func execute(in session: Session) async throws -> ExitStatus {
            let result = try JSONValue(encoding: await session.call(ObjectHead.self, .init(key: key)))
            session.console.emit(result) { HumanText.object(result) }
            return .success
        }
    }

    /// `object rm KEY [--idempotency-key K]`.
    struct Remove: RunnableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete an object (object.delete).")

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Argument(help: "The object key.")
        var key: String

        @Option(help: "Make a retry of this delete return the first result.")
        var idempotencyKey: String?

        func execute(in session: Session) async throws -> ExitStatus {
            let result = try JSONValue(encoding: await session.call(ObjectDelete.self, .init(key: key), idempotencyKey: idempotencyKey))
            session.console.emit(result) { "deleted \(key)" }
            return .success
        }
    }

    /// `object ls [PREFIX] [--limit N] [--cursor C] [--all]`.
    struct List: RunnableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List objects (object.list).")

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Argument(help: "Only keys starting with this prefix.")
        var prefix: String?

        @Option(help: "At most this many objects per page (1–1000).")
        var limit: Int?

        @Option(help: "Continue a listing from the cursor a previous page returned.")
        var cursor: String?

        @Flag(help: "Follow cursors until the listing is complete.")
        var all = false

        func execute(in session: Session) async throws -> ExitStatus {
            var params = ObjectList.Params(prefix: prefix, cursor: cursor, limit: limit)
            var objects: [JSONValue] = []
            var result: JSONObject
            repeat {
                result = try JSONValue(encoding: await session.call(ObjectList.self, params)).objectValue ?? [:]
                objects += result["objects"]?.arrayValue ?? []
                params.cursor = result["cursor"]?.stringValue
            } while all && params.cursor != nil
            result["objects"] = .array(objects)

            session.console.emit(.object(result)) {
                var table = Table("KEY", "SIZE", "ETAG", "LAST MODIFIED").rightAligning(1)
                for object in objects {
                    table.append([
                        object["key"]?.stringValue ?? "", object["size"]?.int64Value.map(HumanText.bytes) ?? "",
                        object["etag"]?.stringValue ?? "", object["lastModified"]?.stringValue ?? "",
                    ])
                }
                return table.rendered(header: session.console.bold)
            }
            if !session.console.json, let next = result["cursor"]?.stringValue {
                session.console.note("more objects: continue with --cursor \(next), or list them all with --all")
            }
            return .success
        }
    }
}
