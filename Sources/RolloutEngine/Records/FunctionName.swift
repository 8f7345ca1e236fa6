/// Lambda function names as the alias claim compares them.
public enum FunctionName {
    /// The function's name, whether given as a name, a full ARN
    /// (`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`) or a partial one
    /// (`<account>:function:<name>`), so that two spellings of one function claim one alias.
    public static func normalized(_ function: String) -> String {
        let parts = function.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count >= 7, parts[0] == "arn", parts[5] == "function" { return String(parts[6]) }
        if parts.count >= 3, parts[1] == "function" { return String(parts[2]) }
        return function
    }
}
