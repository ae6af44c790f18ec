using System.Globalization;
using System.Security.Cryptography;
using TurboGen.Imaging;
using TurboGen.Pipelines;

namespace TurboGen.Server.Policy;

/// <summary>One generated image as a front end returns it: encoded bytes, its metadata, and the kept file's name if saved.</summary>
public sealed record WrittenImage(byte[] Bytes, ImageOutputFormat Format, ImageMetadata Metadata, string? SavedAs);

/// <summary>
/// The one after-generation step of every front end: metadata (A1111 infotext + TurboGen JSON,
/// <see cref="GenerationMetadata"/>), encoding (PNG carries the metadata; JPEG/WebP take a quality), and — when asked —
/// saving a PNG with its metadata in the owner's folder of <see cref="ServerOptions.OutputDir"/> (<see cref="OutputHistory.FolderOf"/>;
/// the HTTP APIs' saves go to the shared folder), written atomically (temporary file, then rename) under one naming rule,
/// <see cref="FileName"/>, in UTC; then the history's retention limits are applied (<see cref="OutputHistory.Added"/>).
/// </summary>
public sealed class OutputWriter(ServerOptions options, TimeProvider clock, OutputHistory history)
{
    public string Directory { get; } = Path.GetFullPath(options.OutputDir);

    /// <summary>
    /// Encodes image <paramref name="index"/> of <paramref name="result"/>, and saves it as PNG when <paramref name="save"/>;
    /// <paramref name="frontEndFields"/> are infotext fields the front end knows beyond the request (<see cref="GenerationMetadata.For"/>).
    /// </summary>
    public WrittenImage Write(GenerationResult result, int index, string modelId, ImageOutputFormat format, int quality, bool save,
        IReadOnlyDictionary<string, string>? frontEndFields = null)
    {
        var metadata = GenerationMetadata.For(result, index, modelId, frontEndFields);
        var image = result.Images[index];
        byte[] bytes = ImageOutput.Encode(image, format, quality, format == ImageOutputFormat.Png ? metadata : null);
        string? saved = save ? Keep(bytes, format, image, metadata, result.Seeds[index]) : null;
        return new WrittenImage(bytes, format, metadata, saved);
    }

    /// <summary>
    /// Saves the PNG of an answer encoded as <paramref name="format"/>: its <paramref name="encoded"/> bytes when they are
    /// that PNG (with <paramref name="metadata"/>), else <paramref name="image"/> encoded now; returns the file name.
    /// </summary>
    public string Keep(byte[] encoded, ImageOutputFormat format, RgbImage image, ImageMetadata metadata, long seed, HistoryOwner? owner = null) =>
        format == ImageOutputFormat.Png ? SavePng(encoded, seed, owner) : Save(image, metadata, seed, owner);

    /// <summary>Saves image <paramref name="index"/> of <paramref name="result"/> as a PNG with its metadata and returns its file name.</summary>
    public string Save(GenerationResult result, int index, string modelId, HistoryOwner? owner = null) =>
        Save(result.Images[index], GenerationMetadata.For(result, index, modelId), result.Seeds[index], owner);

    /// <summary>
    /// Saves a PNG with its metadata (atomically: a failed save leaves no file behind) in the owner's folder (default: shared)
    /// and returns its file name. A full disk or an unwritable folder is an <see cref="OutputWriteException"/>.
    /// </summary>
    public string Save(RgbImage image, ImageMetadata metadata, long seed, HistoryOwner? owner = null) =>
        SavePng(ImageCodec.EncodePng(image, metadata), seed, owner);

    /// <summary>As <see cref="Save(RgbImage, ImageMetadata, long, HistoryOwner?)"/> for a PNG already encoded with its metadata (not encoded twice).</summary>
    public string SavePng(byte[] png, long seed, HistoryOwner? owner = null)
    {
        owner ??= HistoryOwner.Shared;
        string name = FileName(clock.GetUtcNow(), seed);
        string folder = history.FolderOf(owner);
        try
        {
            ImageCodec.SaveEncoded(png, Path.Combine(folder, name));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OutputWriteException(folder, e);
        }
        history.Added(owner);
        return name;
    }

    /// <summary>
    /// Deletes the temporary files of saves that never finished (the process was killed between writing and renaming).
    /// A temporary file that a running save holds (it is written under an exclusive lock) is left alone. Returns how
    /// many were removed. Run at start-up, over the shared folder and every client's history folder.
    /// </summary>
    public int RemoveOrphanedTemporaryFiles()
    {
        if (!System.IO.Directory.Exists(Directory)) return 0;
        int removed = 0;
        // The shared folder and each client's history folder one level below it (hidden files included: the names start with a dot).
        var everyHistory = new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 1, AttributesToSkip = 0, IgnoreInaccessible = true };
        foreach (string path in System.IO.Directory.EnumerateFiles(Directory, ".*", everyHistory))
        {
            if (!ImageCodec.IsTemporaryFileName(Path.GetFileName(path))) continue;
            try
            {
                // Taking the exclusive lock fails while a save is writing the file; DeleteOnClose removes it under the lock.
                using (new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
                removed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // In use by a running save, or already gone.
            }
        }
        return removed;
    }

    /// <summary>
    /// The kept-file name: <c>{yyyyMMdd-HHmmss-fff}Z-{seed}-{8 random hex}.png</c>, the time in UTC (the <c>Z</c>), so
    /// names sort by creation time whatever the server's time zone, and the random part keeps names unique.
    /// </summary>
    public static string FileName(DateTimeOffset time, long seed) => string.Create(CultureInfo.InvariantCulture,
        $"{time.UtcDateTime:yyyyMMdd-HHmmss-fff}Z-{seed}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}.png");

    /// <summary>The pattern <see cref="FileName"/> follows (tests and tools recognise kept files by it).</summary>
    public const string FileNamePattern = @"^\d{8}-\d{6}-\d{3}Z-\d+-[0-9a-f]{8}\.png$";
}

/// <summary>A kept image could not be written (disk full, folder not writable); nothing was left half-written.</summary>
public sealed class OutputWriteException(string directory, Exception inner)
    : TurboGenException($"The image could not be saved in the output folder {directory}: {inner.Message}", inner)
{
    /// <summary>The disk (or quota) is full: ENOSPC / EDQUOT on Unix, ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL on Windows.</summary>
    public bool DiskFull { get; } = inner is IOException io && (io.HResult is 28 or 122 || (io.HResult & 0xFFFF) is 0x70 or 0x27);
}
