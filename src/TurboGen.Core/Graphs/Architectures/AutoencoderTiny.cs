using TurboGen.Weights;

namespace TurboGen.Graphs.Architectures;

/// <summary>
/// Builds the ONNX graphs of a diffusers <c>AutoencoderTiny</c> (TAESD / TAESDXL) from its checkpoint
/// (diffusers key names <c>encoder.layers.N…</c> / <c>decoder.layers.N…</c>).
/// <para>
/// How it works: both halves are a plain sequence of layers numbered like the diffusers <c>nn.Sequential</c>, so the
/// index of every layer (including the weightless activations and upsamplers) is counted exactly as there. The decoder
/// soft-clamps the latent with tanh(x/3)·3, then conv → act → per stage: AutoencoderTinyBlocks
/// (ReLU(conv-act-conv-act-conv(x) + skip(x))), nearest upsampling and a bias-free conv (the last stage instead ends
/// with the output conv). The encoder is conv → blocks, then per later stage a bias-free stride-2 conv and blocks, then
/// the latent conv. Latents are TAESD's own (scale factor 1): they are the UNet's latents, with no
/// <c>scaling_factor</c> applied. Image range: diffusers' [-1, 1] by default (decoder output x·2−1, encoder input
/// (x+1)/2 inside the graph), or taesd.py's [0, 1] on request. Decoder output is not clamped. Checkpoints saved from
/// taesd.py itself (Sequential-index keys, one file per half) are read through <see cref="FromTaesdPyKeys"/>.
/// </para>
/// </summary>
public static class AutoencoderTiny
{
    /// <summary>
    /// The decoder graph: <c>latent_sample</c> [batch, latent, latent_height, latent_width] → <c>sample</c> [batch, out, height, width]
    /// with height = latent_height·2^(upsampling stages). <paramref name="outputMinusOneToOne"/>: true = diffusers convention
    /// (nominally [-1, 1]); false = taesd.py convention (nominally [0, 1]).
    /// </summary>
    public static GraphBuilder BuildDecoder(AutoencoderTinyConfig config, ICheckpointTensors weights, bool outputMinusOneToOne = true,
        BuildPrecision precision = BuildPrecision.Float32)
    {
        config.Validate(weights.Source);
        AutoencoderCheckpoint.RequireTensors(weights, ExpectedTensors(config, AutoencoderPart.Decoder), "AutoencoderTiny decoder");

        var g = new GraphBuilder("taesd_decoder") { FloatType = precision.FloatType() };
        var net = new Network(new Nn(g, weights), config);
        string z = g.Input("latent_sample", ElementType.Float, "batch", config.LatentChannels, "latent_height", "latent_width");
        string x = net.Decoder(g.FromFloat32(z), "decoder");
        if (outputMinusOneToOne)
        {
            x = g.Sub(g.Mul(x, g.Const(2f)), g.Const(1f));
        }
        g.Output(g.ToFloat32(x), "sample", ElementType.Float, "batch", config.OutChannels, "height", "width");

        AutoencoderCheckpoint.RequireAllUsed(weights, k => k.StartsWith("encoder.", StringComparison.Ordinal), "AutoencoderTiny decoder");
        return g;
    }

    /// <summary>
    /// The encoder graph: <c>sample</c> [batch, in, height, width] → <c>latent_sample</c> [batch, latent, height/8, width/8]
    /// (for the default 4 stages; unscaled TAESD latents). <paramref name="inputMinusOneToOne"/>: true = image in [-1, 1]
    /// (diffusers convention, mapped to [0, 1] inside); false = image already in [0, 1] (taesd.py convention).
    /// </summary>
    public static GraphBuilder BuildEncoder(AutoencoderTinyConfig config, ICheckpointTensors weights, bool inputMinusOneToOne = true,
        BuildPrecision precision = BuildPrecision.Float32)
    {
        config.Validate(weights.Source);
        AutoencoderCheckpoint.RequireTensors(weights, ExpectedTensors(config, AutoencoderPart.Encoder), "AutoencoderTiny encoder");

        var g = new GraphBuilder("taesd_encoder") { FloatType = precision.FloatType() };
        var net = new Network(new Nn(g, weights), config);
        string image = g.Input("sample", ElementType.Float, "batch", config.InChannels, "height", "width");
        string x = g.FromFloat32(image);
        x = inputMinusOneToOne ? g.Div(g.Add(x, g.Const(1f)), g.Const(2f)) : x;
        x = net.Encoder(x, "encoder");
        g.Output(g.ToFloat32(x), "latent_sample", ElementType.Float, "batch", config.LatentChannels, "latent_height", "latent_width");

        AutoencoderCheckpoint.RequireAllUsed(weights, k => k.StartsWith("decoder.", StringComparison.Ordinal), "AutoencoderTiny encoder");
        return g;
    }

    /// <summary>
    /// A view of a checkpoint saved from madebyollin's <c>taesd.py</c> (one file per half, e.g. <c>taesd_decoder.safetensors</c>,
    /// keys are <c>nn.Sequential</c> indices such as <c>3.conv.0.weight</c>) under the diffusers names this builder reads.
    /// taesd.py's Encoder indices equal diffusers' <c>encoder.layers.N</c>; its Decoder starts with the weightless Clamp
    /// module, so its index N is diffusers' <c>decoder.layers.(N−1)</c>. Keys that are not <c>index.rest</c> keep their name
    /// (and are then reported as unused).
    /// </summary>
    public static ICheckpointTensors FromTaesdPyKeys(ICheckpointTensors taesdPyWeights, AutoencoderPart part)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string original in taesdPyWeights.Names)
        {
            int dot = original.IndexOf('.');
            if (dot > 0 && int.TryParse(original.AsSpan(0, dot), System.Globalization.NumberStyles.None, null, out int index))
            {
                string rest = original[(dot + 1)..];
                string renamed = part == AutoencoderPart.Encoder ? $"encoder.layers.{index}.{rest}" : $"decoder.layers.{index - 1}.{rest}";
                map[renamed] = original;
            }
            else
            {
                map[original] = original;
            }
        }
        return new RenamedTensors(taesdPyWeights, map);
    }

    /// <summary>Every tensor (name → shape) that one half reads for <paramref name="config"/> (the diffusers state_dict of that half).</summary>
    public static IReadOnlyDictionary<string, long[]> ExpectedTensors(AutoencoderTinyConfig config, AutoencoderPart part)
    {
        var t = new Dictionary<string, long[]>(StringComparer.Ordinal);
        void Conv(string p, long cout, long cin, long k, bool bias)
        {
            t[p + ".weight"] = [cout, cin, k, k];
            if (bias) t[p + ".bias"] = [cout];
        }
        void Block(string p, long cin, long cout)
        {
            Conv(p + ".conv.0", cout, cin, 3, bias: true);
            Conv(p + ".conv.2", cout, cout, 3, bias: true);
            Conv(p + ".conv.4", cout, cout, 3, bias: true);
            if (cin != cout) Conv(p + ".skip", cout, cin, 1, bias: false);
        }

        if (part == AutoencoderPart.Encoder)
        {
            var chans = config.EncoderBlockOutChannels;
            int index = 0;
            for (int i = 0; i < chans.Count; i++)
            {
                if (i == 0) Conv($"encoder.layers.{index++}", chans[0], config.InChannels, 3, bias: true);
                else Conv($"encoder.layers.{index++}", chans[i], chans[i], 3, bias: false);
                for (int j = 0; j < config.NumEncoderBlocks[i]; j++)
                {
                    Block($"encoder.layers.{index++}", chans[i], chans[i]);
                }
            }
            Conv($"encoder.layers.{index}", config.LatentChannels, chans[^1], 3, bias: true);
        }
        else
        {
            var chans = config.DecoderBlockOutChannels;
            Conv("decoder.layers.0", chans[0], config.LatentChannels, 3, bias: true);
            int index = 2; // layers.1 is the activation
            for (int i = 0; i < chans.Count; i++)
            {
                bool final = i == chans.Count - 1;
                for (int j = 0; j < config.NumDecoderBlocks[i]; j++)
                {
                    Block($"decoder.layers.{index++}", chans[i], chans[i]);
                }
                if (!final) index++; // the Upsample layer
                Conv($"decoder.layers.{index++}", final ? config.OutChannels : chans[i], chans[i], 3, bias: final);
            }
        }
        return t;
    }

    /// <summary>A checkpoint seen under other names (new name → name in <c>inner</c>); records what was read under the new names.</summary>
    private sealed class RenamedTensors(ICheckpointTensors inner, Dictionary<string, string> newToOld) : ICheckpointTensors
    {
        private readonly HashSet<string> _used = new(StringComparer.Ordinal);

        public string Source => inner.Source;
        public IEnumerable<string> Names => newToOld.Keys;
        public IReadOnlyCollection<string> Used => _used;
        public bool Contains(string name) => newToOld.ContainsKey(name);
        public long[] Shape(string name) => inner.Shape(Original(name));
        public WeightData Float32(string name) => inner.Float32(Original(name));
        public WeightData Float32Transposed(string name) => inner.Float32Transposed(Original(name));
        public float[] ReadFloat32(string name) => inner.ReadFloat32(Original(name));

        private string Original(string name)
        {
            if (!newToOld.TryGetValue(name, out string? original))
            {
                throw new ModelLoadException(Source, $"Checkpoint {Source} has no tensor '{name}' (taesd.py layout).");
            }
            _used.Add(name);
            return original;
        }
    }

    /// <summary>diffusers EncoderTiny / DecoderTiny and AutoencoderTinyBlock, one method each.</summary>
    private sealed class Network(Nn nn, AutoencoderTinyConfig config)
    {
        private GraphBuilder G => nn.G;

        /// <summary>EncoderTiny.layers: per stage a conv (stride 2 and bias-free after the first stage) and blocks, then the latent conv.</summary>
        public string Encoder(string x, string prefix)
        {
            using var _ = G.Scope(prefix);
            int index = 0;
            for (int i = 0; i < config.EncoderBlockOutChannels.Count; i++)
            {
                x = nn.Conv2d(x, $"{prefix}.layers.{index++}", stride: i == 0 ? 1 : 2);
                for (int j = 0; j < config.NumEncoderBlocks[i]; j++)
                {
                    x = Block(x, $"{prefix}.layers.{index++}");
                }
            }
            return nn.Conv2d(x, $"{prefix}.layers.{index}");
        }

        /// <summary>DecoderTiny: tanh(x/3)·3, then conv, act, per stage blocks + (upsample, bias-free conv) or the output conv.</summary>
        public string Decoder(string z, string prefix)
        {
            using var _ = G.Scope(prefix);
            string x = G.Mul(G.Tanh(G.Div(z, G.Const(3f))), G.Const(3f));
            x = Activation(nn.Conv2d(x, $"{prefix}.layers.0"));
            int index = 2;
            int stages = config.DecoderBlockOutChannels.Count;
            for (int i = 0; i < stages; i++)
            {
                for (int j = 0; j < config.NumDecoderBlocks[i]; j++)
                {
                    x = Block(x, $"{prefix}.layers.{index++}");
                }
                if (i < stages - 1)
                {
                    x = UpsampleNearest(x);
                    index++;
                }
                x = nn.Conv2d(x, $"{prefix}.layers.{index++}");
            }
            return x;
        }

        /// <summary>AutoencoderTinyBlock: ReLU(conv(x) + skip(x)), conv = conv-act-conv-act-conv, skip = 1×1 bias-free conv when channels change, else identity.</summary>
        private string Block(string x, string prefix)
        {
            using var _ = G.Scope(prefix);
            string h = Activation(nn.Conv2d(x, prefix + ".conv.0"));
            h = Activation(nn.Conv2d(h, prefix + ".conv.2"));
            h = nn.Conv2d(h, prefix + ".conv.4");
            bool channelsChange = nn.Shape(prefix + ".conv.0.weight")[1] != nn.Shape(prefix + ".conv.4.weight")[0];
            string skip = channelsChange ? nn.Conv2d(x, prefix + ".skip") : x;
            return G.Relu(G.Add(h, skip));
        }

        private string Activation(string x) => config.ActFn == "silu" ? nn.Silu(x) : G.Relu(x);

        private string UpsampleNearest(string x)
        {
            float f = config.UpsamplingScalingFactor;
            return f == 2
                ? nn.UpsampleNearest2x(x)
                : G.Op("Resize", [x, "", G.ConstFloat32([1f, 1f, f, f], 4)],
                    ("mode", "nearest"), ("coordinate_transformation_mode", "asymmetric"), ("nearest_mode", "floor"));
        }
    }
}
