using TurboGen.Hub;

namespace TurboGen.Hub.Tests;

public sealed class HubModelIdTests
{
    [Theory]
    [InlineData("stabilityai/sdxl-turbo", "stabilityai/sdxl-turbo", "main")]
    [InlineData(" stabilityai/sd-turbo@fp16 ", "stabilityai/sd-turbo", "fp16")]
    [InlineData("tlwu/sd-turbo-onnxruntime@refs/pr/3", "tlwu/sd-turbo-onnxruntime", "refs/pr/3")]
    [InlineData("org/name.v1@0123456789abcdef0123456789abcdef01234567", "org/name.v1", "0123456789abcdef0123456789abcdef01234567")]
    public void Parse_splits_repo_and_revision(string text, string repoId, string revision)
    {
        Assert.Equal((repoId, revision), HubModelId.Parse(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("sdxl-turbo")]
    [InlineData("a/b/c")]
    [InlineData("org/na me")]
    [InlineData("org--x/name")]
    [InlineData("org/../name")]
    [InlineData("org/name@")]
    [InlineData("org/name@main branch")]
    [InlineData("org/name@../x")]
    [InlineData("/local/folder")]
    public void Parse_rejects_invalid_ids(string text)
    {
        var e = Assert.Throws<InvalidRequestException>(() => HubModelId.Parse(text));
        Assert.Contains("'", e.Message);
    }

    [Fact]
    public void IsCommitHash_requires_40_lowercase_hex()
    {
        Assert.True(HubModelId.IsCommitHash("0123456789abcdef0123456789abcdef01234567"));
        Assert.False(HubModelId.IsCommitHash("0123456789ABCDEF0123456789abcdef01234567"));
        Assert.False(HubModelId.IsCommitHash("main"));
    }
}
