using TurboGen.Imaging;

namespace TurboGen.Core.Tests.Imaging;

public class InfotextTests
{
    private static readonly Dictionary<string, string> NoExtra = [];

    [Fact]
    public void Format_WritesA1111Layout()
    {
        var fields = new InfotextFields("a cat", "blurry", 1, "Euler a", 0f, 42, 512, 512, "sdxl-turbo", 0.5f, NoExtra);

        Assert.Equal(
            "a cat\nNegative prompt: blurry\nSteps: 1, Sampler: Euler a, CFG scale: 0, Seed: 42, Size: 512x512, Model: sdxl-turbo, Denoising strength: 0.5",
            Infotext.Format(fields));
    }

    [Fact]
    public void Format_OmitsEmptyNegativeAndMissingStrength_AndQuotesExtras()
    {
        var extra = new Dictionary<string, string> { ["Schedule type"] = "Karras", ["Lora hashes"] = "a: 1f, b: 2e", ["Note"] = "say \"hi\"\nbye" };
        var fields = new InfotextFields("a dog", "", 4, "Euler a", 1.5f, 4294967295, 768, 512, "sd-turbo", null, extra);

        Assert.Equal(
            "a dog\nSteps: 4, Sampler: Euler a, CFG scale: 1.5, Seed: 4294967295, Size: 768x512, Model: sd-turbo, "
            + "Schedule type: Karras, Lora hashes: \"a: 1f, b: 2e\", Note: \"say \\\"hi\\\"\\nbye\"",
            Infotext.Format(fields));
    }

    [Fact]
    public void FormatThenParse_RoundTrips()
    {
        var extra = new Dictionary<string, string> { ["Schedule type"] = "Karras", ["Lora hashes"] = "a: 1f, b: 2e", ["Version"] = "turbogen 0.1" };
        var fields = new InfotextFields("portrait of a cat, 猫, oil\nsecond line", "ugly, (bad hands:1.2)", 2, "Euler a", 0f, 123456789012, 1024, 576, "sdxl-turbo, fp16", 0.35f, extra);

        InfotextFields back = Infotext.Parse(Infotext.Format(fields));

        Assert.Equal(fields.Prompt, back.Prompt);
        Assert.Equal(fields.NegativePrompt, back.NegativePrompt);
        Assert.Equal((2, "Euler a", 0f, 123456789012L, 1024, 576, "sdxl-turbo, fp16", (float?)0.35f),
            (back.Steps, back.Sampler, back.CfgScale, back.Seed, back.Width, back.Height, back.Model, back.DenoisingStrength));
        Assert.Equal(extra.ToList(), back.Extra.ToList());
    }

    [Fact]
    public void Parse_ReadsA1111Text()
    {
        const string text = """
            girl with an artist's beret, determined, blue eyes, ((eyeshadow))
            Negative prompt: ugly, fat, [blurry], bad anatomy
            Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 965400086, Size: 512x768, Model hash: 45dee52b, Model: v1-5-pruned-emaonly, Version: v1.10.1
            """;

        InfotextFields fields = Infotext.Parse(text);

        Assert.Equal("girl with an artist's beret, determined, blue eyes, ((eyeshadow))", fields.Prompt);
        Assert.Equal("ugly, fat, [blurry], bad anatomy", fields.NegativePrompt);
        Assert.Equal((20, "DPM++ 2M", 7f, 965400086L, 512, 768, "v1-5-pruned-emaonly", (float?)null),
            (fields.Steps, fields.Sampler, fields.CfgScale, fields.Seed, fields.Width, fields.Height, fields.Model, fields.DenoisingStrength));
        Assert.Equal(["Schedule type", "Model hash", "Version"], fields.Extra.Keys);
        Assert.Equal("45dee52b", fields.Extra["Model hash"]);
    }

    [Fact]
    public void Parse_PromptOnlyText_IsRejected()
    {
        var error = Assert.Throws<InvalidRequestException>(() => Infotext.Parse("just a prompt, with commas"));
        Assert.Equal("parameters", error.Parameter);
    }

    [Fact]
    public void Parse_MissingRequiredField_NamesIt()
    {
        var error = Assert.Throws<InvalidRequestException>(() => Infotext.Parse("p\nSteps: 1, Sampler: Euler a, CFG scale: 0, Size: 512x512"));
        Assert.Contains("Seed", error.Message);
        Assert.Throws<InvalidRequestException>(() => Infotext.Parse("p\nSteps: x, Sampler: Euler a, CFG scale: 0, Seed: 1, Size: 512x512"));
    }

    [Fact]
    public void Format_RejectsBadExtraKeys()
    {
        var bad = new InfotextFields("p", "", 1, "Euler a", 0, 1, 8, 8, "m", null, new Dictionary<string, string> { ["Seed"] = "2" });
        Assert.Throws<ArgumentException>(() => Infotext.Format(bad));
        var colon = bad with { Extra = new Dictionary<string, string> { ["a:b"] = "2" } };
        Assert.Throws<ArgumentException>(() => Infotext.Format(colon));
    }
}
