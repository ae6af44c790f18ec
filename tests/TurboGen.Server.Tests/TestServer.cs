using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using TurboGen.Testing;

namespace TurboGen.Server.Tests;

/// <summary>A real TurboGen server (Kestrel on 127.0.0.1, a free port) over a tiny fixture model.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private TestServer(WebApplication app, Uri baseAddress, ServerOptions options)
    {
        App = app;
        BaseAddress = baseAddress;
        Options = options;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public WebApplication App { get; }
    public Uri BaseAddress { get; }
    public ServerOptions Options { get; }
    public HttpClient Http { get; }
    public ModelHost Host => App.Services.GetRequiredService<ModelHost>();

    /// <summary>Starts a server on the given tiny model and waits until /health says ready.</summary>
    public static async Task<TestServer> StartAsync(TinyFamily family = TinyFamily.SdxlTurbo, TinyFlavor flavor = TinyFlavor.OptimumNew, Func<ServerOptions, ServerOptions>? configure = null,
        TimeProvider? clock = null, Action<Microsoft.Extensions.Logging.ILoggingBuilder>? logging = null)
    {
        string model = TinyModels.Get(family, flavor);
        var options = new ServerOptions
        {
            ModelPath = model,
            ModelId = "tiny/" + family,
            Port = 0,
            TinyVaePath = Path.Combine(model, "taesd"),
            OutputDir = TestPaths.NewTempDir("turbogen-outputs"),
            Runtime = new Runtime.RuntimeOptions { Threads = 1 },
        };
        options = configure?.Invoke(options) ?? options;
        var app = TurboGenServer.Build(options, logging: logging, clock: clock);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var server = new TestServer(app, new Uri(address), options);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var response = await server.Http.GetAsync("/health");
            if (response.IsSuccessStatusCode) return server;
            if (server.Host.State == "failed") throw new InvalidOperationException("Model failed to load: " + server.Host.Error);
            await Task.Delay(50);
        }
        throw new TimeoutException("Server did not become ready.");
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
