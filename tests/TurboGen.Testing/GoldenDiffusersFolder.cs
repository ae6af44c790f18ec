using System.Text.Json;
using System.Text.Json.Nodes;
using TurboGen.Weights;
using TurboGen.Text;

namespace TurboGen.Testing;

/// <summary>
/// Assembles a diffusers SDXL repository folder from the golden pipeline case's component folders (as the Hub lays it
/// out): clip_text_tiny → text_encoder, clip_text_with_projection_tiny → text_encoder_2, unet_sdxl_tiny → unet,
/// vae_tiny → vae, the scheduler config of pipeline_sdxl_turbo_tiny/config.json, CLIP tokenizers (pad
/// &lt;|endoftext|&gt; and "!") and a model_index.json. With <c>fp16</c> every weight file is written as an F16 copy named
/// <c>….fp16.safetensors</c> (the variant the CLI downloads).
/// </summary>
public static class GoldenDiffusersFolder
{
    public static string PipelineCase => TestPaths.GoldenCase("pipeline_sdxl_turbo_tiny");

    /// <summary>The two prompts of the golden case, in batch order.</summary>
    public static IReadOnlyList<string> Prompts()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(PipelineCase, "config.json")));
        return doc.RootElement.GetProperty("prompts").EnumerateArray().Select(p => p.GetString()!).ToList();
    }

    public static string Write(string dir, bool fp16 = false)
    {
        Directory.CreateDirectory(dir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(PipelineCase, "config.json")))!.AsObject();

        File.WriteAllText(Path.Combine(dir, "model_index.json"), """
            {"_class_name": "StableDiffusionXLPipeline", "_diffusers_version": "0.26.3", "force_zeros_for_empty_prompt": true,
             "scheduler": ["diffusers", "EulerAncestralDiscreteScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
             "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"], "tokenizer": ["transformers", "CLIPTokenizer"],
             "tokenizer_2": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}
            """);
        Directory.CreateDirectory(Path.Combine(dir, "scheduler"));
        File.WriteAllText(Path.Combine(dir, "scheduler", "scheduler_config.json"), config["scheduler"]!.ToJsonString());
        ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, Path.Combine(dir, "tokenizer"), "<|endoftext|>");
        ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, Path.Combine(dir, "tokenizer_2"), "!");

        Component(dir, "text_encoder", "clip_text_tiny", "model", fp16);
        Component(dir, "text_encoder_2", "clip_text_with_projection_tiny", "model", fp16);
        Component(dir, "unet", "unet_sdxl_tiny", "diffusion_pytorch_model", fp16);
        Component(dir, "vae", "vae_tiny", "diffusion_pytorch_model", fp16);
        return dir;
    }

    /// <summary>The golden SD inpainting pipeline case (diffusers StableDiffusionInpaintPipeline on tiny components).</summary>
    public static string InpaintCase => TestPaths.GoldenCase("pipeline_sd_inpaint_tiny");

    /// <summary>
    /// An SD 1.x diffusers folder from the inpainting case's components (<see cref="WriteSd"/>): <paramref name="unetCase"/>
    /// (unet_sd15_inpaint_tiny, 9 channels, or unet_sd15_tiny) → unet, the case's scheduler config and a
    /// StableDiffusionInpaintPipeline model_index.json.
    /// </summary>
    public static string WriteSdInpaint(string dir, string unetCase)
    {
        var scheduler = JsonNode.Parse(File.ReadAllText(Path.Combine(InpaintCase, "config.json")))!["scheduler"]!.DeepClone().AsObject();
        scheduler["_class_name"] ??= "EulerAncestralDiscreteScheduler";
        return WriteSd(dir, unetCase, scheduler.ToJsonString(), "StableDiffusionInpaintPipeline");
    }

    /// <summary>
    /// Assembles an SD 1.x-layout diffusers folder around the golden UNet case <paramref name="unetCase"/> (its cross-attention
    /// width must be clip_text_tiny's 32: unet_lcm_tiny, unet_sdxs_tiny): clip_text_tiny → text_encoder, vae_tiny → vae, the
    /// CLIP tokenizer padded with &lt;|endoftext|&gt; (as SD 1.x), the scheduler config <paramref name="schedulerJson"/> and a
    /// model_index.json naming <paramref name="pipelineClass"/>.
    /// </summary>
    public static string WriteSd(string dir, string unetCase, string schedulerJson, string pipelineClass = "StableDiffusionPipeline")
    {
        Directory.CreateDirectory(dir);
        string scheduler = JsonNode.Parse(schedulerJson)!["_class_name"]!.GetValue<string>();
        var index = new JsonObject
        {
            ["_class_name"] = pipelineClass,
            ["_diffusers_version"] = "0.26.3",
            ["requires_safety_checker"] = false,
            ["scheduler"] = new JsonArray("diffusers", scheduler),
            ["text_encoder"] = new JsonArray("transformers", "CLIPTextModel"),
            ["tokenizer"] = new JsonArray("transformers", "CLIPTokenizer"),
            ["unet"] = new JsonArray("diffusers", "UNet2DConditionModel"),
            ["vae"] = new JsonArray("diffusers", "AutoencoderKL"),
        };
        File.WriteAllText(Path.Combine(dir, "model_index.json"), index.ToJsonString());
        Directory.CreateDirectory(Path.Combine(dir, "scheduler"));
        File.WriteAllText(Path.Combine(dir, "scheduler", "scheduler_config.json"), schedulerJson);
        ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, Path.Combine(dir, "tokenizer"), "<|endoftext|>");
        Component(dir, "text_encoder", "clip_text_tiny", "model", fp16: false);
        Component(dir, "unet", unetCase, "diffusion_pytorch_model", fp16: false);
        Component(dir, "vae", "vae_tiny", "diffusion_pytorch_model", fp16: false);
        return dir;
    }

    /// <summary>The LCMScheduler config of the golden scheduler_lcm case (what an LCM-distilled model ships).</summary>
    public static string LcmSchedulerJson()
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.GoldenCase("scheduler_lcm"), "case.json")))!["config"]!.DeepClone().AsObject();
        json["_class_name"] = "LCMScheduler";
        json["_diffusers_version"] = "0.26.3";
        return json.ToJsonString();
    }

    private static void Component(string dir, string name, string goldenCase, string stem, bool fp16)
    {
        string source = TestPaths.GoldenCase(goldenCase);
        string target = Path.Combine(dir, name);
        Directory.CreateDirectory(target);
        File.Copy(Path.Combine(source, "config.json"), Path.Combine(target, "config.json"));
        string weights = Path.Combine(source, stem + ".safetensors");
        if (fp16)
        {
            WriteF16Copy(weights, Path.Combine(target, stem + ".fp16.safetensors"));
        }
        else
        {
            File.Copy(weights, Path.Combine(target, stem + ".safetensors"));
        }
    }

    /// <summary>Writes every tensor of <paramref name="source"/> as F16 (round to nearest even), same names and shapes.</summary>
    public static void WriteF16Copy(string source, string destination)
    {
        using var file = SafetensorsFile.Open(source);
        var tensors = file.Tensors.Values.OrderBy(t => t.Begin).Select(info => new SafetensorsWriter.Tensor(info.Name, SafetensorsDType.F16, info.Shape, s =>
        {
            var values = file.ReadFloat32(info.Name);
            var halves = new Half[values.Length];
            for (int i = 0; i < values.Length; i++) halves[i] = (Half)values[i];
            s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(halves.AsSpan()));
        })).ToList();
        SafetensorsWriter.Write(destination, tensors);
    }
}
