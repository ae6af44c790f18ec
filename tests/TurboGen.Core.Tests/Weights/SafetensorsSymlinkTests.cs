using TurboGen.Testing;
using TurboGen.Weights;

namespace TurboGen.Core.Tests.Weights;

/// <summary>Hugging Face cache snapshots hold symlinks to blobs/: a safetensors file must be readable through one.</summary>
public sealed class SafetensorsSymlinkTests
{
    [Fact]
    public void OpensThroughARelativeSymlink_LikeAHubSnapshot()
    {
        if (OperatingSystem.IsWindows()) return; // creating symlinks needs developer mode there
        string dir = TestPaths.NewTempDir("turbogen-st-link");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "blobs"));
            Directory.CreateDirectory(Path.Combine(dir, "snapshots", "c", "unet"));
            string blob = Path.Combine(dir, "blobs", "abc");
            float[] values = [1f, 2f, 3f, 4f, 5f, 6f];
            SafetensorsWriter.Write(blob, [SafetensorsWriter.Tensor.FromArray("w", SafetensorsDType.F32, [2, 3], values)]);
            string link = Path.Combine(dir, "snapshots", "c", "unet", "model.safetensors");
            File.CreateSymbolicLink(link, Path.Combine("..", "..", "..", "blobs", "abc"));

            using var file = SafetensorsFile.Open(link);
            Assert.Equal(values, file.ReadFloat32("w"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
