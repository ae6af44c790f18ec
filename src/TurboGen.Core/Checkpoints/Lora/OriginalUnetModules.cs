using TurboGen.Graphs.Architectures.Unet;

namespace TurboGen.Checkpoints.Lora;

/// <summary>
/// Where a UNet module named in the original (LDM/sgm) layout lives among the diffusers names: the single-file layout of the
/// model's own UNet config (<see cref="SingleFileUnetNames"/>, the table that reads original single files) read backwards, so
/// <c>input_blocks_4_1_transformer_blocks_0_attn1_to_q</c> → <c>down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight</c>
/// and <c>output_blocks_2_0_in_layers_2</c> → <c>up_blocks.0.resnets.2.conv1.weight</c> for that config's block counts.
/// </summary>
internal static class OriginalUnetModules
{
    /// <summary>Underscored original module → diffusers weight key (with <paramref name="keyPrefix"/>), for every weight of the config.</summary>
    public static Dictionary<string, List<string>> Map(string unetConfigJson, string keyPrefix = "")
    {
        var config = UnetConfig.FromJson(unetConfigJson, "unet config");
        var map = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (mapping, _) in SingleFileUnetNames.Mappings(config, prefix: ""))
        {
            if (!mapping.SourceName.EndsWith(".weight", StringComparison.Ordinal)) continue;
            string module = mapping.SourceName[..^".weight".Length].Replace('.', '_');
            if (!map.TryGetValue(module, out var keys)) map[module] = keys = [];
            string key = keyPrefix + mapping.Name;
            if (!keys.Contains(key)) keys.Add(key);
        }
        return map;
    }
}
