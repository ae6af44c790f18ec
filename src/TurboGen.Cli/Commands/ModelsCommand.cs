using System.CommandLine;
using Spectre.Console;
using TurboGen.Hub;

namespace TurboGen.Cli.Commands;

/// <summary>
/// <c>turbogen models</c> lists the models in the Hugging Face cache with their sizes; <c>models --known</c> the presets -m takes
/// (<see cref="KnownModelsListing"/>); <c>models rm MODEL</c> deletes one.
/// </summary>
internal static class ModelsCommand
{
    public static Command Create(Terminal terminal)
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object (cache_dir, models) instead of a table." };
        var known = new Option<bool>("--known") { Description = "List the known models -m takes by name (sd-turbo, sdxl-lightning-4step, …) with their settings and download sizes." };
        var command = new Command("models", "List the models in the local Hugging Face cache (or, with --known, the models -m knows by name).");
        command.Options.Add(json);
        command.Options.Add(known);
        command.SetGuardedAction(terminal, (parse, ct) =>
        {
            if (parse.GetValue(known))
            {
                return KnownModelsListing.RunAsync(terminal, parse.GetValue(json), ct);
            }
            var cache = new HubCache(HubOptions.FromEnvironment().CacheDir);
            var models = cache.ListModels();
            if (parse.GetValue(json))
            {
                Json.Write(terminal.Output, new ModelsReport(cache.CacheDir, models.Select(m => new CachedModelReport(
                    m.RepoId, m.Folder, m.SizeOnDisk, m.IncompleteBytes, m.Refs,
                    m.Snapshots.Select(s => new CachedSnapshotReport(s.Commit, s.Folder, s.FileCount, s.Refs)).ToList())).ToList()));
                return Task.FromResult(ExitCodes.Ok);
            }
            if (models.Count == 0)
            {
                terminal.Output.WriteLine($"No models in {cache.CacheDir}. Download one with: turbogen pull {ModelLocator.DefaultModel}");
                return Task.FromResult(ExitCodes.Ok);
            }
            var table = new Table().Border(TableBorder.Rounded)
                .AddColumn(new TableColumn("Model").NoWrap()).AddColumn(new TableColumn("Size").RightAligned()).AddColumn("Revisions").AddColumn(new TableColumn("Snapshots").RightAligned());
            foreach (var m in models)
            {
                string refs = m.Refs.Count == 0 ? "" : string.Join(", ", m.Refs.Select(r => $"{r.Key} → {r.Value[..Math.Min(8, r.Value.Length)]}"));
                string size = Units.Bytes(m.SizeOnDisk) + (m.IncompleteBytes > 0 ? $" (+{Units.Bytes(m.IncompleteBytes)} partial)" : "");
                table.AddRow(Markup.Escape(m.RepoId), size, Markup.Escape(refs), m.Snapshots.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            terminal.Out.Write(table);
            terminal.Output.WriteLine($"{models.Count} model(s), {Units.Bytes(models.Sum(m => m.SizeOnDisk))} in {cache.CacheDir}");
            return Task.FromResult(ExitCodes.Ok);
        });
        command.Subcommands.Add(CreateRemove(terminal));
        return command;
    }

    private static Command CreateRemove(Terminal terminal)
    {
        var model = new Argument<string>("MODEL") { Description = "Hugging Face id (org/name) to delete from the cache." };
        var command = new Command("rm", "Delete a model (all its revisions) from the local Hugging Face cache.");
        command.Aliases.Add("remove");
        command.Arguments.Add(model);
        command.SetGuardedAction(terminal, (parse, _) =>
        {
            var (repoId, _) = HubModelId.Parse(parse.GetValue(model) ?? "");
            var cache = new HubCache(HubOptions.FromEnvironment().CacheDir);
            long size = cache.ListModels().FirstOrDefault(m => m.RepoId == repoId)?.SizeOnDisk ?? 0;
            if (!cache.RemoveModel(repoId))
            {
                throw new HubException(HubErrorKind.NotFound, repoId, $"{repoId} is not in the cache at {cache.CacheDir}.");
            }
            terminal.Output.WriteLine($"Removed {repoId} ({Units.Bytes(size)}) from {cache.CacheDir}");
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}

/// <summary>The <c>models --json</c> object.</summary>
internal sealed record ModelsReport(string CacheDir, IReadOnlyList<CachedModelReport> Models);

internal sealed record CachedModelReport(string Id, string Path, long SizeBytes, long IncompleteBytes,
    IReadOnlyDictionary<string, string> Refs, IReadOnlyList<CachedSnapshotReport> Snapshots);

internal sealed record CachedSnapshotReport(string Commit, string Path, int Files, IReadOnlyList<string> Refs);
