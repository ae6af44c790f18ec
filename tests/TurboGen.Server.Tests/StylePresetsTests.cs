using TurboGen.Server.Policy;

namespace TurboGen.Server.Tests;

public sealed class StylePresetsTests
{
    [Fact]
    public void DefaultPresets_CoverTheRequiredStyles_AndFindByIdOrName()
    {
        var styles = StylePresets.Default;
        string[] required = ["photographic", "cinematic", "anime", "digital-art", "comic-book", "fantasy-art", "line-art", "3d-model", "pixel-art", "watercolor", "neon-punk", "isometric"];
        foreach (string id in required) Assert.True(styles.TryFind(id, out _), id);
        Assert.Same(styles.Find("neon-punk"), styles.Find("Neon Punk"));
        Assert.Same(styles.Find("3d-model"), styles.Find("3D model"));
        Assert.Equal("style", Assert.Throws<InvalidRequestException>(() => styles.Find("baroque")).Parameter);
    }

    [Fact]
    public void Apply_FillsThePlaceholder_AndAppendsTheStyleAfterTheUsersText_AsA1111Does()
    {
        // A1111 modules/styles.py merge_prompts: "{prompt}" is replaced; otherwise "<user text>, <style text>".
        var preset = new StylePreset("x", "X", "art of {prompt}, detailed", "blurry");
        Assert.Equal(("art of a cat, detailed", "dogs, blurry"), preset.Apply(" a cat ", "dogs"));
        Assert.Equal("blurry dogs", StylePreset.Merge("blurry {prompt}", "dogs"));
        Assert.Equal("a cat, oil paint", StylePreset.Merge("oil paint", " a cat "));
        Assert.Equal("oil paint", StylePreset.Merge("oil paint", ""));
        Assert.Equal(("art of a cat, detailed", "blurry"), preset.Apply("a cat", ""));
        Assert.Equal(("art of, detailed", "blurry"), preset.Apply("", ""));
        Assert.Equal(("as typed", "neg"), StylePresets.Default.Apply("none", "as typed", "neg"));
        Assert.Equal(("as typed", ""), StylePresets.Default.Apply(null, "as typed", ""));
    }
}
