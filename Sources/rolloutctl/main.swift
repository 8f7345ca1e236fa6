#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// `rolloutctl`: the command tree, the runner and the output live in the other files of this
// target; this file only hands the arguments over and exits with the status it gets back.
exit(await CommandRunner.run(arguments: Array(CommandLine.arguments.dropFirst())))
