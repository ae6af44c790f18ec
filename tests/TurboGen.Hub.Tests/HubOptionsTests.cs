using TurboGen.Hub;
using TurboGen.Testing;

namespace TurboGen.Hub.Tests;

public sealed class HubOptionsTests
{
    [Fact]
    public void FromEnvironment_follows_huggingface_hub_variables()
    {
        string home = TestPaths.NewTempDir("hub-env");
        try
        {
            File.WriteAllText(Path.Combine(home, "token"), "hf_fromfile\n");
            var env = new Dictionary<string, string>
            {
                ["HF_HOME"] = home,
                ["HF_ENDPOINT"] = "http://mirror.example:8080/",
                ["HF_HUB_OFFLINE"] = "yes",
            };
            var options = HubOptions.FromEnvironment(name => env.GetValueOrDefault(name));
            Assert.Equal("http://mirror.example:8080", options.Endpoint);
            Assert.Equal(Path.Combine(home, "hub"), options.CacheDir);
            Assert.Equal("hf_fromfile", options.Token);
            Assert.True(options.Offline);
            Assert.Equal(4, options.MaxParallelDownloads);

            env["HF_TOKEN"] = "hf_env";
            env["HF_HUB_CACHE"] = "/elsewhere/hub";
            env["HF_HUB_OFFLINE"] = "0";
            options = HubOptions.FromEnvironment(name => env.GetValueOrDefault(name));
            Assert.Equal("hf_env", options.Token);
            Assert.Equal("/elsewhere/hub", options.CacheDir);
            Assert.False(options.Offline);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    [Fact]
    public void FromEnvironment_defaults_to_huggingface_co_and_the_xdg_cache()
    {
        var env = new Dictionary<string, string> { ["XDG_CACHE_HOME"] = "/tmp/xdg-test-none", ["HF_TOKEN_PATH"] = "/tmp/xdg-test-none/no-token" };
        var options = HubOptions.FromEnvironment(name => env.GetValueOrDefault(name));
        Assert.Equal("https://huggingface.co", options.Endpoint);
        Assert.Equal("/tmp/xdg-test-none/huggingface/hub", options.CacheDir);
        Assert.Null(options.Token);
        Assert.False(options.Offline);
    }
}
