using System.Text.Json;
using TurboGen.Testing;
using TurboGen.Text;

namespace TurboGen.Core.Tests.Text;

public sealed class ClipTokenizerFolderTests
{
    [Theory]
    [InlineData("<|endoftext|>", 49407)]
    [InlineData("!", 0)]
    public void FolderWrittenFromVocabGzGivesIdenticalIds(string padToken, int padId)
    {
        string dir = TestPaths.NewTempDir();
        try
        {
            ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, dir, padToken);
            ClipTokenizer fromFolder = ClipTokenizer.FromFolder(dir);
            ClipTokenizer fromGz = ClipTokenizer.FromBpeVocabGz(TestPaths.ClipBpeVocabGz, padId);

            Assert.Equal(padId, fromFolder.PadId);
            Assert.Equal(49406, fromFolder.BosId);
            Assert.Equal(49407, fromFolder.EosId);
            Assert.Equal(77, fromFolder.MaxLength);
            foreach (ClipGoldenCase c in ClipGoldenCase.All)
            {
                TokenizedPrompt expected = fromGz.Encode(c.Prompt);
                TokenizedPrompt actual = fromFolder.Encode(c.Prompt);
                Assert.Equal(expected.Ids, actual.Ids);
                Assert.Equal(padId == 0 ? c.IdsPadZero : c.IdsPadEos, actual.Ids);
                Assert.Equal(expected.TokenCount, actual.TokenCount);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void WrittenFolderHasTheHfLayout()
    {
        string dir = TestPaths.NewTempDir();
        try
        {
            ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, dir, "!");

            using JsonDocument vocab = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "vocab.json")));
            Assert.Equal(49408, vocab.RootElement.EnumerateObject().Count());
            Assert.Equal(0, vocab.RootElement.GetProperty("!").GetInt32());
            Assert.Equal(256, vocab.RootElement.GetProperty("!</w>").GetInt32());
            Assert.Equal(320, vocab.RootElement.GetProperty("a</w>").GetInt32());
            Assert.Equal(49406, vocab.RootElement.GetProperty("<|startoftext|>").GetInt32());
            Assert.Equal(49407, vocab.RootElement.GetProperty("<|endoftext|>").GetInt32());

            string[] merges = File.ReadAllLines(Path.Combine(dir, "merges.txt"));
            Assert.Equal("#version: 0.2", merges[0]);
            Assert.Equal("i n", merges[1]);
            Assert.Equal(1 + 48894, merges.Length);

            using JsonDocument special = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "special_tokens_map.json")));
            Assert.Equal("!", special.RootElement.GetProperty("pad_token").GetString());
            using JsonDocument config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "tokenizer_config.json")));
            Assert.Equal(77, config.RootElement.GetProperty("model_max_length").GetInt32());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void PadTokenMayBeAnObjectAndConfigIsOptional()
    {
        string dir = TestPaths.NewTempDir();
        try
        {
            ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, dir, "<|endoftext|>");
            File.Delete(Path.Combine(dir, "tokenizer_config.json"));
            File.WriteAllText(Path.Combine(dir, "special_tokens_map.json"),
                """{"bos_token": {"content": "<|startoftext|>"}, "eos_token": "<|endoftext|>", "pad_token": {"content": "!", "lstrip": false}}""");

            ClipTokenizer tokenizer = ClipTokenizer.FromFolder(dir);
            Assert.Equal(0, tokenizer.PadId);
            Assert.Equal(77, tokenizer.MaxLength);
            Assert.Equal(ClipGoldenCase.All[0].IdsPadZero, tokenizer.Encode(ClipGoldenCase.All[0].Prompt).Ids);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ModelMaxLengthComesFromTheConfig()
    {
        string dir = TestPaths.NewTempDir();
        try
        {
            ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, dir, "!");
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"model_max_length": 10}""");
            Assert.Equal(10, ClipTokenizer.FromFolder(dir).Encode("a cat").Ids.Length);

            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"model_max_length": "long"}""");
            var error = Assert.Throws<ModelLoadException>(() => ClipTokenizer.FromFolder(dir));
            Assert.Equal(Path.Combine(dir, "tokenizer_config.json"), error.Path);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("vocab.json")]
    [InlineData("merges.txt")]
    [InlineData("special_tokens_map.json")]
    public void MissingFileNamesThePathAndWhatWasExpected(string file)
    {
        string dir = TestPaths.NewTempDir();
        try
        {
            ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, dir, "!");
            File.Delete(Path.Combine(dir, file));

            var error = Assert.Throws<ModelLoadException>(() => ClipTokenizer.FromFolder(dir));
            Assert.Equal(Path.Combine(dir, file), error.Path);
            Assert.Contains(file, error.Message);
            Assert.Contains("expected", error.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void MissingFolderIsAModelLoadError()
    {
        string dir = Path.Combine(TestPaths.NewTempDir(), "absent");
        var error = Assert.Throws<ModelLoadException>(() => ClipTokenizer.FromFolder(dir));
        Assert.Equal(dir, error.Path);
    }

    [Fact]
    public void MalformedFilesAreModelLoadErrors()
    {
        string dir = TestPaths.NewTempDir();
        try
        {
            ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, dir, "!");
            string special = Path.Combine(dir, "special_tokens_map.json");
            File.WriteAllText(special, """{"pad_token": "<|no such token|>"}""");
            var unknownPad = Assert.Throws<ModelLoadException>(() => ClipTokenizer.FromFolder(dir));
            Assert.Contains("pad_token", unknownPad.Message);

            File.WriteAllText(special, "{ not json");
            Assert.Equal(special, Assert.Throws<ModelLoadException>(() => ClipTokenizer.FromFolder(dir)).Path);

            File.WriteAllText(special, """{"pad_token": "!"}""");
            File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\nzz\u00ff qq\u00ff\n");
            Assert.Equal(dir, Assert.Throws<ModelLoadException>(() => ClipTokenizer.FromFolder(dir)).Path);

            File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\nnot-a-pair\n");
            Assert.Equal(Path.Combine(dir, "merges.txt"), Assert.Throws<ModelLoadException>(() => ClipTokenizer.FromFolder(dir)).Path);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void MissingOrBrokenVocabGzIsAModelLoadError()
    {
        string dir = TestPaths.NewTempDir();
        try
        {
            string missing = Path.Combine(dir, "missing.txt.gz");
            Assert.Equal(missing, Assert.Throws<ModelLoadException>(() => ClipTokenizer.FromBpeVocabGz(missing, 0)).Path);

            string notGzip = Path.Combine(dir, "plain.txt.gz");
            File.WriteAllText(notGzip, "#version: 0.2\ni n\n");
            Assert.Equal(notGzip, Assert.Throws<ModelLoadException>(() => ClipTokenizer.FromBpeVocabGz(notGzip, 0)).Path);

            Assert.Throws<ModelLoadException>(() => ClipVocabularyFiles.WriteHfFolder(missing, Path.Combine(dir, "out"), "!"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void PadTokenOutsideTheVocabularyIsRejected()
    {
        string dir = TestPaths.NewTempDir();
        try
        {
            var error = Assert.Throws<InvalidRequestException>(() => ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, dir, "<pad>"));
            Assert.Equal("padToken", error.Parameter);
            Assert.Throws<InvalidRequestException>(() => ClipTokenizer.FromBpeVocabGz(TestPaths.ClipBpeVocabGz, padId: 49408));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
