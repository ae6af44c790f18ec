using System.Diagnostics;
using TurboGen.Runtime;
using TurboGen.Tensors;
using TurboGen.Text;

namespace TurboGen.Pipelines;

/// <summary>UNet conditioning for a batch: <c>encoder_hidden_states</c> and, for SDXL, <c>text_embeds</c> + <c>time_ids</c>. With CFG the batch is [uncond…, cond…].</summary>
public sealed record Conditioning(FloatTensor EncoderHiddenStates, FloatTensor? TextEmbeds, FloatTensor? TimeIds, bool PromptTruncated);

/// <summary>Turns prompts into UNet conditioning for one model family.</summary>
public interface IConditioner
{
    /// <summary>Encodes the prompts into the UNet conditioning for <paramref name="batch"/> images (cached per prompt).</summary>
    /// <param name="prompt">The prompt (over-long prompts are truncated to the encoder's 77 tokens; the result says so).</param>
    /// <param name="negativePrompt">The unconditional prompt; used only when <paramref name="classifierFree"/>.</param>
    /// <param name="batch">Images per request B; the result has B rows, or 2B ([uncond…, cond…]) with <paramref name="classifierFree"/>.</param>
    /// <param name="classifierFree">Whether classifier-free guidance is on.</param>
    /// <param name="width">Image width in pixels (SDXL's <c>time_ids</c>).</param>
    /// <param name="height">Image height in pixels (SDXL's <c>time_ids</c>).</param>
    /// <param name="timings">Receives the tokenize/encode stages.</param>
    /// <param name="cancellationToken">Stops a text encoder run.</param>
    Conditioning Encode(string prompt, string negativePrompt, int batch, bool classifierFree, int width, int height, StageTimings timings, CancellationToken cancellationToken);
}

/// <summary>Shared plumbing: tokenize + encode one prompt through one encoder with the embedding cache.</summary>
internal static class PromptEncoding
{
    public static (TextEncoderOutput Output, bool Truncated) EncodeOne(
        TurboModel model, ClipTokenizer tokenizer, TextEncoder encoder, bool penultimate, string prompt,
        PromptEmbeddingCache cache, StageTimings timings, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        var tokens = tokenizer.Encode(prompt);
        timings.Add($"tokenize.{encoder.Name}", sw.Elapsed.TotalMilliseconds);
        string key = (penultimate ? "penultimate:" : "last:") + string.Join(",", tokens.Ids);
        if (cache.TryGet(model.Id + "|" + model.Path, encoder.Name, key, out var cached))
        {
            timings.Add($"encode.{encoder.Name}.cached", 0);
            return (cached, tokens.Truncated);
        }
        sw.Restart();
        var (output, onnxMs) = encoder.Encode(tokens.Ids, 1, penultimate, ct);
        timings.Add($"encode.{encoder.Name}", sw.Elapsed.TotalMilliseconds, onnxMs);
        cache.Add(model.Id + "|" + model.Path, encoder.Name, key, output);
        return (output, tokens.Truncated);
    }
}

/// <summary>
/// SDXL conditioning (MODEL-CONTRACT §2.4, §3): penultimate hidden states of both encoders concatenated to
/// [B,77,768+1280], pooled <c>text_embeds</c> from encoder 2, <c>time_ids</c> = (H, W, 0, 0, H, W).
/// With CFG and an empty negative prompt the unconditional embeddings are zeros (force_zeros_for_empty_prompt).
/// </summary>
public sealed class SdxlConditioner(TurboModel model, PromptEmbeddingCache cache) : IConditioner
{
    /// <inheritdoc/>
    public Conditioning Encode(string prompt, string negativePrompt, int batch, bool classifierFree, int width, int height, StageTimings timings, CancellationToken ct)
    {
        var (hidden, pooled, truncated) = EncodePrompt(prompt, timings, ct);
        var ehs = hidden.RepeatBatch(batch);
        var textEmbeds = pooled.RepeatBatch(batch);
        float[] ids = [height, width, 0, 0, height, width];
        int total = classifierFree ? 2 * batch : batch;
        var timeIds = new FloatTensor(Enumerable.Range(0, total).SelectMany(_ => ids).ToArray(), [total, 6]);
        if (!classifierFree)
        {
            return new Conditioning(ehs, textEmbeds, timeIds, truncated);
        }
        FloatTensor uHidden, uPooled;
        if (string.IsNullOrEmpty(negativePrompt) && model.ForceZerosForEmptyPrompt)
        {
            uHidden = hidden.ZerosLike();
            uPooled = pooled.ZerosLike();
        }
        else
        {
            (uHidden, uPooled, _) = EncodePrompt(negativePrompt, timings, ct);
        }
        return new Conditioning(
            FloatTensor.ConcatBatch(uHidden.RepeatBatch(batch), ehs),
            FloatTensor.ConcatBatch(uPooled.RepeatBatch(batch), textEmbeds),
            timeIds, truncated);
    }

    private (FloatTensor Hidden, FloatTensor Pooled, bool Truncated) EncodePrompt(string prompt, StageTimings timings, CancellationToken ct)
    {
        var (o1, t1) = PromptEncoding.EncodeOne(model, model.Tokenizer, model.TextEncoder, true, prompt, cache, timings, ct);
        var (o2, t2) = PromptEncoding.EncodeOne(model, model.Tokenizer2!, model.TextEncoder2!, true, prompt, cache, timings, ct);
        return (FloatTensor.ConcatLastAxis(o1.Hidden, o2.Hidden), o2.TextEmbeds!, t1 || t2);
    }
}

/// <summary>SD 2.x / SD-Turbo conditioning: <c>last_hidden_state</c> of the single encoder; CFG's unconditional input encodes the negative prompt (or "").</summary>
public sealed class SdConditioner(TurboModel model, PromptEmbeddingCache cache) : IConditioner
{
    /// <inheritdoc/>
    public Conditioning Encode(string prompt, string negativePrompt, int batch, bool classifierFree, int width, int height, StageTimings timings, CancellationToken ct)
    {
        var (cond, truncated) = PromptEncoding.EncodeOne(model, model.Tokenizer, model.TextEncoder, false, prompt, cache, timings, ct);
        var ehs = cond.Hidden.RepeatBatch(batch);
        if (!classifierFree)
        {
            return new Conditioning(ehs, null, null, truncated);
        }
        var (uncond, _) = PromptEncoding.EncodeOne(model, model.Tokenizer, model.TextEncoder, false, negativePrompt ?? "", cache, timings, ct);
        return new Conditioning(FloatTensor.ConcatBatch(uncond.Hidden.RepeatBatch(batch), ehs), null, null, truncated);
    }
}
