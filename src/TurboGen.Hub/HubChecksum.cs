using System.Security.Cryptography;
using System.Text;

namespace TurboGen.Hub;

/// <summary>
/// Checks a blob against its ETag while it streams in: a 64-hex ETag is the SHA-256 of an LFS file, a 40-hex ETag is the git blob
/// SHA-1 of a regular file (sha1("blob {size}\0" + content)). Other ETag shapes are not verified.
/// </summary>
internal sealed class HubChecksum : IDisposable
{
    private readonly string _etag;
    private readonly long _size;
    private readonly HashAlgorithmName? _algorithm;
    private IncrementalHash? _hash;

    public HubChecksum(string etag, long size)
    {
        _etag = etag.ToLowerInvariant();
        _size = size;
        _algorithm = IsHex(_etag, 64) ? HashAlgorithmName.SHA256 : IsHex(_etag, 40) && size >= 0 ? HashAlgorithmName.SHA1 : null;
        Reset();
    }

    public bool CanVerify => _algorithm is not null;

    public void Reset()
    {
        _hash?.Dispose();
        _hash = null;
        if (_algorithm is { } algorithm)
        {
            _hash = IncrementalHash.CreateHash(algorithm);
            if (algorithm == HashAlgorithmName.SHA1)
            {
                _hash.AppendData(Encoding.ASCII.GetBytes($"blob {_size}\0"));
            }
        }
    }

    public void Append(ReadOnlySpan<byte> data) => _hash?.AppendData(data);

    /// <summary>The computed hash in lowercase hex, or null when this ETag cannot be verified.</summary>
    public string? Finish() => _hash is null ? null : Convert.ToHexStringLower(_hash.GetHashAndReset());

    public bool Matches(string? actual) => actual is null || actual == _etag;

    public void Dispose() => _hash?.Dispose();

    private static bool IsHex(string value, int length) => value.Length == length && value.All(char.IsAsciiHexDigitLower);
}
