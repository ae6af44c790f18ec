using System.Text.Json;
using TurboGen.Imaging;
using static TurboGen.Server.Tests.ApiTestHelpers;

namespace TurboGen.Server.Tests;

/// <summary>A1111 progress polling with previews, and interrupt returning the images finished so far.</summary>
public sealed class A1111ProgressTests
{
    [Fact]
    public async Task Progress_ReportsTheRunningJobWithAPreview_AndInterruptStopsIt()
    {
        await using var server = await TestServer.StartAsync();
        // Long enough to observe: 3 iterations × 50 steps at 512² on the tiny model.
        var request = PostJsonAsync(server.Http, "/sdapi/v1/txt2img",
            """{"prompt": "a slow painting", "steps": 50, "width": 512, "height": 512, "n_iter": 3, "seed": 7}""");

        JsonElement progress = default;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !request.IsCompleted)
        {
            (_, progress) = await GetJsonAsync(server.Http, "/sdapi/v1/progress");
            var state = progress.GetProperty("state");
            if (state.GetProperty("job_count").GetInt32() == 3 && state.GetProperty("sampling_step").GetInt32() >= 2
                && progress.GetProperty("current_image").ValueKind == JsonValueKind.String)
            {
                break;
            }
            await Task.Delay(5);
        }
        Assert.False(request.IsCompleted, "the generation finished before progress could be observed");
        var observed = progress.GetProperty("state");
        Assert.Equal("scripts_txt2img", observed.GetProperty("job").GetString());
        Assert.Equal(50, observed.GetProperty("sampling_steps").GetInt32());
        Assert.InRange(progress.GetProperty("progress").GetDouble(), 0.01, 1);
        Assert.True(progress.GetProperty("eta_relative").GetDouble() >= 0);
        byte[] preview = Convert.FromBase64String(progress.GetProperty("current_image").GetString()!);
        Assert.Equal((512, 512, "png"), ImageCodec.Probe(preview));

        var (interruptStatus, _, _) = await PostJsonAsync(server.Http, "/sdapi/v1/interrupt", "");
        Assert.Equal(200, interruptStatus);
        var (status, body, _) = await request;
        Assert.Equal(200, status);
        Assert.True(body.GetProperty("images").GetArrayLength() < 3);
        var (_, idle) = await GetJsonAsync(server.Http, "/sdapi/v1/progress");
        Assert.Equal(0, idle.GetProperty("state").GetProperty("job_count").GetInt32());
    }
}
