namespace TurboGen.Imaging;

/// <summary>
/// The fields of an A1111-style "parameters" text. <see cref="Extra"/> holds any further "Key: value" pairs in
/// order (e.g. "Schedule type", "Version"), values unquoted.
/// </summary>
public sealed record InfotextFields(
    string Prompt,
    string NegativePrompt,
    int Steps,
    string Sampler,
    float CfgScale,
    long Seed,
    int Width,
    int Height,
    string Model,
    float? DenoisingStrength,
    IReadOnlyDictionary<string, string> Extra);
