using System.Text.Json.Nodes;
using TurboGen.Configs;
using TurboGen.Graphs.Architectures.Clip;
using TurboGen.Graphs.Architectures.Taesd;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Graphs.Architectures.Vae;
using TurboGen.Scheduling;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Configs;

/// <summary>
/// One rule for every config TurboGen reads (<see cref="ConfigReader"/>): absent or null takes the default, a wrongly typed
/// field is an error naming the field and the file, integral floats are integers. The five config types used to read JSON
/// each their own way (a wrongly typed VAE <c>scaling_factor</c> was silently replaced by the default, a null CLIP field was
/// an error); these tests drive each of them through the same cases.
/// </summary>
public sealed class ConfigReaderTests
{
    private const string Source = "model/part/config.json";

    /// <summary>Parses <paramref name="json"/> as the config <paramref name="kind"/> and returns the value of <paramref name="field"/>.</summary>
    private static object Read(string kind, string json, string field) => kind switch
    {
        "unet" => field switch
        {
            "in_channels" => (object)UnetConfig.FromJson(json, Source).InChannels,
            _ => (object)UnetConfig.FromJson(json, Source).NormEps,
        },
        "clip" => field switch
        {
            "hidden_size" => (object)ClipTextConfig.FromJson(json, Source).HiddenSize,
            _ => (object)ClipTextConfig.FromJson(json, Source).LayerNormEps,
        },
        "vae" => field switch
        {
            "latent_channels" => (object)AutoencoderKlConfig.FromJson(json, Source).LatentChannels,
            _ => (object)AutoencoderKlConfig.FromJson(json, Source).ScalingFactor,
        },
        "taesd" => field switch
        {
            "latent_channels" => (object)AutoencoderTinyConfig.FromJson(json, Source).LatentChannels,
            _ => (object)AutoencoderTinyConfig.FromJson(json, Source).ScalingFactor,
        },
        _ => field switch
        {
            "num_train_timesteps" => (object)SchedulerConfig.FromJson(json, Source).NumTrainTimesteps,
            _ => (object)SchedulerConfig.FromJson(json, Source).BetaStart,
        },
    };

    /// <summary>A valid config of <paramref name="kind"/> with <paramref name="field"/> set to <paramref name="value"/> (JSON text; null removes it).</summary>
    private static string With(string kind, string field, string? value)
    {
        var doc = JsonNode.Parse(kind == "unet" ? RealUnetConfigs.SdTurbo : "{}")!.AsObject();
        doc.Remove(field);
        if (value is not null) doc[field] = JsonNode.Parse(value); // "null" writes a JSON null
        return doc.ToJsonString();
    }

    public static TheoryData<string, string, string, object> IntegerFields => new()
    {
        // kind, field, an integral value written as a float, the default
        { "unet", "in_channels", "4.0", 4 },
        { "clip", "hidden_size", "768.0", 512 },
        { "vae", "latent_channels", "16.0", 4 },
        { "taesd", "latent_channels", "16.0", 4 },
        { "scheduler", "num_train_timesteps", "1000.0", 1000 },
    };

    [Theory]
    [MemberData(nameof(IntegerFields))]
    public void NullTakesTheDefault_LikeAnAbsentField(string kind, string field, string integralFloat, object defaultValue)
    {
        _ = integralFloat;
        Assert.Equal(defaultValue, Read(kind, With(kind, field, null), field));
        string withNull = With(kind, field, "null");
        Assert.Contains($"\"{field}\":null", withNull);
        Assert.Equal(defaultValue, Read(kind, withNull, field));
    }

    [Theory]
    [MemberData(nameof(IntegerFields))]
    public void IntegralFloats_AreIntegers(string kind, string field, string integralFloat, object defaultValue)
    {
        _ = defaultValue;
        Assert.Equal((int)double.Parse(integralFloat, System.Globalization.CultureInfo.InvariantCulture), Read(kind, With(kind, field, integralFloat), field));
    }

    [Theory]
    [InlineData("unet", "in_channels", "\"4\"")]
    [InlineData("unet", "in_channels", "4.5")]
    [InlineData("unet", "norm_eps", "\"small\"")]
    [InlineData("clip", "hidden_size", "\"big\"")]
    [InlineData("clip", "layer_norm_eps", "[1e-5]")]
    [InlineData("vae", "latent_channels", "\"4\"")]
    [InlineData("vae", "scaling_factor", "\"0.13025\"")]
    [InlineData("taesd", "latent_channels", "true")]
    [InlineData("taesd", "scaling_factor", "\"1\"")]
    [InlineData("scheduler", "num_train_timesteps", "\"1000\"")]
    [InlineData("scheduler", "beta_start", "\"small\"")]
    public void AWronglyTypedField_IsAnErrorNamingTheFieldAndTheFile(string kind, string field, string value)
    {
        var e = Assert.Throws<ModelLoadException>(() => Read(kind, With(kind, field, value), field));
        Assert.Equal(Source, e.Path);
        Assert.Contains(Source, e.Message);
        Assert.Contains($"\"{field}\"", e.Message);
    }

    /// <summary>norm_num_groups 0 divided by zero while the UNet config was read (model-file fuzz, seed dpKgLw-AL4W1).</summary>
    [Theory]
    [InlineData("0")]
    [InlineData("-32")]
    public void UnetNormNumGroups_NotPositive_IsAnErrorNamingTheFieldAndTheFile(string value)
    {
        var e = Assert.Throws<ModelLoadException>(() => UnetConfig.FromJson(With("unet", "norm_num_groups", value), Source));
        Assert.Equal(Source, e.Path);
        Assert.Contains("\"norm_num_groups\"", e.Message);
    }

    [Fact]
    public void Parse_RejectsInvalidJsonAndNonObjects_NamingTheSource()
    {
        var invalid = Assert.Throws<ModelLoadException>(() => ConfigReader.Parse("{\"a\": ", "UNet config", Source));
        Assert.Equal(Source, invalid.Path);
        Assert.StartsWith($"UNet config {Source} is not valid JSON", invalid.Message);
        var array = Assert.Throws<ModelLoadException>(() => ConfigReader.Parse("[1]", "UNet config", Source));
        Assert.Contains("must be a JSON object", array.Message);
        Assert.Equal(3, ConfigReader.Parse("{\"a\": 3, /* comment */ }", "UNet config", Source).Int("a", 0));
    }

    [Fact]
    public void Load_NamesAMissingFile()
    {
        string missing = Path.Combine(TestPaths.NewTempDir(), "absent.json");
        var e = Assert.Throws<ModelLoadException>(() => ConfigReader.Load(missing, "VAE config"));
        Assert.Equal(missing, e.Path);
        Assert.Contains(missing, e.Message);
    }

    [Fact]
    public void NullAbsentAndPresent_AreTold()
    {
        var r = ConfigReader.Parse("""{"none": null, "one": 1, "list": [1, 2], "mixed": [1, null], "big": 49407, "f": 0.13025}""", "Test config", Source);
        Assert.True(r.IsNull("none"));
        Assert.False(r.Has("none"));
        Assert.False(r.IsNull("absent"));
        Assert.False(r.Has("absent"));
        Assert.True(r.Has("one"));
        Assert.True(r.IsList("list"));
        Assert.Null(r.OptionalInt("none"));
        Assert.Equal([1, 2], r.IntList("list"));
        Assert.Contains("\"mixed\"", Assert.Throws<ModelLoadException>(() => r.IntList("mixed")).Message);
        Assert.Equal(49407L, r.Long("big", 0));
        Assert.Equal(0.13025f, r.Float("f", 0));
        Assert.Equal(0.13025, r.Double("f", 0));
    }

    [Fact]
    public void MidBlockTypeNull_MeansNoMidBlock()
    {
        // The one UNet field whose null is not the default (diffusers: no mid block).
        var doc = JsonNode.Parse(RealUnetConfigs.SdTurbo)!.AsObject();
        doc["mid_block_type"] = null;
        Assert.Null(UnetConfig.FromJson(doc.ToJsonString()).MidBlockType);
        doc.Remove("mid_block_type");
        Assert.Equal(UnetConfig.MidBlock2DCrossAttn, UnetConfig.FromJson(doc.ToJsonString()).MidBlockType);
    }
}
