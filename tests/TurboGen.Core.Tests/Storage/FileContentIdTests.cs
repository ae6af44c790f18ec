using System.Security.Cryptography;
using System.Text.Json.Nodes;
using TurboGen.Storage;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Storage;

public sealed class FileContentIdTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("turbogen-hash");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ASymlinkIntoAHubBlob_IsIdentifiedByTheBlobName_WithoutReading()
    {
        // huggingface_hub layout: snapshots/<commit>/unet/x.safetensors -> ../../../blobs/<sha256>
        string blobName = new string('a', 64);   // deliberately not the content's hash: proves the name is used, not the bytes
        string blob = Path.Combine(_dir, "models--org--name", "blobs", blobName);
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        File.WriteAllText(blob, "weights");
        string pointer = Path.Combine(_dir, "models--org--name", "snapshots", "abc123", "unet", "diffusion_pytorch_model.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(pointer)!);
        File.CreateSymbolicLink(pointer, Path.GetRelativePath(Path.GetDirectoryName(pointer)!, blob));

        Assert.Equal(blobName, FileContentId.Of(pointer, _dir));
        Assert.False(Directory.Exists(TurboGenCache.HashesDir(_dir)));
    }

    [Fact]
    public void APlainFile_IsHashed_AndTheHashIsMemoisedByPathSizeAndMtime()
    {
        string file = Path.Combine(_dir, "model.safetensors");
        File.WriteAllBytes(file, [1, 2, 3, 4]);
        string real = Convert.ToHexString(SHA256.HashData(new byte[] { 1, 2, 3, 4 })).ToLowerInvariant();

        Assert.Equal(real, FileContentId.Of(file, _dir));

        // Plant another value in the sidecar: it is returned while path, size and mtime are unchanged (no re-read) …
        string sidecar = Assert.Single(Directory.GetFiles(TurboGenCache.HashesDir(_dir)));
        var memo = JsonNode.Parse(File.ReadAllText(sidecar))!.AsObject();
        Assert.Equal(real, memo["Sha256"]!.GetValue<string>());
        memo["Sha256"] = new string('b', 64);
        File.WriteAllText(sidecar, memo.ToJsonString());
        Assert.Equal(new string('b', 64), FileContentId.Of(file, _dir));

        // … and ignored once the file changes.
        File.SetLastWriteTimeUtc(file, File.GetLastWriteTimeUtc(file).AddSeconds(-10));
        Assert.Equal(real, FileContentId.Of(file, _dir));
    }

    [Fact]
    public void ASymlinkOutsideAHubCache_HashesTheTarget()
    {
        string target = Path.Combine(_dir, "real.safetensors");
        File.WriteAllBytes(target, [9, 9]);
        string link = Path.Combine(_dir, "link.safetensors");
        File.CreateSymbolicLink(link, target);
        Assert.Equal(FileContentId.HashFile(target), FileContentId.Of(link, _dir));
    }

    [Fact]
    public void AMissingFile_IsAModelLoadException()
    {
        var e = Assert.Throws<ModelLoadException>(() => FileContentId.Of(Path.Combine(_dir, "none.safetensors"), _dir));
        Assert.Contains("none.safetensors", e.Message);
    }
}
