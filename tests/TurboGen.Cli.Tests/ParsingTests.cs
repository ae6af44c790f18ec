namespace TurboGen.Cli.Tests;

/// <summary>The CLI's small pure helpers, in process.</summary>
public sealed class ParsingTests
{
    [Theory]
    [InlineData("512x512", 512, 512)]
    [InlineData("768X512", 768, 512)]
    [InlineData("640", 640, 640)]
    [InlineData(" 64x128 ", 64, 128)]
    public void ImageSize_Parses(string text, int width, int height) => Assert.Equal((width, height), ImageSize.Parse(text));

    [Theory]
    [InlineData("512x")]
    [InlineData("x512")]
    [InlineData("-64x64")]
    [InlineData("64x64x3")]
    [InlineData("big")]
    public void ImageSize_RejectsNamingTheOption(string text)
    {
        var e = Assert.Throws<InvalidRequestException>(() => ImageSize.Parse(text));
        Assert.Equal("--size", e.Parameter);
    }

    [Fact]
    public void ImageSize_EmptyMeansModelDefault() => Assert.Null(ImageSize.Parse(null));

    [Theory]
    [InlineData("auto", "cpu", TurboGen.Graphs.BuildPrecision.Float32)]
    [InlineData("auto", "cuda", TurboGen.Graphs.BuildPrecision.Float16)]
    [InlineData("auto", "tensorrt", TurboGen.Graphs.BuildPrecision.Float16)]
    [InlineData("auto", "directml", TurboGen.Graphs.BuildPrecision.Float16)]
    [InlineData("auto", "coreml", TurboGen.Graphs.BuildPrecision.Float16)]
    [InlineData("fp32", "cuda", TurboGen.Graphs.BuildPrecision.Float32)]
    [InlineData("fp16", "cpu", TurboGen.Graphs.BuildPrecision.Float16)]
    public void Precision_AutoIsFloat16ForGpuProviders_UnlessGiven(string precision, string provider, TurboGen.Graphs.BuildPrecision expected) =>
        Assert.Equal(expected, SharedOptions.ChoosePrecision(precision, provider));

    [Fact]
    public void Precision_FromTheCommandLine()
    {
        var shared = new SharedOptions();
        var command = new System.CommandLine.RootCommand();
        shared.AddTo(command);
        Assert.Equal(TurboGen.Graphs.BuildPrecision.Float16, shared.BuildPrecision(command.Parse("--provider cuda")));
        Assert.Equal(TurboGen.Graphs.BuildPrecision.Float32, shared.BuildPrecision(command.Parse("")));
        Assert.Equal(TurboGen.Graphs.BuildPrecision.Float32, shared.BuildPrecision(command.Parse("--provider directml --precision fp32")));
        Assert.NotEmpty(command.Parse("--precision int8").Errors);
    }

    [Theory]
    [InlineData("", false, "standard", false)]   // generate: one image per process, load dominates
    [InlineData("", true, "standard", true)]     // serve/bench: pay the load once, faster images
    [InlineData("--prepack auto", false, "fused", false)]
    [InlineData("--prepack auto", false, "int8", true)] // MatMulNBits is slow without pre-packed weights
    [InlineData("--prepack auto", false, "int8-all", true)]
    [InlineData("--prepack on", false, "standard", true)]
    [InlineData("--prepack off", true, "standard", false)]
    [InlineData("--prepack off", true, "int8", false)] // as asked, even where slower
    public void Prepack_AutoFollowsTheCommandAndTheKernels(string args, bool commandDefault, string kernels, bool expected)
    {
        var shared = new SharedOptions();
        var command = new System.CommandLine.RootCommand();
        shared.AddTo(command);
        var parse = command.Parse($"{args} --kernels {kernels}");
        Assert.Empty(parse.Errors);
        Assert.Equal(expected, shared.Runtime(parse, prepackByDefault: commandDefault).PrepackWeights);
    }

    [Fact]
    public void Prepack_RejectsUnknownValues()
    {
        var shared = new SharedOptions();
        var command = new System.CommandLine.RootCommand();
        shared.AddTo(command);
        Assert.Contains(command.Parse("--prepack yes").Errors, e => e.Message.Contains("--prepack", StringComparison.Ordinal) || e.Message.Contains("yes", StringComparison.Ordinal));
    }

    [Fact]
    public void Summary_MedianAndPercentilesInterpolateLikeNumpy()
    {
        var s = Summary.Of([5, 1, 4, 2, 3]);
        Assert.Equal((3.0, 3.0, 1.0, 5.0), (s.Median, s.Mean, s.Min, s.Max));
        Assert.Equal(1.4, s.P10, 10);
        Assert.Equal(4.6, s.P90, 10);
        Assert.Equal(2.5, Summary.Of([2, 3]).Median);
    }

    [Theory]
    [InlineData("stabilityai/sdxl-turbo", true)]
    [InlineData("stabilityai/sd-turbo@refs/pr/3", true)]
    [InlineData("./models/sdxl-turbo", false)]
    [InlineData("/no/such/folder", false)]
    [InlineData("sd_xl_turbo_1.0_fp16.safetensors", false)]
    [InlineData("org/model.safetensors", false)]
    [InlineData("sdxl-turbo", true)]            // a known model name (KnownModels)
    [InlineData("my-turbo", false)]
    public void ModelLocator_Classifies(string text, bool isHub) => Assert.Equal(isHub ? ModelReferenceKind.Hub : ModelReferenceKind.Local, ModelLocator.Classify(text));

    [Fact]
    public void OutputFiles_CountNumbersTheStem()
    {
        string dir = Path.GetTempPath();
        var paths = OutputFiles.Paths(Path.Combine(dir, "out.png"), null, [7, 8, 9], DateTime.Now);
        Assert.Equal(["out-0.png", "out-1.png", "out-2.png"], paths.Select(Path.GetFileName));
        Assert.Equal(Path.Combine(dir, "out.png"), Assert.Single(OutputFiles.Paths(Path.Combine(dir, "out.png"), null, [7], DateTime.Now)));
    }

    [Fact]
    public void OutputFiles_OutdirNamesBySeedWithoutOverwriting()
    {
        string dir = Testing.TestPaths.NewTempDir("turbogen-cli-unit");
        try
        {
            var now = new DateTime(2026, 1, 2, 3, 4, 5);
            File.WriteAllBytes(Path.Combine(dir, "20260102-030405-7.png"), [1]);
            var paths = OutputFiles.Paths(null, dir, [7, 8], now);
            Assert.Equal(["20260102-030405-7-1.png", "20260102-030405-8.png"], paths.Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("a.png", "b", "--output")]
    [InlineData("a.jpg", null, "--output")]
    public void OutputFiles_RejectsBadCombinations(string? output, string? outdir, string parameter) =>
        Assert.Equal(parameter, Assert.Throws<InvalidRequestException>(() => OutputFiles.Validate(output, outdir)).Parameter);

    [Theory]
    [InlineData("width", "--size")]
    [InlineData("height", "--size")]
    [InlineData("batch_size", "--count")]
    [InlineData("guidance_scale", "--guidance")]
    [InlineData("--size", "--size")]
    public void ErrorReporter_MapsEngineFieldsToOptions(string parameter, string option) => Assert.Equal(option, ErrorReporter.OptionFor(parameter));

    [Fact]
    public void ErrorReporter_ExitCodes()
    {
        Assert.Equal(2, ErrorReporter.Describe(new InvalidRequestException("steps", "x"), false).Code);
        Assert.Equal(3, ErrorReporter.Describe(new ModelContractException("p", "x"), false).Code);
        Assert.Equal(4, ErrorReporter.Describe(new Hub.HubException(Hub.HubErrorKind.NotFound, "a/b", "x"), false).Code);
        Assert.Equal(5, ErrorReporter.Describe(new NumericalException("unet", "x"), false).Code);
        Assert.Equal(130, ErrorReporter.Describe(new OperationCanceledException(), cancelled: true).Code);
        Assert.Equal(1, ErrorReporter.Describe(new OperationCanceledException(), cancelled: false).Code);
    }

    [Fact]
    public void Preset_GivesItsScheduler_UnlessGiven_AndALocalPathOfThatNameWins()
    {
        var shared = new SharedOptions();
        var command = new System.CommandLine.Command("x");
        shared.AddTo(command);
        Assert.Equal("euler", shared.Runtime(command.Parse(["-m", "sdxl-lightning-4step"]), false).Scheduler);
        Assert.Equal("lcm", shared.Runtime(command.Parse(["-m", "sdxl-lightning-4step", "--scheduler", "lcm"]), false).Scheduler);
        Assert.Null(shared.Runtime(command.Parse(["-m", "sd-turbo"]), false).Scheduler);   // the repository's scheduler_config.json decides
        Assert.Null(shared.Runtime(command.Parse(["-m", "stabilityai/sdxl-turbo"]), false).Scheduler);

        string dir = Directory.CreateTempSubdirectory("turbogen-preset-").FullName;
        string previous = Environment.CurrentDirectory;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "sdxs"));
            Environment.CurrentDirectory = dir;
            Assert.Null(ModelLocator.PresetFor("sdxs"));
            Assert.Equal("IDKiro/sdxs-512-0.9", ModelLocator.PresetFor("sdxs-512")!.RepoId);
        }
        finally
        {
            Environment.CurrentDirectory = previous;
            Directory.Delete(dir, recursive: true);
        }
    }
}
