namespace TurboGen.Testing.FakeHub;

/// <summary>A request the fake Hub received: method, path and query as sent, Range and Authorization headers, and whether it hit the CDN origin.</summary>
public sealed record FakeHubRequest(string Method, string PathAndQuery, string? Range, string? Authorization, bool IsCdn);
