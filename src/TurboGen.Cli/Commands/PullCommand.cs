using System.CommandLine;
using TurboGen.Hub;

namespace TurboGen.Cli.Commands;

/// <summary>
/// <c>turbogen pull MODEL</c>: downloads one variant of a Hub repository (ONNX by default) into the standard Hugging Face
/// cache, resuming partial files, with progress bars on stderr; prints the local snapshot folder.
/// </summary>
internal static class PullCommand
{
    public static Command Create(Terminal terminal)
    {
        var model = new Argument<string>("MODEL") { Description = "Hugging Face id: org/name[@revision]." };
        var variant = new Option<string>("--variant") { Description = "Which files: the ONNX export or the diffusers safetensors weights.", DefaultValueFactory = _ => "onnx" };
        variant.AcceptOnlyFromAmong("onnx", "safetensors");
        var revision = new Option<string?>("--revision") { Description = "Branch, tag or commit (overrides @revision).", HelpName = "REV" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (model, revision, variant, path, files, size)." };

        var command = new Command("pull", "Download a model from the Hugging Face Hub into the local cache (HF_HOME / HF_HUB_CACHE).");
        command.Arguments.Add(model);
        command.Options.Add(variant);
        command.Options.Add(revision);
        command.Options.Add(json);
        command.SetGuardedAction(terminal, async (parse, ct) =>
        {
            var (repoId, rev) = HubModelId.Parse(parse.GetValue(model) ?? "");
            if (parse.GetValue(revision) is { } explicitRevision)
            {
                HubModelId.ValidateRevision(explicitRevision);
                rev = explicitRevision;
            }
            string kind = parse.GetValue(variant) ?? "onnx";
            Func<IReadOnlyList<HubRepoFile>, IReadOnlyList<HubRepoFile>> select = kind == "safetensors" ? HubFileSelector.Safetensors : HubFileSelector.Onnx;
            string folder = await HubDownloads.DownloadAsync(HubOptions.FromEnvironment(), repoId, rev, select, terminal, showProgress: true, ct).ConfigureAwait(false);

            var (files, bytes) = Measure(folder);
            if (parse.GetValue(json))
            {
                Json.Write(terminal.Output, new PullReport(repoId, rev, kind, folder, files, bytes));
            }
            else
            {
                terminal.Output.WriteLine($"{repoId}@{rev} ({kind}): {files} files, {Units.Bytes(bytes)} in {folder}");
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Files and bytes in a snapshot folder (symlinks followed to their blobs).</summary>
    private static (int Files, long Bytes) Measure(string folder)
    {
        int files = 0;
        long bytes = 0;
        foreach (string path in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            var info = new FileInfo(path);
            if ((info.LinkTarget is null ? info : info.ResolveLinkTarget(returnFinalTarget: true)) is FileInfo { Exists: true } target)
            {
                files++;
                bytes += target.Length;
            }
        }
        return (files, bytes);
    }
}

/// <summary>The <c>pull --json</c> object.</summary>
internal sealed record PullReport(string Model, string Revision, string Variant, string Path, int Files, long SizeBytes);
