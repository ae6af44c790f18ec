using Microsoft.ML.OnnxRuntime;
using TurboGen.Tensors;

namespace TurboGen.Runtime;

/// <summary>What a text encoder returns for a batch of token ids.</summary>
/// <param name="Hidden">[B,77,D]: the penultimate hidden state (SDXL) or <c>last_hidden_state</c> (SD 2.x / SD-Turbo).</param>
/// <param name="TextEmbeds">[B,P] projected pooled embedding (<c>text_embeds</c>) when the model has it.</param>
public sealed record TextEncoderOutput(FloatTensor Hidden, FloatTensor? TextEmbeds);

/// <summary>
/// A CLIP text encoder (Optimum/Olive contract, MODEL-CONTRACT §2): input <c>input_ids</c> [B,77] int32 or int64;
/// outputs <c>last_hidden_state</c>, optional <c>pooler_output</c>/<c>text_embeds</c>, optional <c>hidden_states.0..L</c>.
/// </summary>
public sealed class TextEncoder : OnnxComponent
{
    private const string InputIds = "input_ids";

    /// <summary>Wraps a loaded session after checking it against the contract above; a mismatch throws
    /// <see cref="ModelContractException"/> naming <paramref name="path"/> and listing the session's inputs and outputs.</summary>
    /// <param name="name">The component's name in messages and timings (e.g. "text_encoder_2", "vae_decoder", "tiny_vae_decoder").</param>
    /// <param name="session">The loaded session (owned from now on).</param>
    /// <param name="path">The model.onnx file (for messages).</param>
    public TextEncoder(string name, InferenceSession session, string path) : base(name, session, path)
    {
        if (!HasInput(InputIds) || !HasOutput("last_hidden_state"))
        {
            throw new ModelContractException(path, $"{name} at {path} does not look like a CLIP text encoder: expected input 'input_ids' and output 'last_hidden_state'; found {DescribeIo()}.");
        }
        NumLayers = OutputMetadata.Keys
            .Where(k => k.StartsWith("hidden_states.", StringComparison.Ordinal))
            .Select(k => int.TryParse(k.AsSpan("hidden_states.".Length), out int n) ? n : -1)
            .DefaultIfEmpty(-1).Max();
        HiddenSize = OutputMetadata["last_hidden_state"].Dimensions[^1];
    }

    /// <summary>L when the model exposes <c>hidden_states.0..L</c>, else −1.</summary>
    public int NumLayers { get; }

    /// <summary>Width of the hidden states (may be −1 if the export left it symbolic).</summary>
    public int HiddenSize { get; }

    /// <summary>Whether the model outputs the projected pooled embedding <c>text_embeds</c> (SDXL's second encoder does).</summary>
    public bool HasTextEmbeds => HasOutput("text_embeds");

    /// <summary>Encodes <paramref name="batch"/> rows of 77 ids (with the run's ONNX Runtime time).</summary>
    /// <param name="ids">Token ids, <paramref name="batch"/> rows of equal length (77), row-major.</param>
    /// <param name="batch">Number of rows B.</param>
    /// <param name="penultimate">Return <c>hidden_states.{L-1}</c> (the layer before the last, before final LayerNorm) as SDXL does; otherwise <c>last_hidden_state</c>.</param>
    /// <param name="cancellationToken">Terminates the run in progress.</param>
    public Timed<TextEncoderOutput> Encode(int[] ids, int batch, bool penultimate, CancellationToken cancellationToken)
    {
        string hiddenName = "last_hidden_state";
        if (penultimate)
        {
            if (NumLayers < 1)
            {
                throw new ModelContractException(Path, $"{Name}: SDXL conditioning needs the penultimate hidden state, but the model has no 'hidden_states.N' outputs ({DescribeIo()}). Re-export with output_hidden_states (Optimum does this for SDXL).");
            }
            hiddenName = $"hidden_states.{NumLayers - 1}";
        }
        var outputs = new List<string> { hiddenName };
        if (HasTextEmbeds) outputs.Add("text_embeds");
        long seq = ids.Length / batch;
        using var input = IntInput(InputIds, ids, [batch, seq]);
        var (results, milliseconds) = Run([InputIds], [input], outputs, cancellationToken);
        using (results)
        {
            var hidden = ReadFloat(results[0]);
            var pooled = HasTextEmbeds ? ReadFloat(results[1]) : null;
            return new(new TextEncoderOutput(hidden, pooled), milliseconds);
        }
    }
}
