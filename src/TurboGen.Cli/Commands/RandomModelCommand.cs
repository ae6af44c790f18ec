using System.CommandLine;
using TurboGen.Benchmarking;
using TurboGen.Text;
using TurboGen.Weights;

namespace TurboGen.Cli.Commands;

/// <summary>
/// <c>turbogen bench random-model</c>: writes a full-size random-weight model to benchmark without downloading weights.
/// <para>How it works: into <c>--out DIR</c> it writes the single-file checkpoint of the published model
/// (<see cref="RandomCheckpoint.WriteSingleFile(string, ModelFamily, int, SafetensorsDType)"/>: the exact names and shapes
/// of <c>sd_turbo.safetensors</c> / <c>sd_xl_turbo_1.0_fp16.safetensors</c>), a random TAESD-architecture
/// <c>AutoencoderTiny</c> folder (<c>taesd/</c> or <c>taesdxl/</c>), and the standard CLIP tokenizer folders as a
/// Hugging Face cache snapshot under <c>hf/hub</c> (from the openai BPE vocabulary given by <c>--clip-vocab</c>), so
/// <c>HF_HUB_CACHE=DIR/hf/hub HF_HUB_OFFLINE=1 turbogen bench -m DIR/sd-turbo.safetensors</c> runs without network.
/// The speed of a network does not depend on its weight values, so these cost exactly what the real models cost.</para>
/// <para><c>--family sdxs</c> writes a diffusers folder <c>sdxs-512/</c> of the SDXS-512-DreamShaper shape instead
/// (<see cref="RandomModelShapes.Sdxs512"/>: block-removed UNet, CLIP ViT-L, tokenizer inside) and the TAESD folder, for
/// <c>turbogen bench -m DIR/sdxs-512 --tiny-vae DIR/taesd --steps 1</c>.</para>
/// </summary>
internal static class RandomModelCommand
{
    /// <summary>The commit id of the tokenizer snapshot written into the local Hub cache (any 40-hex id works offline).</summary>
    private const string SnapshotCommit = "0000000000000000000000000000000072616e64";

    public static Command Create(Terminal terminal)
    {
        var family = new Option<string>("--family")
        {
            Description = "sd-turbo, sdxl-turbo or sdxs (the SDXS-512-DreamShaper shape, as a diffusers folder).",
            Required = true,
        };
        family.AcceptOnlyFromAmong("sd-turbo", "sdxl-turbo", "sdxs");
        var output = new Option<string>("--out") { Description = "Folder to write into (created if missing).", Required = true, HelpName = "DIR" };
        var vocab = new Option<string>("--clip-vocab")
        {
            Description = "openai's CLIP vocabulary bpe_simple_vocab_16e6.txt.gz (for the tokenizer folders).",
            Required = true,
            HelpName = "PATH",
        };
        var seed = new Option<int>("--seed") { Description = "Seed of the weights.", DefaultValueFactory = _ => 1 };
        var f32 = new Option<bool>("--f32") { Description = "Write F32 weights (default F16, like the published files)." };

        var command = new Command("random-model", "Write a full-size random-weight SD-Turbo / SDXL-Turbo single file (or an SDXS-512-shaped diffusers folder), TAESD folder and offline tokenizers for benchmarks.");
        foreach (var option in new Option[] { family, output, vocab, seed, f32 })
        {
            command.Options.Add(option);
        }
        command.SetGuardedAction(terminal, (parse, ct) =>
        {
            bool xl = parse.GetValue(family) == "sdxl-turbo";
            string dir = Path.GetFullPath(parse.GetValue(output)!);
            string vocabPath = Path.GetFullPath(parse.GetValue(vocab)!);
            if (!File.Exists(vocabPath))
            {
                throw new InvalidRequestException("--clip-vocab", $"CLIP vocabulary not found: {vocabPath}");
            }
            var dtype = parse.GetValue(f32) ? SafetensorsDType.F32 : SafetensorsDType.F16;
            int s = parse.GetValue(seed);
            Directory.CreateDirectory(dir);

            if (parse.GetValue(family) == "sdxs")
            {
                return Task.FromResult(WriteSdxs(terminal, dir, vocabPath, s, dtype, ct));
            }

            string checkpoint = Path.Combine(dir, xl ? "sdxl-turbo.safetensors" : "sd-turbo.safetensors");
            terminal.Error.WriteLine($"writing {checkpoint}");
            RandomCheckpoint.WriteSingleFile(checkpoint, xl ? ModelFamily.Sdxl : ModelFamily.Sd, s, dtype);
            ct.ThrowIfCancellationRequested();

            string tiny = Path.Combine(dir, xl ? "taesdxl" : "taesd");
            terminal.Error.WriteLine($"writing {tiny}/");
            RandomCheckpoint.WriteTinyVaeFolder(tiny, s, dtype);

            // huggingface_hub's cache layout: models--org--name/refs/main holds the commit, snapshots/<commit>/ the files.
            string repoDir = Path.Combine(dir, "hf", "hub", xl ? "models--stabilityai--sdxl-turbo" : "models--stabilityai--sd-turbo");
            string snapshot = Path.Combine(repoDir, "snapshots", SnapshotCommit);
            // SDXL's CLIP-L tokenizer pads with <|endoftext|>, the OpenCLIP ones (SDXL tokenizer_2, SD 2.x) with "!".
            ClipVocabularyFiles.WriteHfFolder(vocabPath, Path.Combine(snapshot, "tokenizer"), xl ? "<|endoftext|>" : "!");
            if (xl)
            {
                ClipVocabularyFiles.WriteHfFolder(vocabPath, Path.Combine(snapshot, "tokenizer_2"), "!");
            }
            Directory.CreateDirectory(Path.Combine(repoDir, "refs"));
            File.WriteAllText(Path.Combine(repoDir, "refs", "main"), SnapshotCommit);
            terminal.Output.WriteLine(checkpoint);
            terminal.Output.WriteLine($"tiny VAE: {tiny}");
            terminal.Output.WriteLine($"tokenizers: HF_HUB_CACHE={Path.Combine(dir, "hf", "hub")} HF_HUB_OFFLINE=1");
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    /// <summary>The SDXS-512-shaped diffusers folder (SD 1.x CLIP-L tokenizer padded with &lt;|endoftext|&gt;) and a TAESD folder.</summary>
    private static int WriteSdxs(Terminal terminal, string dir, string vocabPath, int seed, SafetensorsDType dtype, CancellationToken ct)
    {
        string model = Path.Combine(dir, "sdxs-512");
        terminal.Error.WriteLine($"writing {model}/");
        RandomCheckpoint.WriteDiffusersFolder(model, RandomModelShapes.Sdxs512, vocabPath, seed, dtype, tokenizerPad: "<|endoftext|>");
        ct.ThrowIfCancellationRequested();
        string tiny = Path.Combine(dir, "taesd");
        terminal.Error.WriteLine($"writing {tiny}/");
        RandomCheckpoint.WriteTinyVaeFolder(tiny, seed, dtype);
        terminal.Output.WriteLine(model);
        terminal.Output.WriteLine($"tiny VAE: {tiny}");
        return ExitCodes.Ok;
    }
}
