using TurboGen.Imaging;
using TurboGen.Server.Policy;
using TurboGen.Testing;

namespace TurboGen.Server.Tests.Reliability;

/// <summary>Issue 14.6: unfinished saves (a process killed between write and rename) are cleaned at start-up; nothing else is touched.</summary>
public sealed class OutputFolderTests
{
    [Fact]
    public async Task OrphanedTemporaryFiles_AreRemovedAtStartUp_RunningSavesAndOtherFilesAreKept()
    {
        string outputs = TestPaths.NewTempDir("turbogen-orphans");
        string kept = Path.Combine(outputs, "20310506-070809-123Z-5-1a2b3c4d.png");
        File.WriteAllBytes(kept, ApiTestHelpers.Png(8, 8));
        string orphan1 = Path.Combine(outputs, $".{Path.GetFileName(kept)}.{Guid.NewGuid():N}.tmp");
        string orphan2 = Path.Combine(outputs, $".20310506-070810-000Z-6-00000000.png.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(orphan1, [1, 2, 3]);
        File.WriteAllBytes(orphan2, []);
        // A client's private history folder (one level below the output folder) is cleaned the same way.
        string clientFolder = Directory.CreateDirectory(Path.Combine(outputs, "c-0123456789abcdef")).FullName;
        string orphan3 = Path.Combine(clientFolder, $".20310506-070812-000Z-8-00000000.png.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(orphan3, [4]);
        string notOurs = Path.Combine(outputs, ".notes.tmp");
        File.WriteAllText(notOurs, "user file");
        string running = Path.Combine(outputs, $".20310506-070811-000Z-7-00000000.png.{Guid.NewGuid():N}.tmp");
        Assert.True(ImageCodec.IsTemporaryFileName(Path.GetFileName(running)));
        Assert.False(ImageCodec.IsTemporaryFileName(".notes.tmp"));
        Assert.False(ImageCodec.IsTemporaryFileName(Path.GetFileName(kept)));

        // A save in progress holds its temporary file under an exclusive lock, as ImageCodec.SavePng does.
        using (var inProgress = new FileStream(running, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            inProgress.Write([9, 9]);
            await using var server = await TestServer.StartAsync(configure: o => o with { OutputDir = outputs });
            await RealtimeTestKit.EventuallyAsync(() => !File.Exists(orphan1) && !File.Exists(orphan2) && !File.Exists(orphan3), "orphans removed");
            Assert.True(File.Exists(running), "a running save's temporary file was removed");
        }
        Assert.True(File.Exists(kept));
        Assert.True(File.Exists(notOurs));
    }

    [Fact]
    public void SavePng_NamesItsTemporaryFile_AsTheCleanUpRecognisesIt()
    {
        // The rule exists once (ImageCodec); this pins that SavePng's own temporary files are the ones recognised.
        string outputs = TestPaths.NewTempDir("turbogen-tmpname");
        var watcher = new FileSystemWatcher(outputs) { EnableRaisingEvents = true };
        var created = new List<string>();
        watcher.Created += (_, e) => { lock (created) created.Add(e.Name!); };
        ImageCodec.SavePng(new RgbImage(8, 8, new byte[8 * 8 * 3]), Path.Combine(outputs, "a.png"));
        Thread.Sleep(200);
        watcher.Dispose();
        lock (created)
        {
            Assert.Contains(created, n => n.EndsWith(".tmp", StringComparison.Ordinal) && ImageCodec.IsTemporaryFileName(n));
        }
        Assert.Equal(["a.png"], Directory.GetFiles(outputs).Select(Path.GetFileName));
    }
}
