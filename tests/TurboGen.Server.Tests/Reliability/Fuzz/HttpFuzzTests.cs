using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using CsCheck;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;
using static TurboGen.Server.Tests.Reliability.ErrorShapes;

namespace TurboGen.Server.Tests.Reliability.Fuzz;

/// <summary>A tiny-model server for fuzzing, with its warnings and errors collected.</summary>
public sealed class FuzzServerFixture : IAsyncLifetime
{
    public LogCollector Logs { get; } = new();
    public TestServer Server { get; private set; } = null!;
    public JsonElement OpenApi { get; private set; }

    public async Task InitializeAsync()
    {
        string model = SmallDefaultModel();
        Server = await TestServer.StartAsync(configure: o => o with
        {
            ModelPath = model, TinyVaePath = Path.Combine(model, "taesd"), RefineDelay = TimeSpan.FromHours(1), QueueCapacity = 64,
        }, logging: builder =>
        {
            builder.SetMinimumLevel(LogLevel.Warning); // thousands of requests: no per-request console lines
            Logs.Attach(builder);
        });
        OpenApi = JsonDocument.Parse(await Server.Http.GetStringAsync("/openapi/v1.json")).RootElement.Clone();
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();

    /// <summary>
    /// The tiny model with a native size of 64² instead of 512² (its UNet config's sample_size 8): a body that leaves the
    /// size out — a case the fuzz must try — then costs what the others cost, which keeps the fast form short.
    /// </summary>
    private static string SmallDefaultModel()
    {
        string source = TurboGen.Testing.TinyModels.Get(TurboGen.Testing.TinyFamily.SdxlTurbo, TurboGen.Testing.TinyFlavor.OptimumNew);
        string target = TurboGen.Testing.TestPaths.NewTempDir("turbogen-fuzz-model");
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string to = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        string config = Path.Combine(target, "unet", "config.json");
        var unet = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(config))!;
        unet["sample_size"] = 8;
        File.WriteAllText(config, unet.ToJsonString());
        return target;
    }

    /// <summary>Requests per HTTP API: 2,000 in the fast suite; TURBOGEN_FUZZ_ITERATIONS for the long form.</summary>
    public static int Iterations => LongForm ?? 2000;

    /// <summary>WebSocket messages (one socket, one at a time: the slowest per message): 1,000 in the fast suite; TURBOGEN_FUZZ_ITERATIONS for the long form.</summary>
    public static int WebSocketMessages => LongForm ?? 1000;

    private static int? LongForm => int.TryParse(Environment.GetEnvironmentVariable("TURBOGEN_FUZZ_ITERATIONS"), out int n) && n > 0 ? n : null;
}

/// <summary>
/// Property-based fuzzing of every generation API (CsCheck): bodies generated from each endpoint's request schema in the
/// server's own OpenAPI document, mixed with hostile values (control characters, lone surrogates, numbers beyond every
/// type, deep nesting, invalid UTF-8, truncation). The property: never a 5xx; every error in the documented shape;
/// every success valid JSON; nothing logged as an error. CsCheck prints the seed of a failure to replay it.
/// </summary>
public sealed class HttpFuzzTests(FuzzServerFixture fixture, ITestOutputHelper output) : IClassFixture<FuzzServerFixture>
{
    [Theory]
    [InlineData("/v1/images/generations")]
    [InlineData("/sdapi/v1/txt2img")]
    [InlineData("/sdapi/v1/img2img")]
    [InlineData("/api/generate")]
    public async Task JsonBodies_NeverGive5xx_AndEveryErrorHasTheDocumentedShape(string path)
    {
        var schema = fixture.OpenApi.GetProperty("paths").GetProperty(path).GetProperty("post").GetProperty("requestBody")
            .GetProperty("content").GetProperty("application/json").GetProperty("schema");
        var properties = JsonFuzz.Properties(fixture.OpenApi, schema);
        Assert.True(properties.Count >= 5, $"{path}: the OpenAPI schema lists {properties.Count} properties");
        var bodies = JsonFuzz.Bodies(JsonFuzz.Requests(properties));
        await FuzzAsync(path, bodies.Select(body => (body, "application/json")));
    }

    [Fact]
    public async Task MultipartEdits_NeverGive5xx_AndEveryErrorHasTheDocumentedShape()
    {
        const string path = "/v1/images/edits";
        var schema = fixture.OpenApi.GetProperty("paths").GetProperty(path).GetProperty("post").GetProperty("requestBody")
            .GetProperty("content").GetProperty("multipart/form-data").GetProperty("schema");
        var names = JsonFuzz.Properties(fixture.OpenApi, schema).Select(p => p.Name).Where(n => n != "image").ToList();
        Assert.Contains("prompt", names);
        var text = Gen.Frequency((3, Gen.OneOf("a cat", "64x64", "1", "0.5", "b64_json", "url", "png", "low")), (2, Gen.OneOf(JsonFuzz.HostileStrings)),
            (2, Gen.OneOf(JsonFuzz.HostileNumbers)));
        var field = Gen.Select(Gen.OneOf(names.Concat(["mask", "image[]", "size", "size", "n", "strength"]).ToArray()), text, (n, v) => (Name: n, Value: v));
        var image = Gen.OneOf(ApiTestHelpers.Png(8, 8), ApiTestHelpers.Png(64, 48), ApiTestHelpers.HugePngHeader(90_000, 90_000), [], "GIF89a"u8.ToArray(),
            ApiTestHelpers.Png(8, 8).AsSpan(0, 30).ToArray());
        var damage = Gen.Frequency((10, Gen.Const(0)), (1, Gen.Int[1, 5]));
        var forms = Gen.Select(field.Array[0, 6], image.Array[0, 2], damage, (fields, images, broken) => Multipart(fields, images, broken));
        await FuzzAsync(path, forms);
    }

    private static (byte[] Body, string ContentType) Multipart((string Name, string Value)[] fields, byte[][] images, int damage)
    {
        string boundary = "fuzz" + fields.Length + images.Length;
        var body = new MemoryStream();
        void Write(string s) => body.Write(Encoding.UTF8.GetBytes(s));
        bool withPrompt = fields.Length == 0 || fields[0].Name != "prompt";
        foreach (var (name, value) in withPrompt ? fields.Prepend(("prompt", "a cat")) : fields)
        {
            Write($"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n");
        }
        foreach (byte[] image in images)
        {
            Write($"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"i.png\"\r\nContent-Type: image/png\r\n\r\n");
            body.Write(image);
            Write("\r\n");
        }
        switch (damage)
        {
            case 1: break;                                                                // no closing boundary
            case 2: Write($"--{boundary}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--{boundary}--\r\n"); break; // a part without a name
            case 3: Write($"--{boundary}\r\n" + new string('X', 20_000) + ": y\r\n\r\n--{boundary}--\r\n"); break; // a huge part header
            case 4: Write("--not-the-boundary--\r\n"); break;
            default: Write($"--{boundary}--\r\n"); break;
        }
        return (body.ToArray(), damage == 5 ? "multipart/form-data" : $"multipart/form-data; boundary={boundary}");
    }

    private async Task FuzzAsync(string path, Gen<(byte[] Body, string ContentType)> requests)
    {
        var statuses = new ConcurrentDictionary<int, int>();
        int errorsBefore = fixture.Logs.Errors.Count;
        int iterations = FuzzServerFixture.Iterations;
        await requests.SampleAsync(async request =>
        {
            using var content = new ByteArrayContent(request.Body);
            content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
            using var response = await fixture.Server.Http.PostAsync(path, content);
            int status = (int)response.StatusCode;
            statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
            Assert.True(status < 500, $"{path} answered {status}: {Cut(await response.Content.ReadAsStringAsync())}");
            if (status >= 400)
            {
                await AssertDocumentedErrorAsync(response, path);
            }
            else
            {
                using var _ = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            }
        }, iter: iterations, threads: 4, print: request => $"{request.ContentType}: {Cut(Encoding.UTF8.GetString(request.Body))}");
        output.WriteLine($"{path}: {iterations} bodies → {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}"))}");
        var errors = fixture.Logs.Errors.Skip(errorsBefore).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(5)));
        Assert.True(statuses.Keys.Any(s => s == 200), $"{path}: no generated body was valid, the fuzz never reached the model");
    }
}
