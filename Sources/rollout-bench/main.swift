import Glibc

// rollout-bench: measures rolloutd (ready time, sys.ping latency, pipelined throughput, idle memory)
// side by side with a minimal Python asyncio JSON-RPC server measured in the same run; with a moto
// server (--moto-endpoint), also cached secret.get on provider aws (against sys.ping on the same
// daemon) and SigV4 signing (against botocore).
// It prints figures only: nothing here asserts on a time. The exit status is 1 when a response was
// not a result, a rolloutd did not exit 0 on SIGTERM or a consistency check failed, 2 on a usage error.

let options: Options
do {
    options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
} catch let error as Options.UsageError {
    if error.description.isEmpty {
        print(Options.usage)
        exit(0)
    }
    printError("rollout-bench: \(error.description)\n\n\(Options.usage)")
    exit(2)
}

let exitCode: Int32
do {
    let bench = try Bench(options: options)
    do {
        let figures = try bench.run()
        bench.cleanup(showLogs: false)
        print(options.json ? figures.json() : figures.table())
        for problem in figures.problems { printError("rollout-bench: " + problem) }
        exitCode = figures.failed ? 1 : 0
    } catch {
        printError("rollout-bench: \(error)")
        bench.cleanup(showLogs: true)
        exitCode = 1
    }
} catch {
    printError("rollout-bench: \(error)")
    exitCode = 1
}
exit(exitCode)
