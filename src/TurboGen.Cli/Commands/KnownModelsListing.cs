using System.Globalization;
using Spectre.Console;
using TurboGen.Hub;

namespace TurboGen.Cli.Commands;

/// <summary>
/// <c>turbogen models --known</c>: the presets <c>-m NAME</c> takes (<see cref="KnownModels"/>) with their repositories, settings and
/// download sizes. A size is what <c>generate -m NAME</c> would download for the CPU provider now: the repository's file list from the
/// Hub (one request per repository), the variant <see cref="HubVariants"/> picks, minus what the cache already holds. Offline or
/// unreachable, the size is reported unknown with the reason.
/// </summary>
internal static class KnownModelsListing
{
    public static async Task<int> RunAsync(Terminal terminal, bool json, CancellationToken ct)
    {
        var options = HubOptions.FromEnvironment();
        using var client = new HubClient(options);
        var cache = new HubCache(options.CacheDir);
        var needs = ModelLocator.Needs("cpu", loras: false, kernels: null);
        var rows = new List<KnownModelReport>();
        var infos = new Dictionary<string, Task<HubRepoInfo>>(StringComparer.Ordinal);
        foreach (var model in KnownModels.All)
        {
            if (!infos.TryGetValue(model.RepoId, out var info))
            {
                infos[model.RepoId] = info = client.GetRepoInfoAsync(model.RepoId, HubModelId.DefaultRevision, ct);
            }
            long? total = null, missing = null;
            string? variant = null, note = null;
            try
            {
                var files = (await info.ConfigureAwait(false)).Files;
                var chosen = HubVariants.Choose(HubVariants.Candidates(files, model.Checkpoint), model.Needs(needs), f => cache.HasBlob(model.RepoId, f));
                if (chosen is null)
                {
                    note = model.Checkpoint is null ? "no loadable variant" : $"no root file {model.Checkpoint}";
                }
                else
                {
                    total = chosen.TotalSize;
                    missing = HubVariants.MissingBytes(chosen, f => cache.HasBlob(model.RepoId, f));
                    variant = HubDownloads.Describe(chosen);
                }
            }
            catch (HubException e)
            {
                note = e.Kind == HubErrorKind.Offline ? "offline" : e.Message;
            }
            rows.Add(new KnownModelReport(model.Name, model.RepoId, model.Checkpoint, model.Description, model.Steps, model.Guidance,
                model.Scheduler, model.Size, variant, total, missing, note, model.Lora is { } l ? $"{l.RepoId}/{l.File}" : null,
                model.SchedulerParameters?.OriginalInferenceSteps, model.SchedulerParameters?.Gamma));
        }

        if (json)
        {
            Json.Write(terminal.Output, new KnownModelsReport(rows));
            return ExitCodes.Ok;
        }
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn(new TableColumn("Name").NoWrap()).AddColumn("Repository").AddColumn("Settings").AddColumn(new TableColumn("Download").RightAligned());
        foreach (var r in rows)
        {
            string repo = (r.Checkpoint is null ? r.Repo : $"{r.Repo} ({r.Checkpoint})") + (r.Lora is null ? "" : $" + LoRA {r.Lora}");
            table.AddRow(Markup.Escape(r.Name), Markup.Escape(repo), Markup.Escape(Settings(r)), Markup.Escape(Download(r)));
        }
        terminal.Out.Write(table);
        terminal.Output.WriteLine("Use one with: turbogen generate \"a cat\" -m NAME (options given on the command line win; the model's own scheduler and size files too).");
        return ExitCodes.Ok;
    }

    private static string Settings(KnownModelReport r)
    {
        var parts = new List<string>();
        if (r.Steps is int steps) parts.Add($"{steps} step{(steps == 1 ? "" : "s")}");
        if (r.Guidance is float g) parts.Add("guidance " + g.ToString(CultureInfo.InvariantCulture));
        if (r.Scheduler is not null) parts.Add("scheduler " + r.Scheduler);
        if (r.OriginalInferenceSteps is int origin) parts.Add("original_inference_steps " + origin.ToString(CultureInfo.InvariantCulture));
        if (r.Gamma is double gamma) parts.Add("gamma " + gamma.ToString(CultureInfo.InvariantCulture));
        if (r.Size is int size) parts.Add($"{size}x{size}");
        return string.Join(", ", parts);
    }

    private static string Download(KnownModelReport r) =>
        r.SizeBytes is not long total ? $"unknown ({r.Note})"
        : r.MissingBytes == 0 ? $"{Units.Bytes(total)} (cached)"
        : Units.Bytes(total);
}

/// <summary>The <c>models --known --json</c> object.</summary>
internal sealed record KnownModelsReport(IReadOnlyList<KnownModelReport> Models);

/// <param name="SizeBytes">Bytes of the variant <c>generate</c> would use (null when unknown: see <paramref name="Note"/>).</param>
/// <param name="MissingBytes">Of those, the bytes not in the local cache yet.</param>
/// <param name="Lora">A LoRA-made preset's LoRA, <c>repo/file</c> (its download is not in the sizes).</param>
/// <param name="OriginalInferenceSteps">The preset's LCM/TCD original_inference_steps on top of its scheduler (DMD2: 4).</param>
/// <param name="Gamma">The preset's TCD gamma (eta) on top of its scheduler (Hyper-SD 1-step: 1).</param>
internal sealed record KnownModelReport(string Name, string Repo, string? Checkpoint, string Description, int? Steps, float? Guidance,
    string? Scheduler, int? Size, string? Variant, long? SizeBytes, long? MissingBytes, string? Note, string? Lora = null,
    int? OriginalInferenceSteps = null, double? Gamma = null);
