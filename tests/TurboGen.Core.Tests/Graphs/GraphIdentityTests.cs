using System.Security.Cryptography;
using Onnx;
using TurboGen.Graphs;
using TurboGen.Graphs.Architectures.Clip;
using TurboGen.Graphs.Architectures.ControlNet;
using TurboGen.Graphs.Architectures.Esrgan;
using TurboGen.Graphs.Architectures.Taesd;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Graphs.Architectures.Vae;
using TurboGen.Testing;
using TurboGen.Weights;
using Xunit.Abstractions;

namespace TurboGen.Core.Tests.Graphs;

/// <summary>
/// The serialized ONNX model every architecture builds from the tiny golden checkpoints, pinned by SHA-256 (producer version
/// cleared). The expected hashes were computed by this test on main at 52d3619, before the graph code moved from bare string
/// values to a typed <c>GraphValue</c>: a refactoring of the graph code must leave every node, name, attribute and weight byte as it was.
/// A deliberate change to a built graph updates the hash here and says why in its commit.
/// </summary>
public sealed class GraphIdentityTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> Cases => new()
    {
        { "unet_sd21_tiny", "bdd61d587e233a3b650ba83d9dac25194951c48ee3cf353e7fd795d8f06dee73" },
        { "unet_sd21_tiny/vector-int64", "a35713533e294dba6d4410753c0f630560bb50401ee8120759ff21d120b99c5d" },
        { "unet_sd21_tiny/fused", "6033135d839120cc9cea7fd169065631ece8feb72db59b281c6b069152b59331" },
        { "unet_sd21_tiny/int8", "b92101c51490ea400562393a144da961e4d5ab107a91701038ac0305b04a45e1" },
        { "unet_sd21_tiny/int8-zp-unfused", "f51f903aaa9650f78044a97dd6ec1f7c901578723f805f8b653e8f1a6a037c42" },
        { "unet_sd21_tiny/fp16", "86840e82dd7c1e89c3641882df4e85267b2cbf97b193f2081af6006298b9a11c" },
        { "unet_sd21_tiny/controlnet-residuals", "52efa86534b96c8e1ccda20b1bfeec916929ce7ed886ec74c553356b5e305c40" },
        { "unet_sdxl_tiny", "862485f9240b45a7c1526feb57bc752b69f36d4994d119f431ca1d9f2fa1765b" },
        { "unet_sdxl_tiny/fp16-fused", "34396dcb8515e3133e7aeec1439709f721fc22334995f9bb8b52dae7d927aab4" },
        { "unet_lcm_tiny", "7379ddfe87d1749f3fcdad846677f69660a71fe4f9938dc0e458f9887b52c010" },
        { "unet_onlycross_tiny", "9f5fc17d6112a09fa619d78b50b00baf0209037a542c7ac23807a9960508a82b" },
        { "unet_sd15_tiny", "8176a5df5ca935cc4f1fa69dad4fee2d4bcfd0519742fd422184fabe947157d4" },
        { "unet_sd15_inpaint_tiny", "f955b33b99e41f029f609d98f1a756043232e62a5d151f702009166742863e38" },
        { "unet_sdxs_tiny", "88c7285cde9b73c216243033cc4ac4495f4b831835ccfb22fd34518570469e4b" },
        { "controlnet_sd21_tiny", "f0d9392d5a072d4f05819b2ee10f7f3171c36e14644378e8eac7f4b61a8e5daf" },
        { "controlnet_sdxl_tiny/fp16", "b17eb682e8a4aec7f07a25b3de4cca25ee7086dae59361e63cb5bd9b96d47946" },
        { "vae_tiny/decoder", "2abe608340a826ffd1c3b15cca3a22161fa3b6abb2e02b3bfeccb77bc063fc3a" },
        { "vae_tiny/decoder-fp16", "b5f3411fc032d5be0a1a63f865f047e3fa182b81591c3372315762f56bdfc243" },
        { "vae_tiny/encoder", "90ceac8d63987364ea7bea59617a2a5a5876565d288a5184f7cdae02f5811429" },
        { "vae_tiny/encoder-latent-mean", "b37d18d459331c9ccdcb1e66821bb1489416e74db28302bcbf5e54be372f69b7" },
        { "taesd/decoder", "a448e937d712e65dc91c7a37896c73be564cf343b77493fcbdfea5e5c3df58f6" },
        { "taesd/encoder-fp16", "8f70b80b390420e941e10244d1d3fd2053c2e1204acf2f935bcad4fc93ca81df" },
        { "clip_text_tiny", "31b282b2c5e0a64f507442046cc2cf0ae44777f8d2ee5f846281ace82ef9a2c5" },
        { "clip_text_tiny/hidden-int32-int8", "ea748de955549ebbd3a59f00a8ffe3d63e217d7bb5fcd6d505d9b625b5c16d68" },
        { "clip_text_with_projection_tiny/fp16-fused", "b42815c39b8dc2386e70ef7baa1270574d93a3f988076deb7736fff1fdcafeeb" },
        { "esrgan_rrdbnet_tiny", "71f9dd61ebb1af52c9fa62c235c75168129c80055f855a8d7b37bc4206960ba9" },
        { "esrgan_rrdbnet_x2_tiny/fp16", "49eeff0aa222a8ab9a16972897da9c501b123239847462bf66718490af80dff0" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void BuiltModel_IsByteForByteTheOnePinned(string name, string expected)
    {
        string dir = TestPaths.GoldenCase(name.Split('/')[0]);
        string file = File.Exists(Path.Combine(dir, "model.safetensors")) ? "model.safetensors" : "diffusion_pytorch_model.safetensors";
        using var weights = new SafetensorsCheckpoint(Path.Combine(dir, file));   // weights are read when the model is written
        string actual = Hash(Build(name, dir, weights));
        output.WriteLine($"{{ \"{name}\", \"{actual}\" }},");
        Assert.Equal(expected, actual);
    }

    private static string Hash(GraphBuilder graph)
    {
        var model = ModelProto.Parser.ParseFrom(graph.ToBytes());
        model.ProducerVersion = "";
        return Convert.ToHexStringLower(SHA256.HashData(Google.Protobuf.MessageExtensions.ToByteArray(model)));
    }

    private static GraphBuilder Build(string name, string dir, ICheckpointTensors weights)
    {
        string[] parts = name.Split('/');
        string variant = parts.Length > 1 ? parts[1] : "";
        string Json() => File.ReadAllText(Path.Combine(dir, "config.json"));
        var precision = variant.Contains("fp16", StringComparison.Ordinal) ? BuildPrecision.Float16 : BuildPrecision.Float32;
        var kernels = variant.Contains("int8-zp-unfused", StringComparison.Ordinal)
            ? GraphKernels.Int8 with { FusedAttention = false, Int8ZeroPoints = true, Int8AccuracyLevel = 1 }
            : variant.Contains("int8", StringComparison.Ordinal) ? GraphKernels.Int8All
            : variant.Contains("fused", StringComparison.Ordinal) ? GraphKernels.Fused
            : GraphKernels.Standard;
        if (parts[0].StartsWith("unet_", StringComparison.Ordinal))
        {
            return Unet2DConditionModel.Build(UnetConfig.FromJson(Json()), weights, new UnetBuildOptions
            {
                Precision = precision,
                Kernels = kernels,
                Timestep = variant == "vector-int64" ? TimestepInput.VectorInt64 : TimestepInput.ScalarFloat,
                ControlNetResiduals = variant == "controlnet-residuals",
            });
        }
        if (parts[0].StartsWith("controlnet_", StringComparison.Ordinal))
        {
            return ControlNetModel.Build(ControlNetConfig.FromJson(Json()), weights, new UnetBuildOptions { Precision = precision, GraphName = "controlnet" });
        }
        if (parts[0] == "vae_tiny")
        {
            var config = AutoencoderKlConfig.FromJson(Json());
            var options = new AutoencoderKlBuildOptions
            {
                Precision = precision,
                EncoderOutput = variant.Contains("latent-mean", StringComparison.Ordinal) ? VaeEncoderOutput.LatentMean : VaeEncoderOutput.LatentParameters,
            };
            return variant.StartsWith("decoder", StringComparison.Ordinal) ? AutoencoderKl.BuildDecoder(config, weights, options) : AutoencoderKl.BuildEncoder(config, weights, options);
        }
        if (parts[0] == "taesd")
        {
            var config = AutoencoderTinyConfig.FromFile(Path.Combine(dir, "config.json"));
            var options = new AutoencoderTinyBuildOptions { Precision = precision };
            return variant.StartsWith("decoder", StringComparison.Ordinal) ? AutoencoderTiny.BuildDecoder(config, weights, options) : AutoencoderTiny.BuildEncoder(config, weights, options);
        }
        if (parts[0].StartsWith("clip_", StringComparison.Ordinal))
        {
            return ClipTextModel.Build(ClipTextConfig.FromFile(Path.Combine(dir, "config.json")), weights, new ClipTextBuildOptions
            {
                Precision = precision,
                Kernels = kernels,
                OutputHiddenStates = variant.Contains("hidden", StringComparison.Ordinal),
                InputIdsType = variant.Contains("int32", StringComparison.Ordinal) ? ElementType.Int32 : ElementType.Int64,
            });
        }
        if (parts[0].StartsWith("esrgan_", StringComparison.Ordinal))
        {
            var view = EsrganCheckpoint.Unwrap(weights);
            return RrdbNet.Build(RrdbNetConfig.Infer(view), view, precision);
        }
        throw new ArgumentException($"Unknown case '{name}'.");
    }
}
