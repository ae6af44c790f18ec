using System.CommandLine;
using Spectre.Console;
using TurboGen.Cli.Doctor;

namespace TurboGen.Cli.Commands;

/// <summary>
/// <c>turbogen doctor</c>: which build this is (flavour, ONNX Runtime version), which execution providers it has and
/// whether their libraries load, the CPU's features and cores, the cache folders with free space, and whether the default
/// model is cached. Exit 0; 6 when ONNX Runtime's native library itself cannot be loaded (nothing could run).
/// </summary>
internal static class DoctorCommand
{
    public static Command Create(Terminal terminal)
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of the tables." };
        var command = new Command("doctor", "Check this installation: ONNX Runtime build and providers, CPU features, cache folders, default model.");
        command.Options.Add(json);
        command.SetGuardedAction(terminal, (parse, _) =>
        {
            var report = DoctorReport.Collect();
            if (parse.GetValue(json))
            {
                Json.Write(terminal.Output, report);
            }
            else
            {
                Render(terminal, report);
            }
            return Task.FromResult(report.OnnxRuntimeError is null ? ExitCodes.Ok : ExitCodes.ProviderUnavailable);
        });
        return command;
    }

    private static void Render(Terminal terminal, DoctorReport r)
    {
        var o = terminal.Output;
        o.WriteLine($"turbogen {r.Version}, {r.Build.Flavour} flavour (tool {r.Build.ToolPackage}; default --provider {r.Build.DefaultProvider})");
        o.WriteLine(r.OnnxRuntimeError is null
            ? $"ONNX Runtime {r.OnnxRuntimeVersion} ({r.Build.OnnxRuntimePackage})"
            : $"ONNX Runtime: cannot be loaded ({r.OnnxRuntimeError}). This build carries {r.Build.OnnxRuntimePackage}; see the README for the flavour that fits this machine.");
        o.WriteLine($"System: {r.System.Os}, {r.System.RuntimeIdentifier}, {r.System.Dotnet}");
        o.WriteLine();

        if (r.Providers.Count > 0)
        {
            var providers = new Table().Border(TableBorder.Rounded).AddColumn("Provider").AddColumn("In this build").AddColumn("Loads").AddColumn("Problem");
            foreach (var p in r.Providers)
            {
                providers.AddRow(Markup.Escape(p.Name), p.InBuild ? "yes" : "no", p.InBuild ? (p.Loads ? "yes" : "no") : "—", Markup.Escape(p.Problem ?? ""));
            }
            terminal.Out.Write(providers);
        }

        string features = string.Join(", ", r.Cpu.Features.Select(f => $"{f.Name} {(f.Supported switch { true => "yes", false => "no", null => "unknown" })}"));
        o.WriteLine($"CPU: {r.Cpu.Model ?? "unknown model"}; {r.Cpu.PhysicalCores} physical cores, {r.Cpu.LogicalProcessors} logical processors");
        if (features.Length > 0) o.WriteLine($"CPU features: {features}");
        o.WriteLine();

        var caches = new Table().Border(TableBorder.Rounded).AddColumn("Cache").AddColumn(new TableColumn("Folder").NoWrap())
            .AddColumn(new TableColumn("Size").RightAligned()).AddColumn(new TableColumn("Free").RightAligned()).AddColumn("Set with");
        foreach (var c in r.Caches)
        {
            caches.AddRow(c.Name, Markup.Escape(c.Path), c.SizeBytes is { } size ? Units.Bytes(size) : "(not created)",
                c.FreeBytes is { } free ? Units.Bytes(free) : "unknown", Markup.Escape(c.Variables));
        }
        terminal.Out.Write(caches);

        var m = r.DefaultModel;
        o.WriteLine(m.Cached
            ? $"Default model {m.Id}: cached ({Units.Bytes(m.SizeBytes ?? 0)}) in {m.Path}"
            : m.SizeBytes is { } partial
                ? $"Default model {m.Id}: incomplete in the cache ({Units.Bytes(partial)}); turbogen pull {m.Id} completes it"
                : $"Default model {m.Id}: not cached; the first generate downloads it (or: turbogen pull {m.Id})");
    }
}
