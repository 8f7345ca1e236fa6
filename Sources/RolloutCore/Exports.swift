// The JSON stack (value type, parser, serializer, Codable bridge) is its own module; everything
// that imports RolloutCore sees it, as before the split.
@_exported import RolloutJSON
