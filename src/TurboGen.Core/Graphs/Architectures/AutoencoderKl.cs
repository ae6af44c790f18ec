using TurboGen.Weights;

namespace TurboGen.Graphs.Architectures;

/// <summary>
/// Builds the ONNX graphs of a diffusers <c>AutoencoderKL</c> (the SD / SDXL VAE) from its checkpoint, with the Optimum
/// I/O contract: <c>vae_decoder</c> (<c>latent_sample</c> → <c>sample</c>) and <c>vae_encoder</c> (<c>sample</c> →
/// <c>latent_parameters</c>, or the older <c>latent_sample</c>).
/// <para>
/// How it works: the decoder is post_quant_conv → conv_in → mid block (ResnetBlock2D, single-head self-attention over the
/// h·w positions, ResnetBlock2D) → up blocks (layers_per_block+1 resnets each, nearest ×2 + 3×3 conv between blocks) →
/// GroupNorm → SiLU → conv_out. The encoder mirrors it: conv_in → down blocks (layers_per_block resnets, then a stride-2
/// conv after padding right/bottom by one) → mid block → GroupNorm → SiLU → conv_out (mean ‖ logvar) → quant_conv.
/// No latent scaling happens inside (the pipeline divides by / multiplies with <c>scaling_factor</c>), and no random
/// sampling either. Before building, every tensor the config implies is checked for presence and shape (all problems
/// reported at once); after building, checkpoint keys of the built half that were never read are reported as an error.
/// Attention weights are accepted under the current (<c>to_q/to_k/to_v/to_out.0</c>) and the pre-0.14 diffusers names
/// (<c>query/key/value/proj_attn</c>).
/// </para>
/// </summary>
public static class AutoencoderKl
{
    /// <summary>The names of the four linear layers of the VAE attention block.</summary>
    private sealed record AttentionNames(string Query, string Key, string Value, string Out);

    private static readonly AttentionNames CurrentNames = new("to_q", "to_k", "to_v", "to_out.0");
    private static readonly AttentionNames LegacyNames = new("query", "key", "value", "proj_attn");

    /// <summary>The VAE keeps fp32 Linear layers whatever is asked; only fused attention applies.</summary>
    private static GraphKernels VaeKernels(GraphKernels? kernels) =>
        kernels is { FusedAttention: true } ? GraphKernels.Fused : GraphKernels.Standard;

    /// <summary>The decoder graph: <c>latent_sample</c> [batch, latent, latent_height, latent_width] → <c>sample</c> [batch, out, height, width] (nominally [-1, 1], unclamped).</summary>
    /// <remarks><paramref name="kernels"/>: only <see cref="GraphKernels.FusedAttention"/> applies (no int8 in the VAE).</remarks>
    public static GraphBuilder BuildDecoder(AutoencoderKlConfig config, ICheckpointTensors weights, BuildPrecision precision = BuildPrecision.Float32, GraphKernels? kernels = null)
    {
        config.Validate(weights.Source);
        bool legacy = UsesLegacyAttentionNames(weights);
        AutoencoderCheckpoint.RequireTensors(weights, ExpectedTensors(config, AutoencoderPart.Decoder, legacy), "AutoencoderKL decoder");

        var g = new GraphBuilder("vae_decoder") { FloatType = precision.FloatType() };
        var net = new Network(new Nn(g, weights) { Kernels = VaeKernels(kernels) }, config, legacy ? LegacyNames : CurrentNames);
        string z = g.Input("latent_sample", ElementType.Float, "batch", config.LatentChannels, "latent_height", "latent_width");
        string x = g.FromFloat32(z);
        x = config.UsePostQuantConv ? net.Nn.Conv2d(x, "post_quant_conv") : x;
        x = net.Decoder(x, "decoder");
        g.Output(g.ToFloat32(x), "sample", ElementType.Float, "batch", config.OutChannels, "height", "width");

        AutoencoderCheckpoint.RequireAllUsed(weights, IsEncoderKey, "AutoencoderKL decoder");
        return g;
    }

    /// <summary>
    /// The encoder graph: <c>sample</c> [batch, in, height, width] (image in [-1, 1]) → <c>latent_parameters</c>
    /// [batch, 2·latent, height/8, width/8] (mean ‖ logvar), or with <see cref="VaeEncoderOutput.LatentMean"/> →
    /// <c>latent_sample</c> [batch, latent, height/8, width/8] holding the mean. Height and width must be multiples of 8.
    /// </summary>
    public static GraphBuilder BuildEncoder(AutoencoderKlConfig config, ICheckpointTensors weights, VaeEncoderOutput output = VaeEncoderOutput.LatentParameters,
        BuildPrecision precision = BuildPrecision.Float32, GraphKernels? kernels = null)
    {
        config.Validate(weights.Source);
        bool legacy = UsesLegacyAttentionNames(weights);
        AutoencoderCheckpoint.RequireTensors(weights, ExpectedTensors(config, AutoencoderPart.Encoder, legacy), "AutoencoderKL encoder");

        var g = new GraphBuilder("vae_encoder") { FloatType = precision.FloatType() };
        var net = new Network(new Nn(g, weights) { Kernels = VaeKernels(kernels) }, config, legacy ? LegacyNames : CurrentNames);
        string image = g.Input("sample", ElementType.Float, "batch", config.InChannels, "height", "width");
        string moments = net.Encoder(g.FromFloat32(image), "encoder");
        if (config.UseQuantConv)
        {
            moments = net.Nn.Conv2d(moments, "quant_conv");
        }
        int latent = config.LatentChannels;
        switch (output)
        {
            case VaeEncoderOutput.LatentParameters:
                g.Output(g.ToFloat32(moments), "latent_parameters", ElementType.Float, "batch", 2 * latent, "latent_height", "latent_width");
                break;
            case VaeEncoderOutput.LatentMean:
                string mean = g.Op("Slice", [moments, g.ConstInt64(0), g.ConstInt64(latent), g.ConstInt64(1)]);
                g.Output(g.ToFloat32(mean), "latent_sample", ElementType.Float, "batch", latent, "latent_height", "latent_width");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(output), output, null);
        }

        AutoencoderCheckpoint.RequireAllUsed(weights, IsDecoderKey, "AutoencoderKL encoder");
        return g;
    }

    /// <summary>True when the checkpoint names its attention layers the pre-0.14 diffusers way (<c>query/key/value/proj_attn</c>).</summary>
    public static bool UsesLegacyAttentionNames(ICheckpointTensors weights) =>
        weights.Names.Any(n => n.EndsWith(".attentions.0.query.weight", StringComparison.Ordinal))
        && !weights.Names.Any(n => n.EndsWith(".attentions.0.to_q.weight", StringComparison.Ordinal));

    private static bool IsEncoderKey(string key) => key.StartsWith("encoder.", StringComparison.Ordinal) || key.StartsWith("quant_conv.", StringComparison.Ordinal);

    private static bool IsDecoderKey(string key) => key.StartsWith("decoder.", StringComparison.Ordinal) || key.StartsWith("post_quant_conv.", StringComparison.Ordinal);

    /// <summary>
    /// Every tensor (name → shape) that one half of the VAE reads for <paramref name="config"/>, i.e. the diffusers
    /// state_dict of that half. Used to check a checkpoint before building, and by tests to generate full-size checkpoints.
    /// </summary>
    public static IReadOnlyDictionary<string, long[]> ExpectedTensors(AutoencoderKlConfig config, AutoencoderPart part, bool legacyAttentionNames = false)
    {
        var t = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var names = legacyAttentionNames ? LegacyNames : CurrentNames;
        var boc = config.BlockOutChannels;
        int latent = config.LatentChannels;

        void Conv(string p, long cout, long cin, long k, bool bias = true)
        {
            t[p + ".weight"] = [cout, cin, k, k];
            if (bias) t[p + ".bias"] = [cout];
        }
        void Norm(string p, long c)
        {
            t[p + ".weight"] = [c];
            t[p + ".bias"] = [c];
        }
        void Linear(string p, long cout, long cin)
        {
            t[p + ".weight"] = [cout, cin];
            t[p + ".bias"] = [cout];
        }
        void Resnet(string p, long cin, long cout)
        {
            Norm(p + ".norm1", cin);
            Conv(p + ".conv1", cout, cin, 3);
            Norm(p + ".norm2", cout);
            Conv(p + ".conv2", cout, cout, 3);
            if (cin != cout) Conv(p + ".conv_shortcut", cout, cin, 1);
        }
        void Mid(string p, long c)
        {
            Resnet(p + ".resnets.0", c, c);
            if (config.MidBlockAddAttention)
            {
                string a = p + ".attentions.0";
                Norm(a + ".group_norm", c);
                Linear($"{a}.{names.Query}", c, c);
                Linear($"{a}.{names.Key}", c, c);
                Linear($"{a}.{names.Value}", c, c);
                Linear($"{a}.{names.Out}", c, c);
            }
            Resnet(p + ".resnets.1", c, c);
        }

        if (part == AutoencoderPart.Encoder)
        {
            Conv("encoder.conv_in", boc[0], config.InChannels, 3);
            int prev = boc[0];
            for (int i = 0; i < boc.Count; i++)
            {
                for (int j = 0; j < config.LayersPerBlock; j++)
                {
                    Resnet($"encoder.down_blocks.{i}.resnets.{j}", j == 0 ? prev : boc[i], boc[i]);
                }
                if (i < boc.Count - 1) Conv($"encoder.down_blocks.{i}.downsamplers.0.conv", boc[i], boc[i], 3);
                prev = boc[i];
            }
            Mid("encoder.mid_block", boc[^1]);
            Norm("encoder.conv_norm_out", boc[^1]);
            Conv("encoder.conv_out", 2 * latent, boc[^1], 3);
            if (config.UseQuantConv) Conv("quant_conv", 2 * latent, 2 * latent, 1);
        }
        else
        {
            if (config.UsePostQuantConv) Conv("post_quant_conv", latent, latent, 1);
            var rev = boc.Reverse().ToArray();
            Conv("decoder.conv_in", rev[0], latent, 3);
            Mid("decoder.mid_block", rev[0]);
            int prev = rev[0];
            for (int i = 0; i < rev.Length; i++)
            {
                for (int j = 0; j < config.LayersPerBlock + 1; j++)
                {
                    Resnet($"decoder.up_blocks.{i}.resnets.{j}", j == 0 ? prev : rev[i], rev[i]);
                }
                if (i < rev.Length - 1) Conv($"decoder.up_blocks.{i}.upsamplers.0.conv", rev[i], rev[i], 3);
                prev = rev[i];
            }
            Norm("decoder.conv_norm_out", boc[0]);
            Conv("decoder.conv_out", config.OutChannels, boc[0], 3);
        }
        return t;
    }

    /// <summary>The diffusers modules (vae.py Encoder / Decoder and their blocks), one method each.</summary>
    private sealed class Network(Nn nn, AutoencoderKlConfig config, AttentionNames attentionNames)
    {
        public Nn Nn { get; } = nn;
        private GraphBuilder G => Nn.G;
        private int Groups => config.NormNumGroups;
        private const float Eps = AutoencoderKlConfig.NormEps;

        /// <summary>vae.py Encoder: conv_in → DownEncoderBlock2D × n → mid block → GroupNorm → SiLU → conv_out.</summary>
        public string Encoder(string x, string prefix)
        {
            using var _ = G.Scope(prefix);
            x = Nn.Conv2d(x, prefix + ".conv_in");
            int blocks = config.BlockOutChannels.Count;
            for (int i = 0; i < blocks; i++)
            {
                x = DownEncoderBlock2D(x, $"{prefix}.down_blocks.{i}", addDownsample: i < blocks - 1);
            }
            x = MidBlock(x, prefix + ".mid_block");
            x = Nn.Silu(Nn.GroupNorm(x, prefix + ".conv_norm_out", Groups, Eps));
            return Nn.Conv2d(x, prefix + ".conv_out");
        }

        /// <summary>vae.py Decoder: conv_in → mid block → UpDecoderBlock2D × n → GroupNorm → SiLU → conv_out.</summary>
        public string Decoder(string z, string prefix)
        {
            using var _ = G.Scope(prefix);
            string x = Nn.Conv2d(z, prefix + ".conv_in");
            x = MidBlock(x, prefix + ".mid_block");
            int blocks = config.BlockOutChannels.Count;
            for (int i = 0; i < blocks; i++)
            {
                x = UpDecoderBlock2D(x, $"{prefix}.up_blocks.{i}", addUpsample: i < blocks - 1);
            }
            x = Nn.Silu(Nn.GroupNorm(x, prefix + ".conv_norm_out", Groups, Eps));
            return Nn.Conv2d(x, prefix + ".conv_out");
        }

        /// <summary>DownEncoderBlock2D: layers_per_block resnets, then Downsample2D (pad right/bottom by 1, 3×3 conv stride 2, no padding).</summary>
        private string DownEncoderBlock2D(string x, string prefix, bool addDownsample)
        {
            using var _ = G.Scope(prefix);
            for (int j = 0; j < config.LayersPerBlock; j++)
            {
                x = ResnetBlock2D(x, $"{prefix}.resnets.{j}");
            }
            if (addDownsample)
            {
                // F.pad(x, (0, 1, 0, 1)) then conv(stride 2, padding 0) == conv with ONNX pads [top 0, left 0, bottom 1, right 1].
                x = Nn.Conv2d(x, prefix + ".downsamplers.0.conv", stride: 2, pads: [0, 0, 1, 1]);
            }
            return x;
        }

        /// <summary>UpDecoderBlock2D: layers_per_block+1 resnets, then Upsample2D (nearest ×2, 3×3 conv).</summary>
        private string UpDecoderBlock2D(string x, string prefix, bool addUpsample)
        {
            using var _ = G.Scope(prefix);
            for (int j = 0; j < config.LayersPerBlock + 1; j++)
            {
                x = ResnetBlock2D(x, $"{prefix}.resnets.{j}");
            }
            if (addUpsample)
            {
                x = Nn.Conv2d(Nn.UpsampleNearest2x(x), prefix + ".upsamplers.0.conv");
            }
            return x;
        }

        /// <summary>UNetMidBlock2D without time embedding: resnet → attention → resnet.</summary>
        private string MidBlock(string x, string prefix)
        {
            using var _ = G.Scope(prefix);
            x = ResnetBlock2D(x, prefix + ".resnets.0");
            if (config.MidBlockAddAttention)
            {
                x = AttentionBlock(x, prefix + ".attentions.0");
            }
            return ResnetBlock2D(x, prefix + ".resnets.1");
        }

        /// <summary>ResnetBlock2D (no time embedding): x + conv2(SiLU(norm2(conv1(SiLU(norm1(x)))))), with a 1×1 conv_shortcut when channels change.</summary>
        private string ResnetBlock2D(string x, string prefix)
        {
            using var _ = G.Scope(prefix);
            string h = Nn.Conv2d(Nn.Silu(Nn.GroupNorm(x, prefix + ".norm1", Groups, Eps)), prefix + ".conv1");
            h = Nn.Conv2d(Nn.Silu(Nn.GroupNorm(h, prefix + ".norm2", Groups, Eps)), prefix + ".conv2");
            bool channelsChange = Nn.Shape(prefix + ".conv1.weight")[1] != Nn.Shape(prefix + ".conv2.weight")[0];
            string shortcut = channelsChange ? Nn.Conv2d(x, prefix + ".conv_shortcut") : x;
            return G.Add(shortcut, h);
        }

        /// <summary>
        /// The VAE's Attention: GroupNorm, then single-head self-attention over the h·w positions as tokens
        /// ([B,C,H,W] → [B,HW,C]), output projection, back to [B,C,H,W], plus the residual.
        /// </summary>
        private string AttentionBlock(string x, string prefix)
        {
            using var _ = G.Scope(prefix);
            long channels = Nn.Shape(prefix + ".group_norm.weight")[0];
            string h = Nn.GroupNorm(x, prefix + ".group_norm", Groups, Eps);
            string tokens = G.Transpose(G.Reshape(h, 0, channels, -1), 0, 2, 1);
            string q = Nn.Linear(tokens, $"{prefix}.{attentionNames.Query}");
            string k = Nn.Linear(tokens, $"{prefix}.{attentionNames.Key}");
            string v = Nn.Linear(tokens, $"{prefix}.{attentionNames.Value}");
            string attended = Nn.Attention(q, k, v, heads: 1, channels);
            string o = Nn.Linear(attended, $"{prefix}.{attentionNames.Out}");
            string back = G.Op("Reshape", [G.Transpose(o, 0, 2, 1), G.Op("Shape", [x])]);
            return G.Add(back, x);
        }
    }
}
