using System.CommandLine;
using TurboGen.Hub;

namespace TurboGen.Cli.Commands;

/// <summary>
/// <c>turbogen pull MODEL</c>: downloads one variant of a Hub repository into the standard Hugging Face cache, resuming partial
/// files, with progress bars on stderr; prints the local snapshot folder. By default (<c>--variant auto</c>) the variant is the
/// one <c>generate</c> with the same <c>--provider</c> would use (<see cref="HubVariants"/>), so a later <c>generate</c> finds
/// everything in the cache.
/// </summary>
internal static class PullCommand
{
    public static Command Create(Terminal terminal)
    {
        var model = new Argument<string>("MODEL") { Description = "Hugging Face id: org/name[@revision]." };
        var variant = new Option<string>("--variant")
        {
            Description = "Which files: auto (what generate would use: the variant already cached, else the smallest download), onnx (the ONNX export), safetensors (the diffusers weights, fp16 when published) or single-file (the root checkpoint).",
            DefaultValueFactory = _ => "auto",
        };
        variant.AcceptOnlyFromAmong("auto", "onnx", "safetensors", "single-file");
        var provider = new Option<string>("--provider") { Description = "For --variant auto: the execution provider generate will use.", DefaultValueFactory = _ => "cpu" };
        provider.AcceptOnlyFromAmong([.. TurboGen.Runtime.RuntimeOptions.KnownProviders]);
        var revision = new Option<string?>("--revision") { Description = "Branch, tag or commit (overrides @revision).", HelpName = "REV" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (model, revision, variant, path, files, size)." };

        var command = new Command("pull", "Download a model from the Hugging Face Hub into the local cache (HF_HOME / HF_HUB_CACHE).");
        command.Arguments.Add(model);
        foreach (var option in new Option[] { variant, provider, revision, json }) command.Options.Add(option);
        command.SetGuardedAction(terminal, async (parse, ct) =>
        {
            var preset = KnownModels.Find(parse.GetValue(model));
            var (repoId, rev) = preset is not null ? (preset.RepoId, HubModelId.DefaultRevision) : HubModelId.Parse(parse.GetValue(model) ?? "");
            if (parse.GetValue(revision) is { } explicitRevision)
            {
                HubModelId.ValidateRevision(explicitRevision);
                rev = explicitRevision;
            }
            HubVariantKind? kind = (parse.GetValue(variant) ?? "auto") switch
            {
                "onnx" => HubVariantKind.Onnx,
                "safetensors" => HubVariantKind.Safetensors,
                "single-file" => HubVariantKind.SingleFile,
                _ => null,
            };
            var needs = ModelLocator.Needs(parse.GetValue(provider) ?? "cpu", loras: false, kernels: null);
            if (preset is not null) needs = preset.Needs(needs);
            var download = await HubDownloads.DownloadVariantAsync(HubOptions.FromEnvironment(), repoId, rev, needs, kind, build: null,
                terminal, showProgress: true, ct).ConfigureAwait(false);

            string folder = download.Snapshot;
            var (files, bytes) = Measure(folder, download.Variant.Files);
            if (parse.GetValue(json))
            {
                Json.Write(terminal.Output, new PullReport(repoId, rev, download.Variant.Name, folder, files, bytes));
            }
            else
            {
                terminal.Output.WriteLine($"{repoId}@{rev} ({HubDownloads.Describe(download.Variant)}): {files} files, {Units.Bytes(bytes)} in {folder}");
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The variant's files in a snapshot folder and their bytes on disk (symlinks followed to their blobs).</summary>
    private static (int Files, long Bytes) Measure(string folder, IReadOnlyList<HubRepoFile> variant)
    {
        int files = 0;
        long bytes = 0;
        foreach (string path in variant.Select(f => Path.Combine(folder, f.Path.Replace('/', Path.DirectorySeparatorChar))))
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
